"""Pure conversion of agentkit's neutral request into OpenAI Responses JSON.

No I/O, no environment, no state: neutral values and keyword switches in, the
body, warnings and compiled tool schemas out (the way back is ``_parse.py``).
Content the wire cannot carry raises ``UnsupportedFeatureError``; a setting it
cannot carry becomes a ``RunWarning``. Decisions worth knowing:

- System messages become ``developer`` items where they stand, not
  ``instructions``, so one in mid-history keeps its place; the recorded requests
  use ``developer`` too (``parallel_function_calls_json_gpt4o``).
- Strict mode follows the rule shared with Chat Completions
  (``agentkit_adapters.openai._strict``). ``strict`` defaults to true on this
  API, so it is always written. The strict schemas that made optional
  properties nullable go to the parser, which strips the model's stand-in nulls.
- A ``ReasoningPart`` is replayed (as a ``reasoning`` item) only when this
  provider made it and it carries encrypted content: with ``store: false`` an
  id alone points at nothing. Other reasoning is left out with a warning, never
  sent as text.
- Custom tools, declared raw in ``settings.extra["tools"]``, have their calls
  (``arguments={"input": <text>}``) replayed as ``custom_tool_call``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, assert_never

from agentkit import (
    AudioPart,
    ImagePart,
    Message,
    ModelRequest,
    Part,
    ReasoningPart,
    ResourcePart,
    RunWarning,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.adapter import (
    CompiledSchema,
    reasoning_left_out,
    resource_text,
    setting_not_sent,
    tool_result_text,
    unsupported_content,
)
from agentkit.exceptions import UnsupportedFeatureError

from .._memo import memo_by_tools
from ..openai._convert import openai_cache_fields
from ..openai._strict import compile_openai_schema
from ._wire import (
    FunctionTool,
    InputContent,
    InputItem,
    PreparedRequest,
    ReasoningItem,
    ResponsesRequest,
    TextFormat,
)

__all__ = [
    "to_responses_input",
    "to_responses_request",
    "to_responses_tools",
]

_API = "the Responses API"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]")


def _unsupported(what: str, provider: str, model_id: str) -> UnsupportedFeatureError:
    return unsupported_content(what, api=_API, provider=provider, model_id=model_id)


def _image(part: ImagePart) -> InputContent:
    url = part.url
    if url is None:
        url = f"data:{part.media_type};base64,{base64.b64encode(part.data or b'').decode()}"
    return {"type": "input_image", "image_url": url, "detail": "auto"}


def _call_item(part: ToolCallPart, custom_tools: frozenset[str]) -> InputItem:
    text = part.arguments.get("input")
    if part.name in custom_tools and isinstance(text, str):
        return {"type": "custom_tool_call", "call_id": part.id, "name": part.name, "input": text}
    # Invalid arguments are replayed verbatim, so the model sees what it sent; valid ones
    # compact, as the model writes them (parallel_function_calls_*), so the replayed
    # prefix stays the same and OpenAI's prompt cache can hit.
    arguments = part.raw_arguments
    if arguments is None:
        arguments = json.dumps(part.arguments, ensure_ascii=False, separators=(",", ":"))
    return {"type": "function_call", "call_id": part.id, "name": part.name, "arguments": arguments}


def to_responses_input(
    messages: Sequence[Message],
    *,
    provider: str,
    model_id: str,
    custom_tools: frozenset[str] = frozenset(),
    stored: bool = False,
) -> tuple[list[InputItem], list[RunWarning]]:
    """Neutral messages to Responses ``input`` items.

    Args:
        messages: The conversation.
        provider: This adapter's provider name: reasoning stamped with it is replayed.
        model_id: The model asked, for errors.
        custom_tools: Names of custom tools, whose calls replay as ``custom_tool_call``.
        stored: The request sets ``store: true``, so OpenAI keeps reasoning items
            and one can be replayed by its id alone.

    Returns:
        The items and any warnings.

    Raises:
        UnsupportedFeatureError: audio, a binary resource, an image outside a
            user message, or a part in a role that cannot hold it.
    """
    items: list[InputItem] = []
    warnings: list[RunWarning] = []
    custom_calls: set[str] = set()
    reasoning_dropped = False
    for message in messages:
        role = message.role
        parts = message.parts
        if role in ("user", "system") and len(parts) == 1 and type(parts[0]) is TextPart:
            # Most messages are one text part: a plain string, as the recordings send.
            items.append({"role": _ROLES[role], "content": parts[0].text})
            continue
        content: list[InputContent] = []
        part: Part
        for part in parts:
            match part:
                case TextPart():
                    kind: Any = "output_text" if role == "assistant" else "input_text"
                    content.append({"type": kind, "text": part.text})
                case ToolResultPart():
                    custom = part.call_id in custom_calls
                    kind = "custom_tool_call_output" if custom else "function_call_output"
                    output, notes = tool_result_text(part, api=_API, provider=provider)
                    warnings += notes
                    items.append({"type": kind, "call_id": part.call_id, "output": output})
                case ToolCallPart() if role == "assistant":
                    _flush(items, role, content)
                    item = _call_item(part, custom_tools)
                    if item.get("type") == "custom_tool_call":
                        custom_calls.add(part.id)
                    items.append(item)
                case ReasoningPart():
                    replayable = part.signature or (stored and part.id)
                    if part.provider == provider and replayable and role == "assistant":
                        _flush(items, role, content)
                        items.append(_reasoning_item(part))
                    elif not reasoning_dropped:
                        reasoning_dropped = True
                        warnings.append(
                            reasoning_left_out(why=_REASONING_LEFT_OUT, provider=provider)
                        )
                case ImagePart() if role == "user":
                    content.append(_image(part))
                case ResourcePart() if role in ("user", "system") and part.data is None:
                    content.append({"type": "input_text", "text": resource_text(part) or ""})
                case ToolCallPart() | ImagePart() | AudioPart() | ResourcePart():
                    raise _unsupported(
                        f"a {part.type} part in a {role} message", provider, model_id
                    )
                case _:
                    assert_never(part)
        if role == "tool" and content:
            raise _unsupported("text outside a tool result in a tool message", provider, model_id)
        _flush(items, role, content)
    return items, warnings


_ROLES: dict[str, Any] = {"system": "developer", "user": "user", "assistant": "assistant"}


def _flush(items: list[InputItem], role: str, content: list[InputContent]) -> None:
    """Close the message being built from ``content`` (if any) into ``items``."""
    if content:
        lone = len(content) == 1 and content[0]["type"] == "input_text"
        items.append(
            {"role": _ROLES[role], "content": content[0]["text"] if lone else list(content)}
        )
        content.clear()


def _reasoning_item(part: ReasoningPart) -> ReasoningItem:
    item: ReasoningItem = {"type": "reasoning"}
    if part.id:
        item["id"] = part.id
    item["summary"] = [{"type": "summary_text", "text": part.text}] if part.text else []
    if part.signature:
        item["encrypted_content"] = part.signature
    return item


_REASONING_LEFT_OUT = (
    "only reasoning made by this provider with its encrypted "
    "content can be sent back (set reasoning_effort to receive it), and never as text"
)


@memo_by_tools
def to_responses_tools(
    tools: Sequence[ToolDefinition],
    *,
    provider: str = "openai",
    allow_lossy: bool = False,
) -> tuple[list[FunctionTool], list[RunWarning], dict[str, CompiledSchema]]:
    """Tool definitions to flat Responses function tools, strict whenever possible.

    Args:
        tools: The tools the model may call.
        provider: Provider name, for warnings.
        allow_lossy: Accept schema changes that alter which values are valid.

    Returns:
        The wire tools; a ``schema_changed`` warning per change the compiler
        made; and the strict schemas that added nulls, by tool name.

    Raises:
        SchemaCompileError: a schema cannot be sent even without strict mode.
    """
    out: list[FunctionTool] = []
    warnings: list[RunWarning] = []
    schemas: dict[str, CompiledSchema] = {}
    for tool in tools:
        compiled, notes = compile_openai_schema(
            tool.input_schema, name=tool.name, allow_lossy=allow_lossy, provider=provider
        )
        wire: FunctionTool = {"type": "function", "name": tool.name}
        description = tool.description or tool.title
        if description:
            wire["description"] = description
        wire["parameters"] = compiled.schema
        wire["strict"] = compiled.strict
        out.append(wire)
        warnings += notes
        if compiled.added_nulls:
            schemas[tool.name] = compiled
    return out, warnings, schemas


def _text_format(
    request: ModelRequest, schema: Mapping[str, Any], provider: str
) -> tuple[TextFormat, list[RunWarning]]:
    name = _NOT_NAME.sub("_", request.output_name)[:64] or "output"
    compiled, warnings = compile_openai_schema(
        schema, name=name, allow_lossy=request.allow_lossy_schemas, output=True, provider=provider
    )
    text_format: TextFormat = {"type": "json_schema", "name": name, "schema": compiled.schema}
    text_format["strict"] = compiled.strict
    return text_format, warnings


def _custom_tool_names(extra: Mapping[str, Any]) -> frozenset[str]:
    raw = extra.get("tools")
    tools = raw if isinstance(raw, list) else ()
    return frozenset(t["name"] for t in tools if isinstance(t, dict) and t.get("type") == "custom")


#: How much of its reasoning a model summarises, when asked (``reasoning.summary``).
ReasoningSummary = Literal["auto", "concise", "detailed"]


def to_responses_request(
    request: ModelRequest,
    *,
    model_id: str,
    stream: bool,
    provider: str = "openai",
    reasoning_summary: ReasoningSummary | None = None,
    cache_retention: bool = True,
) -> PreparedRequest:
    """A whole ``POST /responses`` body for ``request``.

    ``store`` is false (agentkit keeps the conversation, not OpenAI), and
    ``settings.extra`` is merged last, so it may override anything. ``stop``
    and ``seed`` do not exist on this API and come back as warnings; the
    ``timeout`` setting is the adapter's business.

    Args:
        request: The neutral request.
        model_id: The model to ask.
        stream: Ask for an SSE stream.
        provider: Provider name, for warnings, errors and reasoning replay.
        reasoning_summary: Ask for a summary of the reasoning (``auto``,
            ``concise``, ``detailed``) when ``reasoning_effort`` is set. None
            (the default) asks for none: OpenAI rejects the request for an
            organisation that is not verified, and effort alone works for all.
        cache_retention: The server takes ``prompt_cache_retention`` (OpenAI
            and Azure do; the Open Responses specification has only
            ``prompt_cache_key``).

    Returns:
        The body, its warnings and the compiled strict schemas.

    Raises:
        UnsupportedFeatureError: from ``to_responses_input``.
        SchemaCompileError: a tool or output schema cannot be sent at all.
    """
    settings = request.settings
    custom_tools = _custom_tool_names(settings.extra) if settings.extra else frozenset()
    items, warnings = to_responses_input(
        request.messages,
        provider=provider,
        model_id=model_id,
        custom_tools=custom_tools,
        stored=settings.extra.get("store") is True,
    )
    body: ResponsesRequest = {"model": model_id, "input": items, "store": False}
    schemas: dict[str, CompiledSchema] = {}
    if request.tools:
        tools, tool_warnings, schemas = to_responses_tools(
            request.tools,
            provider=provider,
            allow_lossy=request.allow_lossy_schemas,
        )
        body["tools"] = tools
        warnings += tool_warnings
        choice = request.tool_choice
        if choice is not None:
            kind = "custom" if choice in custom_tools else "function"
            body["tool_choice"] = (
                choice if choice in ("auto", "none", "required") else {"type": kind, "name": choice}
            )
        if settings.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = settings.parallel_tool_calls
    elif request.tool_choice not in (None, "auto", "none"):
        why = f"{request.tool_choice!r} names no tool of this request, which has none"
        warnings.append(setting_not_sent("tool_choice", why=why, provider=provider))
    if request.output_schema is not None:
        text_format, format_warnings = _text_format(request, request.output_schema, provider)
        body["text"] = {"format": text_format}
        warnings += format_warnings
    for key, value in (
        ("max_output_tokens", settings.max_tokens),
        ("temperature", settings.temperature),
        ("top_p", settings.top_p),
    ):
        if value is not None:
            body[key] = value  # type: ignore[literal-required]
    if settings.reasoning_effort is not None:
        # The encrypted content lets the reasoning be sent back although nothing
        # is stored. A summary (the only reasoning text this API gives) only when
        # asked: unverified organisations get a 400 for asking.
        body["reasoning"] = {"effort": settings.reasoning_effort}
        if reasoning_summary is not None:
            body["reasoning"]["summary"] = reasoning_summary
        body["include"] = ["reasoning.encrypted_content"]
    for name in ("stop", "seed"):
        if getattr(settings, name) is not None:
            why = f"{_API} has no such setting"
            warnings.append(setting_not_sent(name, why=why, provider=provider))
    cache_fields, cache_warnings = openai_cache_fields(
        request, supported=True, provider=provider, retention=cache_retention
    )
    body.update(cache_fields)  # type: ignore[typeddict-item]
    warnings += cache_warnings
    if stream:
        body["stream"] = True
    if settings.extra:
        body.update(settings.extra)  # type: ignore[typeddict-item]
    return PreparedRequest(body, warnings, schemas)
