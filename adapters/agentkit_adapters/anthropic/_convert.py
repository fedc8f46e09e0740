"""Pure conversion of agentkit's neutral request into an Anthropic Messages body.

No I/O, no environment, no state: neutral values and keyword switches in,
vendor JSON and warnings out (the way back is ``_parse.py``). The same body
serves Claude on Vertex (``rawPredict``): ``include_model=False`` and
``anthropic_version="vertex-2023-10-16"`` (case ``vertex/claude_rawpredict_json``).

Decisions worth knowing:

- System messages become the top-level ``system`` blocks, wherever they sit.
  Tool messages become ``user`` turns of ``tool_result`` blocks; consecutive
  turns of one role are merged, with ``tool_result`` blocks first, as the
  API wants them right after the assistant's ``tool_use``.
- Reasoning goes back only to the provider that made it: a ``ReasoningPart``
  stamped with this provider and holding a signature is sent unchanged, as a
  ``thinking`` block (text and signature) or, when it has no text, as a
  ``redacted_thinking`` block (the signature is its opaque ``data``), provided
  a Claude model made it (``vertex`` names Gemini too). Any other reasoning
  part is left out, with one warning per request.
- ``max_tokens`` is required: the settings' value, else the model family's
  default (``claude_profile``). ``reasoning_effort`` becomes a thinking
  budget; ``seed`` has no Anthropic form and comes back as a warning. With
  thinking on, the API refuses a forced tool, a ``temperature`` other than 1
  and a ``top_p`` below 0.95: the thinking, or the setting, is left out with
  a warning. Claude Opus 4.1, Sonnet 4.5 and later refuse ``temperature``
  and ``top_p`` together: ``top_p`` is left out, with a warning.
- With ``settings.prompt_cache`` (or ``cache=True``), ``cache_control:
  {"type": "ephemeral"}`` marks the stable prefix: the last tool, the last
  system block and the last block of the last message (three of the four
  breakpoints the API allows), as in case
  ``parallel_tool_use_json_then_tool_result``. The mark on the last message
  moves forward each turn, so each call reads what the one before wrote. A
  ``PromptCache.ttl`` above five minutes asks for the one-hour cache
  (``"ttl": "1h"``), the longest there is.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Literal, assert_never

from agentkit import (
    AudioPart,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    ResourcePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from agentkit.adapter import ModelRequest, RunWarning, prompt_cache_of, reasoning_left_out
from agentkit.exceptions import UnsupportedFeatureError

from ._profile import claude_profile
from ._schemas import to_anthropic_output_schema, to_anthropic_tools
from ._wire import CacheControl, ContentBlock, MessageParam, MessagesRequest, TextBlock, ToolChoice

__all__ = [
    "ANTHROPIC_VERSION",
    "THINKING_BUDGETS",
    "VERTEX_ANTHROPIC_VERSION",
    "to_anthropic_messages",
    "to_anthropic_request",
]

#: The ``anthropic-version`` header value for api.anthropic.com.
ANTHROPIC_VERSION = "2023-06-01"
#: The body's ``anthropic_version`` on Vertex AI.
VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
#: ``reasoning_effort`` to ``thinking.budget_tokens`` (the API's floor is 1024).
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}

#: The only values the API takes with thinking on: ``(lowest, in words)``.
_WITH_THINKING = {"temperature": (1.0, "at 1"), "top_p": (0.95, "from 0.95 to 1")}


#: Room left for the answer when a thinking budget raises the default ``max_tokens``.
_ANSWER_ROOM = 4096
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_DATA_URL = re.compile(r"data:(image/[\w.+-]+);base64,(.*)", re.DOTALL)
_EPHEMERAL = {"type": "ephemeral"}
#: The default cache lives five minutes; a longer ``PromptCache.ttl`` asks for an hour.
_SHORT_TTL = 300
#: Blocks that cannot carry ``cache_control``.
_UNCACHEABLE = frozenset({"thinking", "redacted_thinking"})


def _unsupported(what: str, provider: str, model_id: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{what} cannot be sent over the Anthropic Messages API",
        provider=provider,
        model_id=model_id,
    )


def _image(part: ImagePart, provider: str, model_id: str) -> ContentBlock:
    if part.url is not None:
        inline = _DATA_URL.fullmatch(part.url)
        if inline is None:
            return {"type": "image", "source": {"type": "url", "url": part.url}}
        media_type, data = inline[1], inline[2]
    else:
        media_type = part.media_type or ""
        data = base64.b64encode(part.data or b"").decode("ascii")
    if media_type not in _IMAGE_TYPES:
        raise _unsupported(
            f"an image of type {media_type!r} (only JPEG, PNG, GIF and WebP)", provider, model_id
        )
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _resource(part: ResourcePart, provider: str, model_id: str) -> ContentBlock | None:
    """A resource as a block: its text, an image or PDF, or a link; None if it has no form."""
    if part.text is not None:
        return {"type": "text", "text": part.text}
    if part.data is None:
        return {"type": "text", "text": f"[resource: {part.uri}]"}
    media_type = part.media_type or ""
    if media_type in _IMAGE_TYPES:
        return _image(ImagePart(data=part.data, media_type=media_type), provider, model_id)
    if media_type == "application/pdf":
        data = base64.b64encode(part.data).decode("ascii")
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "document", "source": source}
    return None


def _tool_result(
    result: ToolResultPart, provider: str, model_id: str, warnings: list[RunWarning]
) -> ContentBlock:
    content: list[ContentBlock] = []
    for block in result.content:
        match block:
            case TextPart():
                if block.text:
                    content.append({"type": "text", "text": block.text})
            case ImagePart():
                content.append(_image(block, provider, model_id))
            case ResourcePart() if (converted := _resource(block, provider, model_id)) is not None:
                content.append(converted)
            case AudioPart() | ResourcePart():
                content.append(
                    {"type": "text", "text": f"[{block.type} omitted: Claude cannot read it]"}
                )
                warnings.append(
                    RunWarning(
                        kind="unsupported_feature",
                        feature=f"tool_result_{block.type}",
                        provider=provider,
                        message=f"a {block.type} in the result of tool call {result.call_id} "
                        "was replaced by a placeholder: Claude takes text, images and PDFs",
                    )
                )
            case _:
                assert_never(block)
    if not content and result.structured_content is not None:
        content.append({"type": "text", "text": json.dumps(result.structured_content)})
    wire: ContentBlock = {"type": "tool_result", "tool_use_id": result.call_id}
    if content:
        wire["content"] = content
    if result.is_error:
        wire["is_error"] = True
    return wire


def _made_by_claude(part: ReasoningPart) -> bool:
    # One provider name can serve several model families: on Vertex, "vertex" is both
    # Claude and Gemini, and a Gemini thoughtSignature is no Claude thinking signature.
    return part.model is None or "claude" in part.model.lower()


def _reasoning(part: ReasoningPart) -> ContentBlock:
    if part.text is None:
        return {"type": "redacted_thinking", "data": part.signature}
    return {"type": "thinking", "thinking": part.text, "signature": part.signature}


def _blocks(
    message: Message,
    provider: str,
    model_id: str,
    warnings: list[RunWarning],
    dropped: list[str],
) -> list[ContentBlock]:
    role = message.role
    out: list[ContentBlock] = []
    part: Part
    for part in message.parts:
        match part:
            case TextPart():
                if part.text:  # the API refuses empty text blocks
                    out.append({"type": "text", "text": part.text})
            case ToolResultPart() if role in ("tool", "user"):
                out.append(_tool_result(part, provider, model_id, warnings))
            case ToolCallPart() if role == "assistant":
                # tool_use.input must be an object: arguments that were not one go back
                # as {} (the tool result the runner sends says what was wrong).
                out.append(
                    {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}
                )
            case ReasoningPart() if (
                role == "assistant"
                and part.provider == provider
                and part.signature
                and _made_by_claude(part)
            ):
                out.append(_reasoning(part))
            case ReasoningPart():
                dropped.append(part.provider or "unknown")
            case ImagePart() if role == "user":
                out.append(_image(part, provider, model_id))
            case ResourcePart() if (
                role in ("user", "system")
                and (wire := _resource(part, provider, model_id)) is not None
            ):
                out.append(wire)
            case ToolCallPart() | ToolResultPart() | ImagePart() | AudioPart() | ResourcePart():
                raise _unsupported(f"a {part.type} part in a {role} message", provider, model_id)
            case _:
                assert_never(part)
    return out


def to_anthropic_messages(
    messages: Sequence[Message], *, provider: str = "anthropic", model_id: str = ""
) -> tuple[list[TextBlock], list[MessageParam], list[RunWarning]]:
    """Neutral messages to ``system`` blocks and ``messages`` turns.

    Args:
        messages: The conversation.
        provider: This adapter's provider name: reasoning stamped with it is
            sent back, any other is left out.
        model_id: The model asked, for errors.

    Returns:
        The system blocks, the turns (same-role neighbours merged) and warnings.

    Raises:
        UnsupportedFeatureError: audio outside a tool result, an image type
            Claude does not read, or a part in a role that cannot hold it.
    """
    system: list[TextBlock] = []
    turns: list[MessageParam] = []
    warnings: list[RunWarning] = []
    dropped: list[str] = []
    for message in messages:
        if message.role == "system":
            for block in _blocks(message, provider, model_id, warnings, dropped):
                if block["type"] != "text":
                    what = f"a {block['type']} block in a system message"
                    raise _unsupported(what, provider, model_id)
                system.append({"type": "text", "text": block["text"]})
            continue
        role: Literal["user", "assistant"] = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message, provider, model_id, warnings, dropped)
        if not blocks:
            continue  # an empty turn is refused; nothing is lost by leaving it out
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":
            # tool_result blocks first: they must follow the assistant's tool_use directly.
            turn["content"].sort(key=lambda b: b["type"] != "tool_result")
    if dropped:
        makers = ", ".join(sorted(set(dropped)))
        why = f"only signed thinking a Claude model made on {provider} can be sent back to it "
        warnings.append(
            reasoning_left_out(why=f"{why}(left out: reasoning from {makers})", provider=provider)
        )
    return system, turns, warnings


def _one_sampler_only(version: tuple[int, int] | None) -> bool:
    # Claude Opus 4.1, Sonnet 4.5 and every later model refuse temperature with top_p.
    return version is not None and version >= (4, 1)


def _setting_warning(name: str, provider: str, why: str) -> RunWarning:
    return RunWarning(kind="unsupported_setting", feature=name, provider=provider, message=why)


def _tool_choice(
    request: ModelRequest, provider: str, warnings: list[RunWarning]
) -> ToolChoice | None:
    choice = request.tool_choice
    parallel = request.settings.parallel_tool_calls
    if not request.tools:
        if choice not in (None, "auto", "none"):
            why = f"tool_choice {choice!r} was not sent: there are no tools"
            warnings.append(_setting_warning("tool_choice", provider, why))
        return None
    wire: ToolChoice
    if choice is None or choice == "auto":
        if parallel is None:
            return None
        wire = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        wire = {"type": "any"}
    else:
        wire = {"type": "tool", "name": choice}
    if parallel is not None:
        wire["disable_parallel_tool_use"] = not parallel
    return wire


def _mark_cache(body: MessagesRequest, ttl: int | None) -> None:
    mark: CacheControl = {"type": "ephemeral"}
    if ttl is not None and ttl > _SHORT_TTL:
        mark["ttl"] = "1h"
    tools = body.get("tools")
    if tools:
        tools[-1]["cache_control"] = mark.copy()
    system = body.get("system")
    if system:
        system[-1]["cache_control"] = mark.copy()
    # The last block that can carry the mark (thinking blocks cannot).
    for turn in reversed(body.get("messages") or []):
        for block in reversed(turn["content"]):
            if block.get("type") not in _UNCACHEABLE:
                block["cache_control"] = mark.copy()
                return


def to_anthropic_request(
    request: ModelRequest,
    *,
    model_id: str,
    stream: bool,
    provider: str = "anthropic",
    include_model: bool = True,
    anthropic_version: str | None = None,
    cache: bool = False,
) -> tuple[MessagesRequest, list[RunWarning]]:
    """A whole ``POST /v1/messages`` body for ``request``.

    ``settings.extra`` is merged last, so it may override anything (a
    ``thinking`` of your own, ``top_k``, ``metadata``, a top-level
    ``cache_control`` for automatic caching). The ``timeout`` setting is the
    adapter's business and is not in the body.

    Args:
        request: The neutral request.
        model_id: The model to ask (also picks the ``max_tokens`` default).
        stream: Ask for an SSE stream.
        provider: Provider name, for warnings, errors and which reasoning goes back.
        include_model: Put ``model`` in the body (Vertex names it in the URL instead).
        anthropic_version: Put this ``anthropic_version`` in the body (Vertex);
            None leaves it to the ``anthropic-version`` header.
        cache: Mark the stable prefix with ``cache_control`` breakpoints even
            when ``settings.prompt_cache`` does not ask for it (the adapter's
            ``prompt_cache`` option).

    Returns:
        The body and the warnings of everything that could not be sent as asked.

    Raises:
        UnsupportedFeatureError: from ``to_anthropic_messages``.
        SchemaCompileError: the output schema has an open object and the
            request does not allow lossy schemas.
    """
    system, turns, warnings = to_anthropic_messages(
        request.messages, provider=provider, model_id=model_id
    )
    settings = request.settings
    profile = claude_profile(model_id)
    body: MessagesRequest = {}
    if include_model:
        body["model"] = model_id
    if anthropic_version is not None:
        body["anthropic_version"] = anthropic_version
    body["max_tokens"] = settings.max_tokens or profile.default_max_tokens
    body["messages"] = turns
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = to_anthropic_tools(request.tools)
    choice = _tool_choice(request, provider, warnings)
    if choice is not None:
        body["tool_choice"] = choice
    if settings.reasoning_effort is not None:
        if profile.version is not None and not profile.thinking:
            why = f"reasoning_effort was not sent: {model_id} has no extended thinking"
            warnings.append(_setting_warning("reasoning_effort", provider, why))
        else:
            _thinking(body, request, settings.max_tokens, provider, warnings)
    if request.output_schema is not None:
        schema, schema_warnings = to_anthropic_output_schema(
            request.output_schema, provider=provider, allow_lossy=request.allow_lossy_schemas
        )
        warnings += schema_warnings
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    for name, value in (("temperature", settings.temperature), ("top_p", settings.top_p)):
        if value is None:
            continue
        lowest, words = _WITH_THINKING[name]
        if name == "top_p" and "temperature" in body and _one_sampler_only(profile.version):
            # The API refuses the pair with a 400; temperature is the setting kept.
            why = f"top_p {value} was not sent: {model_id} takes temperature or top_p, not both"
            warnings.append(_setting_warning(name, provider, why))
        elif "thinking" in body and value < lowest:
            # The API refuses the request otherwise; the thinking was asked for explicitly.
            why = f"{name} {value} was not sent: with thinking, Claude takes it only {words}"
            warnings.append(_setting_warning(name, provider, why))
        else:
            body[name] = value  # type: ignore[literal-required]
    if settings.stop:
        body["stop_sequences"] = list(settings.stop)
    if settings.seed is not None:
        warnings.append(
            _setting_warning("seed", provider, "the Messages API has no seed; it was not sent")
        )
    if stream:
        body["stream"] = True
    asked = prompt_cache_of(settings)
    if cache or asked is not None:
        _mark_cache(body, asked.ttl if asked is not None else None)
    if settings.extra:
        body.update(settings.extra)  # type: ignore[typeddict-item]
    return body, warnings


def _thinking(
    body: MessagesRequest,
    request: ModelRequest,
    max_tokens: int | None,
    provider: str,
    warnings: list[RunWarning],
) -> None:
    effort = request.settings.reasoning_effort
    assert effort is not None
    if request.tools and request.tool_choice not in (None, "auto", "none"):
        # The API refuses thinking with a forced tool (tool_choice any/tool).
        warnings.append(
            _setting_warning(
                "reasoning_effort",
                provider,
                f"reasoning_effort was not sent: Claude cannot think while tool_choice "
                f"{request.tool_choice!r} forces a tool",
            )
        )
        return
    budget = THINKING_BUDGETS[effort]
    if max_tokens is None:
        # The default leaves room for the answer after the budget.
        body["max_tokens"] = max(body["max_tokens"], budget + _ANSWER_ROOM)
    elif budget >= max_tokens:
        if max_tokens <= THINKING_BUDGETS["minimal"]:
            warnings.append(
                _setting_warning(
                    "reasoning_effort",
                    provider,
                    f"reasoning_effort was not sent: max_tokens {max_tokens} leaves no room "
                    "for Claude's smallest thinking budget (1024)",
                )
            )
            return
        budget = max(THINKING_BUDGETS["minimal"], max_tokens // 2)
        warnings.append(
            _setting_warning(
                "reasoning_effort",
                provider,
                f"reasoning_effort {effort!r} was sent as a thinking budget of {budget} "
                f"tokens, half of max_tokens {max_tokens} (the budget must be smaller)",
            )
        )
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
