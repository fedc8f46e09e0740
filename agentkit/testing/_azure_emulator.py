"""A loopback Azure OpenAI server: Azure's URLs, auth and filter fields over the OpenAI emulators.

``AzureOpenAIEmulator`` is a small ASGI wrapper. It checks what Azure checks
(the ``api-key`` header or an Entra ID bearer token, ``api-version`` on the
dated paths, the deployment name), hands the call to ``OpenAIChatEmulator``
or ``OpenAIResponsesEmulator``, and adds what Azure adds to their answers,
shaped after ``tests/fixtures/real_traffic/azure_openai``: ``prompt_filter_results``
and per-choice ``content_filter_results`` (a stream opens with a chunk of
``choices: []``, ``id: ""`` and only the prompt's results; role and finish
chunks carry ``{}``), and the Responses ``content_filters`` array. An
unknown deployment is the recorded 404 ``DeploymentNotFound`` with no
Content-Type.

Paths served: ``/openai/v1/chat/completions``, ``/openai/v1/responses``,
``/openai/deployments/{deployment}/chat/completions?api-version=...`` and
``/openai/responses?api-version=...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qs

from ._asgi import Receive, Scope, Send, read_body, send_json
from ._function import ModelFunction
from ._openai_emulator import OpenAIChatEmulator
from ._responses_emulator import OpenAIResponsesEmulator

__all__ = ["SAFE_FILTER_RESULTS", "AzureOpenAIEmulator"]

#: An all-clear verdict, as Azure reports it for ordinary text.
SAFE_FILTER_RESULTS: dict[str, Any] = {
    name: {"filtered": False, "severity": "safe"}
    for name in ("hate", "self_harm", "sexual", "violence")
}

_DEPLOYMENT_CHAT = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")
_V1 = {"/openai/v1/chat/completions": "chat", "/openai/v1/responses": "responses"}


def _azure_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class AzureOpenAIEmulator:
    """An ASGI app speaking Azure OpenAI's chat and Responses APIs for a scripted model.

    Args:
        function: The scripted model (as ``OpenAIChatEmulator`` takes it).
        api_key: When set, requests must carry this ``api-key`` (or ``token``).
        token: When set, ``Authorization: Bearer <token>`` is accepted too.
        deployments: The deployments that exist; None accepts any name.
        prompt_filter_results: The prompt's verdict added to every answer.
        filter_results: The answer's verdict added to every choice with content.
        chunk_size: Characters per streamed fragment.
        chat: An ``OpenAIChatEmulator`` of your own behind the chat paths (the
            conformance kit's, which it scripts and watches), instead of one
            made here from ``function``.
        responses: Likewise, an ``OpenAIResponsesEmulator`` behind the Responses paths.

    Attributes:
        requests: Every request body the wrapped emulators received.
        calls: Every ``(path, api-version, deployment)`` received.
    """

    def __init__(
        self,
        function: ModelFunction,
        *,
        api_key: str | None = None,
        token: str | None = None,
        deployments: Collection[str] | None = None,
        prompt_filter_results: Mapping[str, Any] | None = None,
        filter_results: Mapping[str, Any] | None = None,
        chunk_size: int = 8,
        chat: OpenAIChatEmulator | None = None,
        responses: OpenAIResponsesEmulator | None = None,
    ) -> None:
        if chat is None:
            chat = OpenAIChatEmulator(function, chunk_size=chunk_size)
        if responses is None:
            responses = OpenAIResponsesEmulator(function, chunk_size=chunk_size)
        self.chat, self.responses = chat, responses
        self.api_key = api_key
        self.token = token
        self.deployments = None if deployments is None else frozenset(deployments)
        self.prompt_results = dict(prompt_filter_results or SAFE_FILTER_RESULTS)
        self.answer_results = dict(filter_results or SAFE_FILTER_RESULTS)
        self.calls: list[tuple[str, str | None, str | None]] = []

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request body received, chat and Responses alike, in order of API."""
        return [*self.chat.requests, *self.responses.requests]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            return
        path = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode())
        version = (query.get("api-version") or [None])[0]
        api, deployment = _V1.get(path), None
        if api is None and (match := _DEPLOYMENT_CHAT.match(path)):
            api, deployment = "chat", match.group(1)
        elif api is None and path == "/openai/responses":
            api = "responses"
        self.calls.append((path, version, deployment))
        if scope["method"] != "POST" or api is None:
            await send_json(send, 404, _azure_error(404, "404", "Resource not found"))
            return
        if not self._signed_in(scope):
            message = (
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                "to provide a valid key for an active subscription and use a correct regional "
                "API endpoint for your resource."
            )
            await send_json(send, 401, _azure_error(401, "401", message))
            return
        if not path.startswith("/openai/v1/") and not version:
            await send_json(send, 404, _azure_error(404, "404", "Resource not found"))
            return
        body = await read_body(receive)
        if deployment is None:
            deployment = str(json.loads(body or b"{}").get("model") or "")
        if self.deployments is not None and deployment not in self.deployments:
            await self._deployment_not_found(send)
            return
        inner = self.chat if api == "chat" else self.responses
        await inner(scope, _replay(body, receive), self._annotating(send, api))

    def _signed_in(self, scope: Scope) -> bool:
        if self.api_key is None and self.token is None:
            return True
        headers = dict(scope["headers"])
        if self.api_key is not None and headers.get(b"api-key") == self.api_key.encode():
            return True
        bearer = f"Bearer {self.token}".encode()
        return self.token is not None and headers.get(b"authorization") == bearer

    @staticmethod
    async def _deployment_not_found(send: Send) -> None:
        # As recorded (error_404_deployment_not_found): no Content-Type header.
        error = {
            "error": {
                "type": "invalid_request_error",
                "code": "DeploymentNotFound",
                "message": "The API deployment for this resource does not exist.",
            }
        }
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(error).encode()})

    def _annotating(self, send: Send, api: str) -> Send:
        status = 200
        opened: list[bool] = []  # one stream's state: has the opening chunk gone out?

        async def annotated(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200 and message["body"]:
                message = {**message, "body": self._annotate(message["body"], api, opened)}
            await send(message)

        return annotated

    def _annotate(self, raw: bytes, api: str, opened: list[bool]) -> bytes:
        text = raw.decode()
        if not text.lstrip().startswith(("data:", "event:")):
            return json.dumps(self._whole(json.loads(text), api)).encode()
        frames = []
        for frame in text.split("\n\n"):
            lines = frame.split("\n")
            for i, line in enumerate(lines):
                if line.startswith("data: {"):
                    lines[i] = "data: " + self._frame(json.loads(line[6:]), api, opened)
            frames.append("\n".join(lines))
        return "\n\n".join(frames).encode()

    def _prompt(self) -> list[dict[str, Any]]:
        return [{"prompt_index": 0, "content_filter_results": self.prompt_results}]

    def _filters(self) -> list[dict[str, Any]]:
        return [
            {
                "blocked": False,
                "source_type": "prompt",
                "content_filter_results": self.prompt_results,
            },
            {
                "blocked": False,
                "source_type": "completion",
                "content_filter_results": self.answer_results,
            },
        ]

    def _whole(self, body: dict[str, Any], api: str) -> dict[str, Any]:
        if api == "responses":
            return body | {"content_filters": self._filters()}
        choices = [c | {"content_filter_results": self.answer_results} for c in body["choices"]]
        return body | {"choices": choices, "prompt_filter_results": self._prompt()}

    def _frame(self, data: dict[str, Any], api: str, opened: list[bool]) -> str:
        if api == "responses":
            response = data.get("response")
            if isinstance(response, dict):
                done = data.get("type") in ("response.completed", "response.incomplete")
                data = data | {
                    "response": response | {"content_filters": self._filters() if done else None}
                }
            return json.dumps(data)
        choices = []
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            has_content = bool(delta.get("content") or delta.get("tool_calls"))
            choices.append(
                choice | {"content_filter_results": self.answer_results if has_content else {}}
            )
        annotated = json.dumps(data | {"choices": choices}) if choices else json.dumps(data)
        if not opened and data.get("choices"):
            opened.append(True)
            # Azure's opening chunk: only the prompt's verdict, with blank ids.
            opening = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
            opening["prompt_filter_results"] = self._prompt()
            return json.dumps(opening) + "\n\ndata: " + annotated
        return annotated


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body over once, then defers to the real one."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replayed
