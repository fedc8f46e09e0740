"""A scenario's ``script`` rendered as a scripted model, per wire protocol.

The emulators in ``agentkit.testing`` each take a model function and speak
their provider's protocol; what differs between protocols is only how an
error or a broken stream is raised, so that is the one thing chosen here.
"""

from __future__ import annotations

from typing import Any

from .. import exceptions
from .._messages import Message, Part, TextPart, ToolCallPart, Usage
from .._model import FinishReason, ModelRequest, ModelResponse

__all__ = ["PROTOCOLS", "ScriptNotRenderable", "render_script"]

#: Wire protocols the kit can emulate, plus ``function`` (no wire: a FunctionAdapter).
PROTOCOLS = ("openai-chat", "openai-responses", "gemini", "ollama", "function")


class ScriptNotRenderable(Exception):
    """The protocol has no way to express this script (the scenario is not applicable)."""


def _response(reply: dict[str, Any]) -> ModelResponse:
    parts: list[Part] = []
    if reply.get("text"):
        parts.append(TextPart(text=reply["text"]))
    for n, call in enumerate(reply.get("tool_calls", []), start=1):
        parts.append(
            ToolCallPart(id=f"call_{n}", name=call["name"], arguments=call.get("arguments", {}))
        )
    default: FinishReason = "tool_calls" if reply.get("tool_calls") else "stop"
    usage = reply.get("usage", {"input_tokens": 10, "output_tokens": 5})
    return ModelResponse(
        message=Message(role="assistant", parts=parts),
        finish_reason=reply.get("finish_reason", default),
        usage=Usage(**usage),
        provider="emulated",
        model_id="emulated",
    )


_ERROR_CLASSES: dict[int, type[exceptions.ProviderHTTPError]] = {
    400: exceptions.BadRequestError,
    401: exceptions.AuthenticationError,
    403: exceptions.AuthenticationError,
    404: exceptions.ModelNotFoundError,
    429: exceptions.RateLimitError,
}


def _error(protocol: str, error: dict[str, Any]) -> Exception:
    from ..testing import gemini_error, ollama_error, openai_error

    status, message = error["status"], error["message"]
    retry = error.get("retry_after")
    headers = {"retry-after": f"{retry:g}"} if retry is not None else None
    if protocol in ("openai-chat", "openai-responses"):
        return openai_error(status, message, code=error.get("code"), headers=headers)
    if protocol == "gemini":
        return gemini_error(status, message, retry_delay=retry, headers=headers)
    if protocol == "ollama":
        return ollama_error(status, message, headers=headers)
    # No wire: the error an adapter should have raised, so wrappers see the real thing.
    cls = _ERROR_CLASSES.get(status, exceptions.ServerError)
    return cls(
        message,
        provider="function",
        status_code=status,
        retry_after=retry,
        code=error.get("code"),
    )


def render_script(script: dict[str, Any], protocol: str) -> Any:
    """A model function playing ``script`` in ``protocol``.

    Args:
        script: The scenario's ``script`` mapping.
        protocol: One of ``PROTOCOLS``.

    Returns:
        A function ``ModelRequest -> ModelResponse`` that may raise the
        protocol's scripted errors.

    Raises:
        ScriptNotRenderable: The protocol cannot express the script.
    """
    if "stream_cut" in script:
        if protocol == "function":
            raise ScriptNotRenderable("a function adapter has no stream to cut")
        # The emulated harness ends the body early; the script only supplies
        # enough text that the cut lands in the middle of the answer.
        text = script["stream_cut"]["partial"] * 20
        response = _response({"text": text})
        return lambda request: response
    if "error" in script:
        error = script["error"]

        def fail(request: ModelRequest) -> ModelResponse:
            raise _error(protocol, error)

        return fail
    response = _response(script.get("reply", {"text": "OK"}))

    def answer(request: ModelRequest) -> ModelResponse:
        return response

    return answer
