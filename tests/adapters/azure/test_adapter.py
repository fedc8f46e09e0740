"""The Azure adapters' own behaviour: URLs, options over variables, Entra ID, filter verdicts.

Recorded exchanges are in ``test_real_traffic.py``; here are the shapes the
recordings do not show (a blocked prompt, an annotated answer, a token that
changes between calls), built after Azure's documented error and filter
objects, against an ``httpx2.MockTransport``.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from agentkit_adapters.azure import (
    ENTRA_SCOPE,
    AzureOpenAIChatAdapter,
    azure_endpoint,
    create_azure_adapter,
    create_azure_responses_adapter,
)

import agentkit
from agentkit import Message, ModelRequest, ResponseEndEvent
from agentkit.exceptions import AuthenticationError, ContentFilterError, UserError

pytestmark = pytest.mark.anyio

REQUEST = ModelRequest(messages=[Message.user("hi")])
ENDPOINT = "https://res.openai.azure.com"
SAFE = {"filtered": False, "severity": "safe"}


def _client(answer: Callable[[httpx2.Request], httpx2.Response]) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(answer))


def _completion(**choice: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": "ok"}
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4.1-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message, **choice}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


# -- where the call goes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "api", "version", "url"),
    [
        (ENDPOINT, "chat", None, f"{ENDPOINT}/openai/v1/chat/completions"),
        (ENDPOINT + "/", "responses", "v1", f"{ENDPOINT}/openai/v1/responses"),
        ("res", "chat", None, f"{ENDPOINT}/openai/v1/chat/completions"),
        (
            ENDPOINT + "/openai",
            "chat",
            "2024-10-21",
            f"{ENDPOINT}/openai/deployments/my%20dep/chat/completions?api-version=2024-10-21",
        ),
        (
            ENDPOINT,
            "responses",
            "2025-03-01-preview",
            f"{ENDPOINT}/openai/responses?api-version=2025-03-01-preview",
        ),
        (f"{ENDPOINT}/openai/v1", "chat", None, f"{ENDPOINT}/openai/v1/chat/completions"),
        (
            "http://127.0.0.1:9/v1",
            "responses",
            "preview",
            "http://127.0.0.1:9/v1/responses?api-version=preview",
        ),
    ],
)
def test_urls_for_the_v1_and_dated_apis(endpoint: str, api: Any, version: str, url: str) -> None:
    assert azure_endpoint(endpoint, "my dep", api, version).url == url


def test_options_win_over_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    from_env = agentkit.resolve_model("azure:prod-deploy")
    assert isinstance(from_env, AzureOpenAIChatAdapter)
    assert from_env.target.url == (
        "https://env.openai.azure.com/openai/deployments/prod-deploy/chat/completions"
        "?api-version=2024-10-21"
    )
    assert from_env._http.headers["api-key"] == "env-key"
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2025-04-01-preview")  # wins over OPENAI_
    chosen = create_azure_adapter(
        "gpt-4.1-mini",
        endpoint="https://opt.openai.azure.com",
        api_key="opt-key",
        api_version="v1",
        deployment="prod-deploy",
    )
    assert chosen.target.url == "https://opt.openai.azure.com/openai/v1/chat/completions"
    assert (chosen.model_id, chosen.deployment) == ("gpt-4.1-mini", "prod-deploy")
    assert chosen._http.headers["api-key"] == "opt-key"
    dated = create_azure_adapter("d", api_key="k")
    assert dated.target.api_version == "2025-04-01-preview"


def test_missing_endpoint_or_deployment_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(UserError, match="AZURE_OPENAI_ENDPOINT is not set"):
        create_azure_adapter("d", api_key="k")
    with pytest.raises(UserError, match="no Azure OpenAI deployment named"):
        create_azure_responses_adapter("", endpoint=ENDPOINT, api_key="k")


async def test_the_deployment_is_the_body_model_and_the_key_goes_in_api_key() -> None:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=_completion())

    adapter = create_azure_adapter(
        "gpt-4.1-mini",
        deployment="prod",
        endpoint=ENDPOINT,
        api_key="k-planted",
        http_client=_client(answer),
    )
    await adapter.generate(REQUEST)
    (request,) = seen
    assert json.loads(request.content)["model"] == "prod"
    assert request.headers["api-key"] == "k-planted"
    assert "authorization" not in request.headers


async def test_an_auth_error_names_the_key_variable() -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        body = {"error": {"code": "401", "message": "Access denied due to invalid key."}}
        return httpx2.Response(401, json=body)

    adapter = create_azure_adapter("d", endpoint=ENDPOINT, api_key="k", http_client=_client(answer))
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_API_KEY"):
        await adapter.generate(REQUEST)


# -- Microsoft Entra ID ----------------------------------------------------------------------


class _Token:
    def __init__(self, token: str) -> None:
        self.token = token
        self.expires_on = 0


class _AsyncCredential:
    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str) -> _Token:
        self.scopes.extend(scopes)
        return _Token(f"tok-{len(self.scopes)}")


class _SyncCredential:
    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str) -> _Token:
        self.scopes.extend(scopes)
        return _Token(f"sync-{len(self.scopes)}")


def _bearer_recorder() -> tuple[list[str], httpx2.AsyncClient]:
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        assert "api-key" not in request.headers
        seen.append(request.headers["authorization"])
        return httpx2.Response(200, json=_completion())

    return seen, _client(answer)


@pytest.mark.parametrize("kind", [_AsyncCredential, _SyncCredential])
async def test_an_entra_credential_is_asked_for_a_token_on_every_call(kind: type) -> None:
    credential = kind()
    seen, client = _bearer_recorder()
    adapter = create_azure_adapter(
        "d", endpoint=ENDPOINT, credential=credential, http_client=client
    )
    await adapter.generate(REQUEST)
    await adapter.generate(REQUEST)
    prefix = "tok" if kind is _AsyncCredential else "sync"
    assert seen == [f"Bearer {prefix}-1", f"Bearer {prefix}-2"]
    assert credential.scopes == [ENTRA_SCOPE, ENTRA_SCOPE]


async def test_a_token_provider_signs_streams_too() -> None:
    tokens = iter(["first", "second"])
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["authorization"])
        chunk = {
            "id": "c",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}],
        }
        body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=body)

    chat = create_azure_adapter(
        "d", endpoint=ENDPOINT, token_provider=lambda: next(tokens), http_client=_client(answer)
    )
    for _ in range(2):
        events = [e async for e in chat.stream(REQUEST)]
        assert isinstance(events[-1], ResponseEndEvent)
    assert seen == ["Bearer first", "Bearer second"]


async def test_without_a_key_default_azure_credential_signs_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    made: list[Any] = []

    class DefaultAzureCredential(_SyncCredential):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    identity = types.ModuleType("azure.identity")
    identity.DefaultAzureCredential = DefaultAzureCredential  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure.identity", identity)
    seen, client = _bearer_recorder()
    adapter = create_azure_adapter("d", endpoint=ENDPOINT, http_client=client)
    assert adapter.key_variable is None  # no key to blame in an auth error
    await adapter.generate(REQUEST)
    (credential,) = made
    assert credential.scopes == [ENTRA_SCOPE]
    assert seen == ["Bearer sync-1"]


def test_without_a_key_or_azure_identity_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import fails
    with pytest.raises(UserError, match=r"AZURE_OPENAI_API_KEY.*\[azure\].*DefaultAzureCredential"):
        create_azure_adapter("d", endpoint=ENDPOINT)


# -- the content filter ----------------------------------------------------------------------


def _blocked_prompt(request: httpx2.Request) -> httpx2.Response:
    # The shape Azure documents for a prompt its filter blocks.
    results = {
        "hate": SAFE,
        "jailbreak": {"filtered": True, "detected": True},
        "violence": {"filtered": True, "severity": "medium"},
    }
    error = {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": results},
    }
    return httpx2.Response(400, json={"error": error})


@pytest.mark.parametrize("stream", [False, True])
async def test_a_blocked_prompt_names_its_categories(stream: bool) -> None:
    adapter = create_azure_adapter(
        "d", endpoint=ENDPOINT, api_key="k", http_client=_client(_blocked_prompt)
    )

    async def call() -> None:
        if stream:
            [e async for e in adapter.stream(REQUEST)]
        else:
            await adapter.generate(REQUEST)

    with pytest.raises(ContentFilterError) as caught:
        await call()
    message = str(caught.value)
    assert "blocked the prompt" in message
    assert "jailbreak (detected)" in message
    assert "violence (severity medium)" in message
    assert "hate" not in message
    assert caught.value.status_code == 400


async def test_annotations_of_an_unblocked_answer_become_one_warning() -> None:
    body = _completion(
        content_filter_results={"hate": SAFE, "violence": {"filtered": False, "severity": "low"}}
    )
    body["prompt_filter_results"] = [
        {
            "prompt_index": 0,
            "content_filter_results": {"jailbreak": {"filtered": False, "detected": True}},
        }
    ]
    adapter = create_azure_adapter(
        "d",
        endpoint=ENDPOINT,
        api_key="k",
        http_client=_client(lambda r: httpx2.Response(200, json=body)),
    )
    response = await adapter.generate(REQUEST)
    assert response.message.text == "ok"
    (warning,) = response.warnings
    assert (warning.kind, warning.feature, warning.provider) == ("other", "content_filter", "azure")
    assert "prompt: jailbreak (detected)" in warning.message
    assert "answer: violence (severity low)" in warning.message


def _sse(*chunks: dict[str, Any]) -> str:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def _streaming(body: str) -> Any:
    """A chat adapter whose every call answers ``body`` as an event stream."""
    return create_azure_adapter(
        "d",
        endpoint=ENDPOINT,
        api_key="k",
        http_client=_client(
            lambda r: httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=body)
        ),
    )


def _chunk(delta: dict[str, Any] | None, finish: str | None, results: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "finish_reason": finish,
        "content_filter_results": results,
    }
    if delta is not None:
        choice["delta"] = delta
    return {"id": "chatcmpl-2", "model": "gpt-4o", "choices": [choice]}


async def test_a_stream_cut_by_the_filter_raises_after_its_text() -> None:
    body = _sse(
        {"id": "", "model": "", "choices": [], "prompt_filter_results": []},
        _chunk({"role": "assistant", "content": "Once"}, None, {}),
        _chunk(None, "content_filter", {"sexual": {"filtered": True, "severity": "high"}}),
    )
    adapter = _streaming(body)
    seen: list[Any] = []

    async def read() -> None:
        async for event in adapter.stream(REQUEST):
            seen.append(event)

    with pytest.raises(ContentFilterError, match=r"blocked the answer: sexual \(severity high\)"):
        await read()
    assert [getattr(e, "text", None) for e in seen if e.type == "text_delta"] == ["Once"]


async def test_a_stream_keeps_annotations_and_tolerates_chunks_without_delta() -> None:
    body = _sse(
        {"id": "", "model": "", "choices": [], "prompt_filter_results": [{"prompt_index": 0}]},
        _chunk({"role": "assistant", "content": "Hi"}, None, {"hate": SAFE}),
        _chunk(None, None, {"self_harm": {"filtered": False, "severity": "low"}}),
        _chunk({}, "stop", {}),
    )
    adapter = _streaming(body)
    events = [e async for e in adapter.stream(REQUEST)]
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    assert end.response.message.text == "Hi"
    assert end.response.response_id == "chatcmpl-2"
    assert [w.message for w in end.response.warnings] == [
        "Azure's content filter annotated but did not block the answer: self_harm (severity low)"
    ]


async def test_a_responses_answer_blocked_in_content_filters_raises() -> None:
    body = {
        "id": "resp_1",
        "status": "completed",
        "model": "gpt-5-mini",
        "output": [],
        "content_filters": [
            {"blocked": False, "source_type": "prompt", "content_filter_results": {"hate": SAFE}},
            {
                "blocked": True,
                "source_type": "completion",
                "content_filter_results": {"protected_material_code": {"filtered": True}},
            },
        ],
    }
    adapter = create_azure_responses_adapter(
        "d",
        endpoint=ENDPOINT,
        api_key="k",
        http_client=_client(lambda r: httpx2.Response(200, json=body)),
    )
    with pytest.raises(ContentFilterError, match="blocked the answer: protected_material_code"):
        await adapter.generate(REQUEST)


async def test_a_responses_answer_cut_by_the_filter_names_the_category() -> None:
    body = {
        "id": "resp_2",
        "status": "incomplete",
        "incomplete_details": {"reason": "content_filter"},
        "model": "gpt-5-mini",
        "output": [],
        "content_filters": [
            {
                "blocked": False,
                "source_type": "completion",
                "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
            }
        ],
    }
    adapter = create_azure_responses_adapter(
        "d",
        endpoint=ENDPOINT,
        api_key="k",
        http_client=_client(lambda r: httpx2.Response(200, json=body)),
    )
    with pytest.raises(ContentFilterError, match=r"the answer: violence \(severity high\)"):
        await adapter.generate(REQUEST)
