"""A scenario's ``script`` rendered as a scripted model, per wire protocol.

The emulators in ``agentkit.testing`` each take a model function and speak
their provider's protocol, writing usage, finish reasons and tool calls in
its own shape. What differs between protocols here comes from the wire's
entry in ``WIRES``: how an error is raised, how tool-call ids look
(``call_...``, ``toolu_...``, none) and what the wire cannot express at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import exceptions
from .._messages import Message, Part, TextPart, ToolCallPart, Usage
from .._model import FinishReason, ModelRequest, ModelResponse
from ._wires import WIRES

__all__ = ["PROTOCOLS", "ScriptNotRenderable", "WireFacts", "render_script", "wire_facts"]

#: Wire protocols the kit can emulate, plus ``function`` (no wire: a FunctionAdapter).
PROTOCOLS = (*WIRES, "function")

#: Usage when a script says nothing about it.
_DEFAULT_USAGE = {"input_tokens": 10, "output_tokens": 5}


@dataclass(frozen=True)
class WireFacts:
    """What the scripted wire said, to compare the adapter's reading with.

    Attributes:
        usage: The usage the wire carried, in neutral terms; None: it carried none.
        tool_call_ids: The tool-call ids on the wire, in order; None: the
            protocol carries no ids (the adapter must make unique ones).
    """

    usage: Usage | None
    tool_call_ids: list[str] | None


def _calls(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return list(reply.get("tool_calls", []))


def _id_prefix(protocol: str | None) -> str | None:
    """How ``protocol``'s wire ids begin; None when it carries none (or is unknown)."""
    if protocol == "function":
        return "call_"
    wire = WIRES.get(protocol or "")
    return wire.call_id_prefix if wire is not None else None


def _call_id(call: dict[str, Any], n: int, protocol: str | None) -> str:
    # Scripts spell ids OpenAI's way (call_...); a wire with its own prefix
    # (Anthropic's toolu_...) gets the same id under that prefix.
    scripted = str(call.get("id") or f"call_{n}")
    prefix = _id_prefix(protocol)
    return prefix + scripted.removeprefix("call_") if prefix else scripted


class ScriptNotRenderable(Exception):
    """The protocol has no way to express this script (the scenario is not applicable)."""


def _response(reply: dict[str, Any], protocol: str) -> ModelResponse:
    parts: list[Part] = []
    if reply.get("text"):
        parts.append(TextPart(text=reply["text"]))
    for n, call in enumerate(_calls(reply), start=1):
        arguments = call.get("arguments", {})
        call_id = _call_id(call, n, protocol)
        parts.append(ToolCallPart(id=call_id, name=call["name"], arguments=arguments))
    default: FinishReason = "tool_calls" if reply.get("tool_calls") else "stop"
    usage = reply.get("usage", _DEFAULT_USAGE)
    return ModelResponse(
        message=Message(role="assistant", parts=parts),
        finish_reason=reply.get("finish_reason", default),
        # ``usage: null`` scripts a wire that carries no usage at all.
        usage=Usage(**usage) if usage is not None else None,
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
    wire = WIRES.get(protocol)
    if wire is not None:
        return wire.error(error)
    # No wire: the error an adapter should have raised, so wrappers see the real thing.
    status = error["status"]
    cls = _ERROR_CLASSES.get(status, exceptions.ServerError)
    return cls(
        error["message"],
        provider="function",
        status_code=status,
        retry_after=error.get("retry_after"),
        code=error.get("code"),
    )


def _check_renderable(script: dict[str, Any], protocol: str) -> None:
    wire = WIRES.get(protocol)
    reason = wire.cannot_express(script) if wire is not None else None
    if reason is not None:
        raise ScriptNotRenderable(reason)
    if "stall" in script and protocol == "function":
        raise ScriptNotRenderable("a function adapter has no connection to time out")


def wire_facts(script: dict[str, Any], protocol: str | None) -> WireFacts | None:
    """What the wire will say when ``protocol`` plays ``script``.

    Args:
        script: The scenario's ``script`` mapping.
        protocol: One of ``PROTOCOLS``; None when unknown (ids are then not compared).

    Returns:
        The facts; None when the script answers with no response (an error,
        a cut stream, a refused connection).
    """
    if "error" in script or "stream_cut" in script or "connect" in script or "stall" in script:
        return None
    reply = script.get("reply", {"text": "OK"})
    usage = reply.get("usage", _DEFAULT_USAGE)
    ids = None
    if _id_prefix(protocol) is not None:
        ids = [_call_id(call, n, protocol) for n, call in enumerate(_calls(reply), start=1)]
    return WireFacts(usage=Usage(**usage) if usage is not None else None, tool_call_ids=ids)


def render_script(script: dict[str, Any], protocol: str) -> Any:
    """A model function playing ``script`` in ``protocol``.

    Args:
        script: The scenario's ``script`` mapping.
        protocol: One of ``PROTOCOLS``.

    Returns:
        A function ``ModelRequest -> ModelResponse`` that may raise the
        protocol's scripted errors. (A ``stall`` is the harness's to play: the
        function answers at once and the server holds the answer back.)

    Raises:
        ScriptNotRenderable: The protocol cannot express the script.
    """
    _check_renderable(script, protocol)
    if "stream_cut" in script:
        if protocol == "function":
            raise ScriptNotRenderable("a function adapter has no stream to cut")
        # The emulated harness ends the body early; the script only supplies
        # enough text that the cut lands in the middle of the answer.
        text = script["stream_cut"]["partial"] * 20
        response = _response({"text": text}, protocol)
        return lambda request: response
    if "error" in script:
        error = script["error"]

        def fail(request: ModelRequest) -> ModelResponse:
            raise _error(protocol, error)

        return fail
    response = _response(script.get("reply", {"text": "OK"}), protocol)

    def answer(request: ModelRequest) -> ModelResponse:
        return response

    return answer
