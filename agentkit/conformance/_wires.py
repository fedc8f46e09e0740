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
the emulator's (``_hosts.py``), with that host's ``base_path``, the factory
``options`` that pick the shape (placeholder credentials only), and the
providers (and model ids) the kit ``routes`` to it by default: a factory's
own ``wire_protocol`` names the protocol, not the host's shapes (Azure's
factory says ``openai-chat``; Vertex's declares none, as it speaks two).
Their cassettes go to a folder of their own (``cassette_folder``).
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
from ._hosts import (
    AZURE_API_VERSION,
    AZURE_RESPONSES_API_VERSION,
    PLACEHOLDER_KEY,
    azure_host,
    azure_options,
    vertex_host,
    vertex_options,
)
from ._responses_hosts import HOST_QUIRKS, ResponsesHost

__all__ = [
    "PLACEHOLDER_KEY",
    "WIRES",
    "Wire",
    "cassette_folder",
    "routed_wire",
    "scripted_headers",
]

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
        host: ``host(emulator, model_function)``: an ASGI wrapper mapping a
            host's URL shapes onto the emulator's (for a known wire served
            elsewhere); None: served as is.
        provider: Our adapter speaking this wire, for endpoint mode; None: none.
        key_variable: The variable endpoint mode reads a key from; None: the
            adapter needs no key for a local server.
        options: ``options()``: factory options, besides ``base_url`` and the
            kit's key, that point an adapter at this wire's shapes (a value of
            None withholds the key); placeholders only, nothing from the network.
        routes: Providers the kit runs on this wire when no ``--wire`` is given.
        models: Which of those providers' model ids it routes here.
    """

    name: str
    emulator: Callable[[Any], Any]
    parse_request: Callable[[Any], ModelRequest]
    error: Callable[[ScriptedError], Exception]
    base_path: str = ""
    call_id_prefix: str | None = None
    cannot_express: Callable[[dict[str, Any]], str | None] = lambda script: None
    host: Callable[[Any, Any], Any] | None = None
    provider: str | None = None
    key_variable: str | None = None
    options: Callable[[], dict[str, Any]] = dict
    routes: tuple[str, ...] = ()
    models: Callable[[str], bool] = lambda model_id: True


def scripted_headers(error: ScriptedError) -> dict[str, str] | None:
    """The response headers of a scripted error: ``retry-after`` when it has one."""
    retry = error.get("retry_after")
    return {"retry-after": f"{retry:g}"} if retry is not None else None


def _is_claude(model_id: str) -> bool:
    # As the Vertex factory decides (split_publisher): claude-*, or an anthropic/ prefix.
    bare = model_id.removeprefix("publishers/")
    return bare.startswith(("claude", "anthropic/"))


def _vertex_claude_request(body: Any) -> ModelRequest:
    # Claude on Vertex names its version in the body, where the Messages API has none.
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "anthropic_version"}
    return parse_anthropic_request(body)


def _responses_host(provider: str) -> Callable[[Any, Any], Any]:
    return lambda emulator, function: ResponsesHost(emulator, HOST_QUIRKS[provider])


def _no_reasoning_count(script: dict[str, Any]) -> str | None:
    if (_usage(script) or {}).get("reasoning_output_tokens"):
        return (
            "Bedrock's Responses wire has no reasoning token count: it reports "
            "reasoning_tokens 0 even after reasoning (case bedrock_mantle_gpt_oss_json)"
        )
    return None


def _open_responses(provider: str, **fields: Any) -> Wire:
    """A Responses host of an Open Responses preset: the emulator, reshaped as that host does."""
    return Wire(
        provider,
        OpenAIResponsesEmulator,
        parse_responses_request,
        _openai_error,
        base_path=fields.pop("base_path", "/v1"),
        call_id_prefix="call_",
        host=_responses_host(provider),
        routes=(provider,),
        **fields,
    )


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
        # Vertex AI: base_url is the host root; the adapter adds /v1beta1/projects/...
        Wire(
            "vertex-gemini",
            GeminiEmulator,
            parse_gemini_request,
            _gemini_error,
            host=vertex_host("google"),
            options=vertex_options(express=False),
            routes=("vertex",),
            models=lambda model_id: not _is_claude(model_id),
        ),
        # Express mode: /v1beta1/publishers/google/models/M, an API key and no project.
        Wire(
            "vertex-express",
            GeminiEmulator,
            parse_gemini_request,
            _gemini_error,
            host=vertex_host("google"),
            options=vertex_options(express=True),
        ),
        Wire(
            "vertex-claude",
            AnthropicEmulator,
            _vertex_claude_request,
            _anthropic_error,
            call_id_prefix="toolu_",
            cannot_express=_anthropic_cannot,
            host=vertex_host("anthropic"),
            options=vertex_options(express=False),
            routes=("vertex",),
            models=_is_claude,
        ),
        # Azure OpenAI: base_url is the resource endpoint; the API version picks the paths.
        Wire(
            "azure-chat",
            OpenAIChatEmulator,
            parse_chat_request,
            _openai_error,
            call_id_prefix="call_",
            host=azure_host("chat"),
            options=azure_options(AZURE_API_VERSION),
            routes=("azure",),
        ),
        Wire(
            "azure-v1-chat",
            OpenAIChatEmulator,
            parse_chat_request,
            _openai_error,
            call_id_prefix="call_",
            host=azure_host("chat"),
            options=azure_options("v1"),
        ),
        Wire(
            "azure-v1-responses",
            OpenAIResponsesEmulator,
            parse_responses_request,
            _openai_error,
            call_id_prefix="call_",
            host=azure_host("responses"),
            options=azure_options("v1"),
            routes=("azure-responses",),
        ),
        # The dated Responses path (/openai/responses?api-version=...), a preview version.
        Wire(
            "azure-responses",
            OpenAIResponsesEmulator,
            parse_responses_request,
            _openai_error,
            call_id_prefix="call_",
            host=azure_host("responses"),
            options=azure_options(AZURE_RESPONSES_API_VERSION),
        ),
        # Open Responses hosts: each named after its preset, which it is routed to.
        _open_responses("openresponses"),
        _open_responses("openrouter-responses"),
        # No /v1: https://api.deepseek.com/responses.
        _open_responses("deepseek-responses", base_path=""),
        _open_responses("bedrock-responses", cannot_express=_no_reasoning_count),
    )
}


def routed_wire(provider: str, model_id: str) -> str | None:
    """The wire the kit runs ``provider:model_id`` on by default, when a host's table says so."""
    for wire in WIRES.values():
        if provider in wire.routes and wire.models(model_id):
            return wire.name
    return None


def cassette_folder(provider: str, wire: str | None) -> str:
    """The folder (under a cassettes directory) of ``provider``'s cassettes on ``wire``.

    The provider's name, as always; on a host's wire not named after it,
    ``provider.wire``: one provider can be recorded on several (Vertex's
    Gemini and Claude, Azure's deployments and v1 APIs), and each needs its own set.
    """
    entry = WIRES.get(wire or "")
    if entry is None or entry.host is None or entry.name == provider:
        return provider
    return f"{provider}.{entry.name}"
