"""Pure conversion of agentkit's neutral request into OpenAI Chat Completions JSON.

No I/O, no environment, no state: neutral values and keyword switches in,
vendor JSON and warnings out (the way back is ``_parse.py``). Content the wire
cannot carry raises ``UnsupportedFeatureError``; a setting it cannot carry
becomes a ``RunWarning``.

Decisions worth knowing:

- A ``ReasoningPart`` has no form in an OpenAI request (OpenAI keeps its
  reasoning server-side; the ``reasoning_content`` some compatible hosts send
  is theirs, not part of the request format), so it is left out with one
  ``unsupported_feature`` warning per request, whichever provider made it.
- Tool results are text on this wire. An image or binary resource inside a
  result becomes a short placeholder plus a warning rather than an error, so
  one MCP tool returning a picture does not end the run; a resource link
  becomes ``[resource: <uri>]``.
- Strict mode follows the rule shared with the Responses API (``_strict.py``):
  a tool schema goes strict whenever the compiler can make it so, and the
  answer parsers strip the nulls strict mode adds; an output schema only when
  no nulls are added. ``strict`` is written only when true (false is the
  default here).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
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
    prefix_key,
    prompt_cache_of,
    reasoning_left_out,
    resource_text,
    setting_not_sent,
    tool_result_text,
    unsupported_content,
)
from agentkit.exceptions import UnsupportedFeatureError

from .._json import dumps
from .._memo import MessageForms, memo_by_tools
from ._strict import compile_openai_schema
from ._wire import (
    ChatContentPart,
    ChatMessage,
    ChatRequest,
    ChatTool,
    ChatToolCall,
    FunctionDefinition,
)

__all__ = [
    "EXTENDED_RETENTION_AFTER",
    "OpenAIQuirks",
    "openai_cache_fields",
    "to_openai_messages",
    "to_openai_request",
    "to_openai_tools",
]


@dataclass(frozen=True, slots=True)
class OpenAIQuirks:
    """How an OpenAI-compatible host departs from api.openai.com.

    Attributes:
        supports_strict: Accepts ``strict: true`` on tools and ``response_format``.
        max_tokens_field: Body key for ``ModelSettings.max_tokens``; older models
            and many hosts want ``max_tokens`` (OpenAI's reasoning models reject
            it: real-traffic case ``openai_chat/error_400_unsupported_parameter``).
        supports_stream_usage: Accepts ``stream_options.include_usage``.
        unsupported_settings: ``ModelSettings`` names the host rejects; they are
            not sent and come back as ``unsupported_setting`` warnings.
        reasoning_history_field: Assistant-message key that carries the host's
            own reasoning back to it (DeepSeek's thinking mode answers 400 in a
            tool loop without ``reasoning_content``); None drops reasoning.
        prompt_cache_fields: Accepts ``prompt_cache_key`` and
            ``prompt_cache_retention`` (api.openai.com and Azure's modern APIs).
    """

    supports_strict: bool = True
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    supports_stream_usage: bool = True
    unsupported_settings: frozenset[str] = frozenset()
    reasoning_history_field: str | None = None
    prompt_cache_fields: bool = True


_API = "Chat Completions"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]")

# -- neutral -> wire --------------------------------------------------------------------------


def _unsupported(what: str, provider: str, model_id: str) -> UnsupportedFeatureError:
    return unsupported_content(what, api=_API, provider=provider, model_id=model_id)


def _image_url(part: ImagePart) -> ChatContentPart:
    if part.url is not None:
        return {"type": "image_url", "image_url": {"url": part.url}}
    data = base64.b64encode(part.data or b"").decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{part.media_type};base64,{data}"}}


_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}


def _audio(part: AudioPart, provider: str, model_id: str) -> ChatContentPart:
    audio_format = _AUDIO_FORMATS.get(part.media_type)
    if audio_format is None:
        raise _unsupported(
            f"audio of type {part.media_type} (only wav and mp3)", provider, model_id
        )
    data = base64.b64encode(part.data).decode("ascii")
    return {"type": "input_audio", "input_audio": {"data": data, "format": audio_format}}


def _tool_message(
    result: ToolResultPart, provider: str, warnings: list[RunWarning | None]
) -> ChatMessage:
    text, notes = tool_result_text(result, api=_API, provider=provider)
    warnings += notes
    return {"role": "tool", "tool_call_id": result.call_id, "content": text}


def _content(parts: list[ChatContentPart]) -> str | list[ChatContentPart]:
    # A lone text part goes as a plain string: every compatible host accepts that.
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _tool_call(part: ToolCallPart) -> ChatToolCall:
    # Invalid arguments are replayed verbatim, so the model sees what it sent.
    arguments = part.raw_arguments if part.raw_arguments is not None else dumps(part.arguments)
    return {
        "id": part.id,
        "type": "function",
        "function": {"name": part.name, "arguments": arguments},
    }


def to_openai_messages(
    messages: Sequence[Message],
    *,
    provider: str,
    model_id: str,
    reasoning_field: str | None = None,
) -> tuple[list[ChatMessage], list[RunWarning]]:
    """Neutral messages to Chat Completions ``messages``.

    Each ``ToolResultPart`` becomes its own ``role: "tool"`` message; in a
    user message, those come before the user's other content, as OpenAI wants
    tool results right after the assistant's calls.

    Args:
        messages: The conversation.
        provider: Provider name, for warnings and errors.
        model_id: The model asked, for errors.
        reasoning_field: When set, this provider's own reasoning text goes back
            on the assistant message under this key (``OpenAIQuirks``).

    Returns:
        The wire messages and any warnings.

    Raises:
        UnsupportedFeatureError: an image outside a user message, audio that is
            not wav/mp3, a binary resource in a user message, or a part in a
            role that cannot hold it.
    """
    out: list[ChatMessage] = []
    notes: _Notes = []
    for message in messages:
        _convert_into(out, notes, message, provider, model_id, reasoning_field)
    return out, _said_once(notes, provider) if notes else []


#: Warnings in the order they arose, with None where reasoning was left out
#: (a request says that once: ``_said_once``).
_Notes = list[RunWarning | None]
#: One message's Chat Completions form: its wire messages and its notes.
_Form = tuple[list[ChatMessage], _Notes]


def _said_once(notes: _Notes, provider: str) -> list[RunWarning]:
    warnings: list[RunWarning] = []
    reasoning_dropped = False
    for note in notes:
        if note is not None:
            warnings.append(note)
        elif not reasoning_dropped:
            reasoning_dropped = True
            warnings.append(
                reasoning_left_out(why=f"{_API} has no way to send it back", provider=provider)
            )
    return warnings


#: The forms of the messages requests have sent, while those messages live.
_FORMS: MessageForms[_Form] = MessageForms()

#: Conversations shorter than this are converted afresh: remembering a form
#: (a weak reference and its entry) costs about a third of converting the
#: message, and a short run sends most of its messages once or twice
#: (callgrind, to_openai_request over a run of 2 calls: 102k instructions
#: fresh, 136k remembered; of 11 calls: 1.87M fresh, 1.49M remembered).
REMEMBER_FROM = 8


def _remembered(
    messages: Sequence[Message], provider: str, model_id: str, reasoning_field: str | None
) -> tuple[list[ChatMessage], list[RunWarning]]:
    """``to_openai_messages``, each message converted once for all the calls that send it."""
    out: list[ChatMessage] = []
    notes: _Notes = []
    build = functools.partial(
        _form, provider=provider, model_id=model_id, reasoning_field=reasoning_field
    )
    options = (provider, reasoning_field)
    for message in messages:
        parts = message.parts
        if message.role != "tool" and len(parts) == 1 and type(parts[0]) is TextPart:
            # A lone text part converts faster than it is looked up.
            out.append({"role": message.role, "content": parts[0].text})
        else:
            wire, more = _FORMS.get(message, options, build)
            out += wire
            notes += more
    return out, _said_once(notes, provider)


def _form(message: Message, provider: str, model_id: str, reasoning_field: str | None) -> _Form:
    """``message`` on this wire, on its own."""
    out: list[ChatMessage] = []
    notes: _Notes = []
    _convert_into(out, notes, message, provider, model_id, reasoning_field)
    return out, notes


def _convert_into(
    out: list[ChatMessage],
    warnings: _Notes,
    message: Message,
    provider: str,
    model_id: str,
    reasoning_field: str | None,
) -> None:
    """Append ``message``'s wire messages to ``out`` and its notes to ``warnings``."""
    role = message.role
    if role != "tool" and len(message.parts) == 1 and type(message.parts[0]) is TextPart:
        # Most messages are one text part: skip the general path.
        out.append({"role": role, "content": message.parts[0].text})
        return
    content: list[ChatContentPart] = []
    calls: list[ChatToolCall] = []
    results: list[ChatMessage] = []
    reasoning: list[str] = []
    part: Part
    for part in message.parts:
        # The common parts by exact type first, without the match below,
        # which tries its class patterns one after another for each part.
        if type(part) is TextPart:
            content.append({"type": "text", "text": part.text})
            continue
        if type(part) is ToolResultPart:
            results.append(_tool_message(part, provider, warnings))
            continue
        if type(part) is ToolCallPart and role == "assistant":
            calls.append(_tool_call(part))
            continue
        match part:
            case TextPart():
                content.append({"type": "text", "text": part.text})
            case ToolResultPart():
                results.append(_tool_message(part, provider, warnings))
            case ToolCallPart() if role == "assistant":
                calls.append(_tool_call(part))
            case ReasoningPart() if (
                reasoning_field and role == "assistant" and part.provider == provider
            ):
                reasoning.append(part.text or "")
            case ReasoningPart():
                warnings.append(None)  # left out: said once per request (_said_once)
            case ImagePart() if role == "user":
                content.append(_image_url(part))
            case AudioPart() if role == "user":
                content.append(_audio(part, provider, model_id))
            case ResourcePart() if role in ("user", "system") and part.data is None:
                content.append({"type": "text", "text": resource_text(part) or ""})
            case ToolCallPart() | ImagePart() | AudioPart() | ResourcePart():
                raise _unsupported(f"a {part.type} part in a {role} message", provider, model_id)
            case _:
                assert_never(part)
    if role == "tool":
        if content:
            raise _unsupported("text outside a tool result in a tool message", provider, model_id)
        out.extend(results)
    elif role == "assistant":
        text = "".join(p["text"] for p in content)
        assistant: ChatMessage = {"role": "assistant", "content": text or None}
        if calls:
            assistant["tool_calls"] = calls
        elif not text:
            assistant["content"] = ""
        if reasoning and reasoning_field:
            assistant[reasoning_field] = "".join(reasoning)  # type: ignore[literal-required]
        out.append(assistant)
        out.extend(results)
    else:
        out.extend(results)
        if content or not results:
            out.append({"role": role, "content": _content(content) if content else ""})


@memo_by_tools
def to_openai_tools(
    tools: Sequence[ToolDefinition],
    *,
    strict_mode: bool,
    provider: str = "openai",
    allow_lossy: bool = False,
) -> tuple[list[ChatTool], list[RunWarning]]:
    """Tool definitions to Chat Completions ``tools``.

    Each schema goes through the strict-mode rule shared with the Responses
    API (``compile_openai_schema``); its changes come back as warnings.

    Args:
        tools: The tools the model may call.
        strict_mode: The host has strict mode (``strict: true`` is sent for
            the schemas it can take).
        provider: Provider name, for warnings.
        allow_lossy: Accept compiler changes that alter which values are valid.

    Returns:
        The wire tools, and a warning for each schema change and for each name
        OpenAI is likely to reject (letters, digits, ``_`` and ``-``, at most 64).

    Raises:
        SchemaCompileError: a schema needs a lossy change and ``allow_lossy`` is off.
    """
    out: list[ChatTool] = []
    warnings: list[RunWarning] = []
    for tool in tools:
        function: FunctionDefinition = {"name": tool.name}
        description = tool.description or tool.title
        if description:
            function["description"] = description
        compiled, notes = compile_openai_schema(
            tool.input_schema,
            name=tool.name,
            allow_lossy=allow_lossy,
            strict=strict_mode,
            provider=provider,
        )
        warnings += notes
        function["parameters"] = compiled.schema
        if compiled.strict:
            function["strict"] = True
        out.append({"type": "function", "function": function})
        if not _NAME.fullmatch(tool.name):
            warnings.append(
                RunWarning(
                    kind="unsupported_feature",
                    feature="tool_name",
                    message=f"tool name {tool.name!r} may be rejected: OpenAI allows letters, "
                    "digits, _ and -, at most 64 characters",
                )
            )
    return out, warnings


#: A ``PromptCache.ttl`` above this many seconds asks for OpenAI's extended
#: retention (``"24h"``); the default in-memory cache lives minutes, up to an hour.
EXTENDED_RETENTION_AFTER = 3600


def openai_cache_fields(
    request: ModelRequest, *, supported: bool, provider: str, retention: bool = True
) -> tuple[dict[str, Any], list[RunWarning]]:
    """``prompt_cache_key`` (and ``prompt_cache_retention``) for ``request``'s caching.

    OpenAI caches every prompt of 1,024 tokens or more by itself; the key
    keeps the calls of one agent on one cache machine, which is what makes
    the automatic cache hit under load. Shared by Chat Completions and Responses.

    Args:
        request: The neutral request; nothing is returned unless its
            settings ask for caching.
        supported: The host takes these fields; if not, a warning says the
            setting was not sent.
        provider: For the warnings.
        retention: The host takes ``prompt_cache_retention``.

    Returns:
        The body fields and the warnings.
    """
    cache = prompt_cache_of(request.settings)
    if cache is None:
        return {}, []
    if not supported:
        why = f"{provider} takes no prompt_cache_key (a prefix cache of its own, if any, applies)"
        return {}, [setting_not_sent("prompt_cache", why=why, provider=provider)]
    fields: dict[str, Any] = {"prompt_cache_key": cache.key or prefix_key(request)}
    warnings: list[RunWarning] = []
    if cache.ttl is not None and cache.ttl > EXTENDED_RETENTION_AFTER:
        if retention:
            fields["prompt_cache_retention"] = "24h"
        else:
            why = f"{provider} takes no prompt_cache_retention (it keeps caches as long as it will)"
            warnings.append(setting_not_sent("prompt_cache.ttl", why=why, provider=provider))
    return fields, warnings


#: The settings sent as body fields of their own name (max_tokens under the
#: host's name for it), in the order a body has them.
_SAMPLING = ("max_tokens", "temperature", "top_p", "stop", "seed", "reasoning_effort")
_NOTHING_SET = (None,) * len(_SAMPLING)


def to_openai_request(
    request: ModelRequest,
    *,
    model_id: str,
    stream: bool,
    quirks: OpenAIQuirks = OpenAIQuirks(),
    provider: str = "openai",
) -> tuple[ChatRequest, list[RunWarning]]:
    """A whole ``POST /chat/completions`` body for ``request``.

    ``settings.extra`` is merged last, so it may override anything. The
    ``timeout`` setting is the adapter's business and is not in the body.

    Args:
        request: The neutral request.
        model_id: The model to ask.
        stream: Ask for an SSE stream (with usage, when the host supports it).
        quirks: How the host departs from OpenAI.
        provider: Provider name, for warnings and errors.

    Returns:
        The body and the warnings of everything that could not be sent. Read
        it, do not change it: in a long conversation its message objects are
        the remembered forms later calls send again (``MessageForms``).

    Raises:
        UnsupportedFeatureError: from ``to_openai_messages``.
    """
    field = quirks.reasoning_history_field
    if len(request.messages) < REMEMBER_FROM:
        messages, warnings = to_openai_messages(
            request.messages, provider=provider, model_id=model_id, reasoning_field=field
        )
    else:
        messages, warnings = _remembered(request.messages, provider, model_id, field)
    body: ChatRequest = {"model": model_id, "messages": messages}
    settings = request.settings
    skip = quirks.unsupported_settings
    if request.tools:
        tools, tool_warnings = to_openai_tools(
            request.tools,
            strict_mode=quirks.supports_strict,
            provider=provider,
            allow_lossy=request.allow_lossy_schemas,
        )
        body["tools"] = tools
        warnings += tool_warnings
        choice = request.tool_choice
        if choice is not None:
            body["tool_choice"] = (
                choice
                if choice in ("auto", "none", "required")
                else {"type": "function", "function": {"name": choice}}
            )
        if settings.parallel_tool_calls is not None:
            if "parallel_tool_calls" in skip:
                warnings.append(
                    setting_not_sent(
                        "parallel_tool_calls",
                        why=f"{provider} does not accept it",
                        provider=provider,
                    )
                )
            else:
                body["parallel_tool_calls"] = settings.parallel_tool_calls
    elif request.tool_choice not in (None, "auto", "none"):
        why = f"{request.tool_choice!r} names no tool of this request, which has none"
        warnings.append(setting_not_sent("tool_choice", why=why, provider=provider))
    if request.output_schema is not None:
        name = _NOT_NAME.sub("_", request.output_name)[:64] or "output"
        compiled, notes = compile_openai_schema(
            request.output_schema,
            name=name,
            allow_lossy=request.allow_lossy_schemas,
            strict=quirks.supports_strict,
            output=True,
            provider=provider,
        )
        warnings += notes
        json_schema: dict[str, Any] = {"name": name, "schema": compiled.schema}
        if compiled.strict:
            json_schema["strict"] = True
        body["response_format"] = {"type": "json_schema", "json_schema": json_schema}
    values = (
        settings.max_tokens,
        settings.temperature,
        settings.top_p,
        settings.stop,
        settings.seed,
        settings.reasoning_effort,
    )
    if values != _NOTHING_SET:  # most agents set none of them: one comparison
        for name, value in zip(_SAMPLING, values, strict=True):
            if value is None:
                continue
            if name in skip:
                warnings.append(
                    setting_not_sent(name, why=f"{provider} does not accept it", provider=provider)
                )
            else:
                key = quirks.max_tokens_field if name == "max_tokens" else name
                body[key] = value  # type: ignore[literal-required]
    if settings.prompt_cache is not None and settings.prompt_cache is not False:
        cache_fields, cache_warnings = openai_cache_fields(
            request, supported=quirks.prompt_cache_fields, provider=provider
        )
        body.update(cache_fields)  # type: ignore[typeddict-item]
        warnings += cache_warnings
    if stream:
        body["stream"] = True
        if quirks.supports_stream_usage:
            body["stream_options"] = {"include_usage": True}
    if settings.extra:
        body.update(settings.extra)  # type: ignore[typeddict-item]
    return body, warnings
