"""Pieces every request converter needs, written once: public through ``agentkit.adapter``.

Whatever the wire, an adapter meets the same few situations: a tool result
holds an image but the API takes text, a resource is a link, reasoning from
another provider cannot be sent back, a setting has no place in the body.
These helpers give each one the same form and the same words in every
adapter, ours and third parties', so a user reads one warning, not five
dialects of it. Pure: no I/O, no state.
"""

from __future__ import annotations

import json
from typing import assert_never

from ._messages import AudioPart, ImagePart, ResourcePart, TextPart, ToolResultPart
from ._model import RunWarning
from .exceptions import UnsupportedFeatureError

__all__ = [
    "reasoning_left_out",
    "resource_text",
    "setting_not_sent",
    "tool_result_text",
    "unsupported_content",
]


def resource_text(part: ResourcePart) -> str | None:
    """A resource as text: its embedded text, ``[resource: <uri>]`` for a bare link.

    Returns:
        The text, or None for a binary resource (which text cannot stand for).
    """
    if part.text is not None:
        return part.text
    return None if part.data is not None else f"[resource: {part.uri}]"


def tool_result_text(
    result: ToolResultPart, *, api: str, provider: str | None = None
) -> tuple[str, list[RunWarning]]:
    """A tool result flattened to the text an API that takes text results can carry.

    Text blocks and text resources are joined with newlines. An image, audio
    or binary resource becomes a placeholder and a warning rather than an
    error, so one MCP tool returning a picture does not end the run. A result
    with no text but ``structured_content`` is sent as that JSON.

    Args:
        result: The tool result.
        api: The API's name for the warning, e.g. ``"Chat Completions"``.
        provider: Provider name for the warning.

    Returns:
        The text and one ``unsupported_feature`` warning per placeholder.
    """
    blocks = result.content
    if len(blocks) == 1 and type(blocks[0]) is TextPart:
        return blocks[0].text, []  # the common case, without the general path
    texts: list[str] = []
    warnings: list[RunWarning] = []
    for block in blocks:
        match block:
            case TextPart():
                texts.append(block.text)
            case ResourcePart() if (text := resource_text(block)) is not None:
                texts.append(text)
            case ImagePart() | AudioPart() | ResourcePart():
                texts.append(f"[{block.type} omitted: tool results are sent as text]")
                article = "an" if block.type[0] in "aeiou" else "a"
                warnings.append(
                    RunWarning(
                        kind="unsupported_feature",
                        feature=f"tool_result_{block.type}",
                        provider=provider,
                        message=f"{article} {block.type} in the result of tool call "
                        f"{result.call_id} was replaced by a placeholder: {api} takes tool "
                        "results as text",
                    )
                )
            case _:
                assert_never(block)
    if not texts and result.structured_content is not None:
        texts.append(json.dumps(result.structured_content))
    return "\n".join(texts), warnings


def unsupported_content(
    what: str, *, api: str, provider: str, model_id: str
) -> UnsupportedFeatureError:
    """The error for content an API cannot carry at all (the caller raises it).

    Args:
        what: What could not be sent, e.g. ``"an image in a system message"``.
        api: The API's name, e.g. ``"Gemini"``.
        provider: Provider name.
        model_id: The model asked.
    """
    return UnsupportedFeatureError(
        f"{what} cannot be sent to {api}", provider=provider, model_id=model_id
    )


def reasoning_left_out(*, why: str, provider: str | None = None) -> RunWarning:
    """The warning for earlier reasoning a request leaves out (say it once per request).

    Args:
        why: Why this API cannot take it back.
        provider: Provider name.
    """
    return RunWarning(
        kind="unsupported_feature",
        feature="reasoning",
        provider=provider,
        message=f"earlier reasoning was left out: {why}",
    )


def setting_not_sent(name: str, *, why: str, provider: str | None = None) -> RunWarning:
    """The warning for a setting the request could not carry (or carried differently).

    Args:
        name: The setting, e.g. ``"seed"``.
        why: What happened instead, or why the API has no place for it.
        provider: Provider name.
    """
    return RunWarning(
        kind="unsupported_setting",
        feature=name,
        provider=provider,
        message=f"the setting {name} was not sent as given: {why}",
    )
