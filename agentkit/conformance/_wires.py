"""The wire protocols the kit can emulate: one ``Wire`` entry each, in ``WIRES``.

An entry says everything the kit needs to play scenarios on a protocol:
the emulator that speaks it, how a recorded request body reads back into a
neutral request (replay), how a scripted error looks on it, what follows a
server's root in an adapter's ``base_url``, the tool-call ids it carries,
what it cannot express at all, and which of our adapters speaks it (for
endpoint mode). Emulated, record and replay modes, the script renderer and
the endpoint mode all read this table, so a new wire is one entry here plus
a factory declaring ``wire_protocol = "<name>"``.

A host that serves a known wire at its own URL shapes (Azure OpenAI's
deployments, Vertex AI's ``:rawPredict``) is an entry too: the same emulator
behind a ``host`` ASGI wrapper that maps the host's paths and headers onto
the emulator's, with that host's ``base_path``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._model import ModelRequest
from ..testing import (
    AnthropicEmulator,
    GeminiEmulator,
    OllamaEmulator,
    OpenAIChatEmulator,
    OpenAIResponsesEmulator,
    anthropic_error,
    gemini_error,
    ollama_error,
    openai_error,
    parse_anthropic_request,
    parse_chat_request,
    parse_gemini_request,
    parse_ollama_request,
    parse_responses_request,
)

__all__ = ["WIRES", "Wire", "scripted_headers"]

#: A scenario's ``script.error`` mapping (status, message, code, retry_after).
ScriptedError = dict[str, Any]


@dataclass(frozen=True)
class Wire:
    """What the kit needs to emulate, record and replay one wire protocol.

    Attributes:
        name: The protocol's name, as a factory's ``wire_protocol`` says it.
        emulator: ``emulator(model_function)``: an ASGI app speaking the
            protocol, with ``calls`` (the neutral requests it read),
            ``disconnected`` (a ``threading.Event`` set when a client hangs
            up mid-stream) and a settable ``stream_delay``.
        parse_request: Reads a request body of this wire back into a
            ``ModelRequest`` (how a replay sees what the model was sent).
        error: The exception a scripted model raises to answer with the
            scripted error in this wire's shape.
        base_path: What follows a server's root in the ``base_url`` of an
            adapter speaking it (``/v1`` for OpenAI's wires).
        call_id_prefix: How the tool-call ids on this wire begin (``call_``,
            ``toolu_``); scripted ids are rewritten to it. None: the wire
            carries no ids, the adapter makes its own.
        cannot_express: Why this wire cannot carry a script (a reason that
            says "wire has no ..."), or None when it can.
        host: An ASGI wrapper mapping a host's URL shapes onto the emulator's
            (for a known wire served elsewhere); None: served as is.
        provider: Our adapter speaking this wire, for endpoint mode; None: none.
        key_variable: The variable endpoint mode reads a key from; None: the
            adapter needs no key for a local server.
    """

    name: str
    emulator: Callable[[Any], Any]
    parse_request: Callable[[Any], ModelRequest]
    error: Callable[[ScriptedError], Exception]
    base_path: str = ""
    call_id_prefix: str | None = None
    cannot_express: Callable[[dict[str, Any]], str | None] = lambda script: None
    host: Callable[[Any], Any] | None = None
    provider: str | None = None
    key_variable: str | None = None


def scripted_headers(error: ScriptedError) -> dict[str, str] | None:
    """The response headers of a scripted error: ``retry-after`` when it has one."""
    retry = error.get("retry_after")
    return {"retry-after": f"{retry:g}"} if retry is not None else None


def _usage(script: dict[str, Any]) -> dict[str, Any] | None:
    reply = script.get("reply") or {}
    usage: dict[str, Any] | None = reply.get("usage", {})
    return usage


def _ollama_cannot(script: dict[str, Any]) -> str | None:
    usage = _usage(script) or {}
    if usage.get("cache_read_input_tokens") or usage.get("reasoning_output_tokens"):
        return "Ollama's wire has no cached or reasoning token counts"
    return None


def _anthropic_cannot(script: dict[str, Any]) -> str | None:
    usage = _usage(script)
    if "reply" in script and usage is None:
        return (
            "Anthropic's wire has no answer without usage: every message carries its "
            "token counts (even a refused one)"
        )
    if (usage or {}).get("reasoning_output_tokens"):
        return (
            "Anthropic's wire has no reasoning token count: thinking is billed inside "
            "output_tokens, with no separate figure"
        )
    return None


def _openai_error(error: ScriptedError) -> Exception:
    return openai_error(
        error["status"], error["message"], code=error.get("code"), headers=scripted_headers(error)
    )


def _gemini_error(error: ScriptedError) -> Exception:
    return gemini_error(
        error["status"],
        error["message"],
        retry_delay=error.get("retry_after"),
        headers=scripted_headers(error),
    )


def _ollama_error(error: ScriptedError) -> Exception:
    return ollama_error(error["status"], error["message"], headers=scripted_headers(error))


def _anthropic_error(error: ScriptedError) -> Exception:
    # The error type follows the status (529 is overloaded_error); OpenAI-style
    # codes in a script have no place in Anthropic's body.
    return anthropic_error(error["status"], error["message"], headers=scripted_headers(error))


#: Every wire the kit emulates, by name.
WIRES: dict[str, Wire] = {
    wire.name: wire
    for wire in (
        Wire(
            "openai-chat",
            OpenAIChatEmulator,
            parse_chat_request,
            _openai_error,
            base_path="/v1",
            call_id_prefix="call_",
            provider="openai",
            key_variable="OPENAI_API_KEY",
        ),
        Wire(
            "openai-responses",
            OpenAIResponsesEmulator,
            parse_responses_request,
            _openai_error,
            base_path="/v1",
            call_id_prefix="call_",
            provider="openai-responses",
            key_variable="OPENAI_API_KEY",
        ),
        # Gemini 2.x sends no function-call ids; the adapter adds the version itself.
        Wire(
            "gemini",
            GeminiEmulator,
            parse_gemini_request,
            _gemini_error,
            provider="gemini",
            key_variable="GEMINI_API_KEY",
        ),
        # Ollama before 0.12 sends no tool-call ids; base_url is the server root.
        Wire(
            "ollama",
            OllamaEmulator,
            parse_ollama_request,
            _ollama_error,
            cannot_express=_ollama_cannot,
            provider="ollama",
        ),
        # base_url is the root without /v1 (as ANTHROPIC_BASE_URL): the adapter adds it.
        Wire(
            "anthropic",
            AnthropicEmulator,
            parse_anthropic_request,
            _anthropic_error,
            call_id_prefix="toolu_",
            cannot_express=_anthropic_cannot,
            provider="anthropic",
            key_variable="ANTHROPIC_API_KEY",
        ),
    )
}
