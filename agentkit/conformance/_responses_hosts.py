"""Hosts serving the Responses API with their own deviations, as ASGI wrappers for the kit.

The Open Responses presets (``openresponses``, ``openrouter-responses``,
``deepseek-responses``, ``bedrock-responses``) all speak the Responses API,
and the kit's ``OpenAIResponsesEmulator`` answers for them; what differs is
how each host shapes the same answer. ``ResponsesHost`` reshapes the
emulator's answers the way a host was recorded doing it
(``tests/fixtures/real_traffic/open_responses``, the real-traffic README),
so a preset is checked against its host's wire, not OpenAI's:

- DeepSeek serves ``/responses`` with no ``/v1`` (anything else is a 404),
  uses bare UUIDs for response and message ids and marks the answer
  ``phase: "final_answer"``;
- Bedrock sends a float ``created_at`` and counts ``reasoning_tokens: 0``
  whatever was reasoned (so the wire carries no reasoning figure);
- OpenRouter's ids are ``gen-...`` / ``msg_tmp_...`` and its usage adds
  ``cost``, ``cost_details``, ``is_byok`` and ``cache_write_tokens``;
- the generic ``openresponses`` host takes the liberties the Open Responses
  specification's framing allows and servers use: a comment frame before
  the first event, ``data:`` before ``event:``, a final ``data: [DONE]``,
  and errors labelled ``application/octet-stream``.

Each emulator message is one or more whole SSE frames (or one JSON body),
so every frame can be reshaped where it passes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from ..testing._asgi import Receive, Scope, Send, send_json

__all__ = ["HOST_QUIRKS", "HostQuirks", "ResponsesHost"]


@dataclass(frozen=True)
class HostQuirks:
    """How one host deviates from OpenAI's Responses wire.

    Attributes:
        root_path: Serves ``/responses`` at the root only (no ``/v1``).
        id_style: ``uuid`` (bare UUIDs), ``openrouter`` (``gen-``/``msg_tmp_``) or None.
        final_phase: Marks the answer message ``phase: "final_answer"``.
        float_created: ``created_at`` as a float.
        zero_reasoning: ``reasoning_tokens`` always 0.
        usage_extras: OpenRouter's cost fields in usage.
        loose_framing: A comment frame first, ``data:`` before ``event:``,
            a final ``[DONE]``, errors as ``application/octet-stream``.
    """

    root_path: bool = False
    id_style: str | None = None
    final_phase: bool = False
    float_created: bool = False
    zero_reasoning: bool = False
    usage_extras: bool = False
    loose_framing: bool = False


#: Each preset's host, by provider name.
HOST_QUIRKS = {
    "deepseek-responses": HostQuirks(root_path=True, id_style="uuid", final_phase=True),
    "bedrock-responses": HostQuirks(float_created=True, zero_reasoning=True),
    "openrouter-responses": HostQuirks(id_style="openrouter", usage_extras=True),
    "openresponses": HostQuirks(loose_framing=True),
}

_ID_KEYS = ("id", "item_id", "response_id")
_ENDS = ("response.completed", "response.incomplete", "response.failed")


class ResponsesHost:
    """An ASGI wrapper that reshapes a Responses emulator's answers as ``quirks`` say.

    Args:
        inner: The Responses emulator (the kit's, which it scripts and watches).
        quirks: The host's deviations.
    """

    def __init__(self, inner: Any, quirks: HostQuirks) -> None:
        self.inner = inner
        self.quirks = quirks
        self._ids: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        if self.quirks.root_path and scope["path"] != "/responses":
            body = {"error": {"message": f"Not Found: {scope['path']}", "type": "not_found"}}
            await send_json(send, 404, body)
            return
        await self.inner(scope, receive, self._reshaping(send))

    def _reshaping(self, send: Send) -> Send:
        status = 200

        async def reshaped(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if status >= 400 and self.quirks.loose_framing:
                    kept = message["headers"]
                    headers = [(k, v) for k, v in kept if k.lower() != b"content-type"]
                    headers.append((b"content-type", b"application/octet-stream"))
                    message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and status == 200 and message["body"]:
                message = {**message, "body": self._body(message["body"])}
            await send(message)

        return reshaped

    def _body(self, raw: bytes) -> bytes:
        text = raw.decode()
        if not text.lstrip().startswith(("data:", "event:")):
            return json.dumps(self._json(json.loads(text))).encode()
        frames = [self._frame(frame) for frame in text.split("\n\n") if frame.strip()]
        return "".join(frames).encode()

    def _frame(self, frame: str) -> str:
        event, data = None, None
        for line in frame.split("\n"):
            if line.startswith("event:"):
                event = line
            elif line.startswith("data:"):
                payload = line[5:].strip()
                if payload != "[DONE]":
                    payload = json.dumps(self._json(json.loads(payload)))
                data = payload
        lines = [line for line in (event, f"data: {data}" if data is not None else None) if line]
        if not self.quirks.loose_framing:
            return "\n".join(lines) + "\n\n"
        out = ": keep-alive\n\n" if '"response.created"' in (data or "") else ""
        out += "\n".join(reversed(lines)) + "\n\n"
        if any(f'"{end}"' in (data or "") for end in _ENDS):
            out += "data: [DONE]\n\n"
        return out

    def _json(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._json(item) for item in value]
        if not isinstance(value, dict):
            return value
        out = {key: self._json(item) for key, item in value.items()}
        for key in _ID_KEYS:
            if isinstance(out.get(key), str):
                out[key] = self._id(out[key])
        quirks = self.quirks
        created = out.get("created_at")
        if out.get("object") == "response" and quirks.float_created and isinstance(created, int):
            out["created_at"] = float(created)
        if out.get("type") == "message" and out.get("role") == "assistant" and quirks.final_phase:
            out["phase"] = "final_answer"
        if "output_tokens" in out and "input_tokens" in out:
            out = self._usage(out)
        return out

    def _usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        if self.quirks.zero_reasoning:
            details = usage.get("output_tokens_details") or {}
            usage["output_tokens_details"] = {**details, "reasoning_tokens": 0}
        if self.quirks.usage_extras:
            usage |= {
                "cost": 0.000042,
                "cost_details": {"upstream_inference_cost": None},
                "is_byok": False,
                "cache_write_tokens": 0,
            }
        return usage

    def _id(self, value: str) -> str:
        style = self.quirks.id_style
        if style is None or not value.startswith(("resp_", "msg_")):
            return value
        if value not in self._ids:
            # Derived from the emulator's id, so a re-recording writes the same cassette.
            derived = uuid.uuid5(uuid.NAMESPACE_OID, value)
            if style == "uuid":
                self._ids[value] = str(derived)
            else:
                prefix = "gen-" if value.startswith("resp_") else "msg_tmp_"
                self._ids[value] = prefix + derived.hex[:24]
        return self._ids[value]
