"""Pure conversion of agentkit's neutral request into an Ollama ``/api/chat`` body.

No I/O, no environment, no state (schemas go through ``compile_schema_cached``): neutral
values in, Ollama JSON and warnings out (the way back is ``_parse.py``).
Content the wire cannot carry raises ``UnsupportedFeatureError``; a setting
it cannot carry becomes a ``RunWarning``.

Decisions worth knowing:

- Sampling settings go in ``options`` (``max_tokens`` is ``num_predict``);
  ``think`` goes at the top level, where Ollama reads it: inside ``options``
  it is silently ignored. ``settings.extra`` keys that Ollama reads as options
  (``num_ctx``, ``top_k``, ...) are moved into ``options`` for the same
  reason, and a ``think`` inside ``extra["options"]`` is moved out.
- ``tool_choice`` ``"none"`` sends no tools (Ollama has no tool_choice);
  ``"required"`` or a tool's name cannot be honoured and become warnings.
- Tool and output schemas are compiled for the ``ollama`` target; every
  change comes back as a ``schema_changed`` warning.
- Reasoning made by this provider is replayed as the assistant's
  ``thinking``; reasoning from another provider is left out with a warning.
- Images must be bytes (or ``data:`` URLs): Ollama takes base64, never a link.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, assert_never

from agentkit import (
    AudioPart,
    ImagePart,
    Message,
    ModelRequest,
    ReasoningPart,
    ResourcePart,
    RunWarning,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.adapter import (
    changes_to_warnings,
    compile_schema_cached,
    reasoning_left_out,
    resource_text,
    setting_not_sent,
    tool_result_text,
    unsupported_content,
)
from agentkit.exceptions import UnsupportedFeatureError

from .._memo import memo_by_tools
from ._wire import OllamaChatRequest, OllamaMessage, OllamaTool, OllamaToolCall, ThinkValue

__all__ = ["OPTION_NAMES", "to_ollama_messages", "to_ollama_request", "to_ollama_tools"]

#: Keys Ollama reads inside ``options`` (and silently ignores at the top level).
OPTION_NAMES = frozenset(
    {
        "num_keep", "seed", "num_predict", "top_k", "top_p", "min_p", "typical_p",
        "repeat_last_n", "temperature", "repeat_penalty", "presence_penalty",
        "frequency_penalty", "penalize_newline", "stop", "numa", "num_ctx", "num_batch",
        "num_gpu", "main_gpu", "use_mmap", "num_thread",
    }
)  # fmt: skip

_API = "Ollama's /api/chat"

# reasoning_effort -> think. Ollama knows three levels; models without levels read
# any of them as "on". It has no "minimal": the nearest, "low", is sent instead.
_THINK: dict[str, ThinkValue] = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


def _unsupported(what: str, provider: str, model_id: str) -> UnsupportedFeatureError:
    return unsupported_content(what, api=_API, provider=provider, model_id=model_id)


def _image(part: ImagePart, provider: str, model_id: str) -> str:
    if part.data is not None:
        return base64.b64encode(part.data).decode("ascii")
    url = part.url or ""
    if url.startswith("data:") and ";base64," in url:
        return url.partition(";base64,")[2]
    raise _unsupported(
        "an image given by URL (Ollama takes image bytes only; download it first)",
        provider,
        model_id,
    )


def _tool_message(
    result: ToolResultPart, name: str | None, provider: str, warnings: list[RunWarning]
) -> OllamaMessage:
    text, notes = tool_result_text(result, api=_API, provider=provider)
    warnings += notes
    message: OllamaMessage = {"role": "tool", "content": text}
    if name:
        message["tool_name"] = name
    # Ollama 0.12.10+ links results by id too; older servers ignore the field.
    message["tool_call_id"] = result.call_id
    return message


def _tool_call(part: ToolCallPart, provider: str, warnings: list[RunWarning]) -> OllamaToolCall:
    if part.raw_arguments is not None:
        # Ollama wants an object here and rejects a string, so the model's invalid
        # text cannot be replayed; the tool result already told it what was wrong.
        warnings.append(
            RunWarning(
                kind="other",
                feature="tool_call_arguments",
                provider=provider,
                message=f"tool call {part.id} had arguments that are not a JSON object; "
                "they were replayed to Ollama as {}",
            )
        )
    return {"id": part.id, "function": {"name": part.name, "arguments": part.arguments}}


def to_ollama_messages(
    messages: Sequence[Message], *, provider: str, model_id: str
) -> tuple[list[OllamaMessage], list[RunWarning]]:
    """Neutral messages to ``/api/chat`` ``messages``.

    Each ``ToolResultPart`` becomes its own ``role: "tool"`` message carrying
    ``tool_name`` (taken from the part, else from the call it answers) and
    ``tool_call_id``. Text parts of one message are joined with newlines.

    Args:
        messages: The conversation.
        provider: Provider name, for warnings, errors and replaying reasoning.
        model_id: The model asked, for errors.

    Returns:
        The wire messages and any warnings.

    Raises:
        UnsupportedFeatureError: an image by URL, audio, a binary resource,
            or a part in a role that cannot hold it.
    """
    out: list[OllamaMessage] = []
    warnings: list[RunWarning] = []
    names: dict[str, str] = {}
    foreign_reasoning = False
    for message in messages:
        role = message.role
        parts = message.parts
        if role != "tool" and len(parts) == 1 and type(parts[0]) is TextPart:
            out.append({"role": role, "content": parts[0].text})  # the common case
            continue
        texts: list[str] = []
        images: list[str] = []
        thinking: list[str] = []
        calls: list[OllamaToolCall] = []
        results: list[OllamaMessage] = []
        for part in parts:
            match part:
                case TextPart():
                    texts.append(part.text)
                case ToolResultPart():
                    name = part.name or names.get(part.call_id)
                    results.append(_tool_message(part, name, provider, warnings))
                case ToolCallPart() if role == "assistant":
                    names[part.id] = part.name
                    calls.append(_tool_call(part, provider, warnings))
                case ReasoningPart():
                    if part.provider == provider and part.text:
                        thinking.append(part.text)
                    elif not foreign_reasoning and part.provider != provider:
                        foreign_reasoning = True
                        warnings.append(
                            reasoning_left_out(
                                why="reasoning from another provider is only replayed to "
                                "the provider that made it",
                                provider=provider,
                            )
                        )
                case ImagePart() if role == "user":
                    images.append(_image(part, provider, model_id))
                case ResourcePart() if role in ("user", "system") and part.data is None:
                    texts.append(resource_text(part) or "")
                case ToolCallPart() | ImagePart() | AudioPart() | ResourcePart():
                    raise _unsupported(
                        f"a {part.type} part in a {role} message", provider, model_id
                    )
                case _:
                    assert_never(part)
        if role == "tool" and texts:
            raise _unsupported("text outside a tool result in a tool message", provider, model_id)
        if role == "tool" or not (texts or images or calls or thinking or not results):
            out.extend(results)  # a message of tool results only
            continue
        wire: OllamaMessage = {"role": role, "content": "\n".join(texts)}
        if images:
            wire["images"] = images
        if thinking:
            wire["thinking"] = "\n".join(thinking)
        if calls:
            wire["tool_calls"] = calls
        # Results go after the calls that asked for them, and before a user's own words.
        out.extend([wire, *results] if role == "assistant" else [*results, wire])
    return out, warnings


@memo_by_tools
def to_ollama_tools(
    tools: Sequence[ToolDefinition], *, allow_lossy: bool, provider: str
) -> tuple[list[OllamaTool], list[RunWarning]]:
    """Tool definitions to ``tools`` (OpenAI's function shape), schemas compiled for Ollama.

    Args:
        tools: The tools the model may call.
        allow_lossy: Accept schema changes that alter which values are valid.
        provider: Provider name, for warnings.

    Returns:
        The wire tools and a ``schema_changed`` warning per change.

    Raises:
        SchemaCompileError: a schema needs a lossy change and ``allow_lossy`` is False.
    """
    out: list[OllamaTool] = []
    warnings: list[RunWarning] = []
    for tool in tools:
        compiled = compile_schema_cached(
            tool.input_schema, "ollama", allow_lossy=allow_lossy, name=tool.name
        )
        if compiled.changes:
            warnings += changes_to_warnings(compiled, tool=tool.name, provider=provider)
        wire: OllamaTool = {"type": "function", "function": {"name": tool.name}}
        description = tool.description or tool.title
        if description:
            wire["function"]["description"] = description
        wire["function"]["parameters"] = compiled.schema
        out.append(wire)
    return out, warnings


def _options(body: OllamaChatRequest, request: ModelRequest, provider: str) -> list[RunWarning]:
    """Fill ``options`` and ``think``; merge ``extra``; return the warnings."""
    settings = request.settings
    warnings: list[RunWarning] = []
    options: dict[str, Any] = {}
    for key, value in (
        ("num_predict", settings.max_tokens),
        ("temperature", settings.temperature),
        ("top_p", settings.top_p),
        ("stop", settings.stop),
        ("seed", settings.seed),
    ):
        if value is not None:
            options[key] = value
    effort = settings.reasoning_effort
    if effort is not None:
        body["think"] = _THINK[effort]
        if effort == "minimal":
            warnings.append(
                setting_not_sent(
                    "reasoning_effort",
                    why="Ollama has no 'minimal' thinking level; 'low' was sent",
                    provider=provider,
                )
            )
    if settings.parallel_tool_calls is not None:
        warnings.append(
            setting_not_sent(
                "parallel_tool_calls", why=f"{provider} does not accept it", provider=provider
            )
        )
    extra = dict(settings.extra)
    nested = extra.pop("options", None)
    if isinstance(nested, dict):
        nested = dict(nested)
        if "think" in nested:
            # Inside options Ollama ignores it without a word: put it where it is read.
            extra.setdefault("think", nested.pop("think"))
        options.update(nested)
    for key in [k for k in extra if k in OPTION_NAMES]:
        options[key] = extra.pop(key)
    if options:
        body["options"] = options
    if extra:
        body.update(extra)  # type: ignore[typeddict-item]
    return warnings


def to_ollama_request(
    request: ModelRequest, *, model_id: str, stream: bool, provider: str = "ollama"
) -> tuple[OllamaChatRequest, list[RunWarning]]:
    """A whole ``POST /api/chat`` body for ``request``.

    ``stream`` is always written, since Ollama streams when it is left out.
    ``settings.extra`` is merged last at the top level (keys Ollama reads as
    options go into ``options``), so it may override anything, ``think`` included.

    Args:
        request: The neutral request.
        model_id: The model to ask, e.g. ``llama3.2`` or ``qwen3:8b``.
        stream: Ask for an NDJSON stream.
        provider: Provider name, for warnings and errors.

    Returns:
        The body and the warnings of everything that could not be sent as asked.

    Raises:
        UnsupportedFeatureError: from ``to_ollama_messages``.
        SchemaCompileError: a tool or output schema needs a lossy change that
            ``request.allow_lossy_schemas`` does not allow.
    """
    messages, warnings = to_ollama_messages(request.messages, provider=provider, model_id=model_id)
    body: OllamaChatRequest = {"model": model_id, "messages": messages, "stream": stream}
    choice = request.tool_choice
    if request.tools and choice != "none":
        tools, tool_warnings = to_ollama_tools(
            request.tools, allow_lossy=request.allow_lossy_schemas, provider=provider
        )
        body["tools"] = tools
        warnings += tool_warnings
    if choice not in (None, "auto", "none"):
        warnings.append(
            setting_not_sent(
                "tool_choice",
                why=f"{choice!r} was not sent: Ollama has no tool_choice, so the model "
                "chooses freely",
                provider=provider,
            )
        )
    if request.output_schema is not None:
        compiled = compile_schema_cached(
            request.output_schema,
            "ollama",
            allow_lossy=request.allow_lossy_schemas,
            name=request.output_name,
        )
        body["format"] = compiled.schema
        if compiled.changes:
            warnings += changes_to_warnings(compiled, tool=request.output_name, provider=provider)
    warnings += _options(body, request, provider)
    return body, warnings
