"""Pure conversions between A2A parts (the SDK's protobuf types) and agentkit's.

A2A v1.0 has one ``Part`` with exactly one of ``text``, ``data`` (any JSON
value), ``raw`` (bytes) or ``url``, plus ``media_type`` and ``filename``.
agentkit's parts are typed per kind; these functions map one onto the other
and do no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from a2a.types import Artifact, Part
from google.protobuf import json_format, struct_pb2

from .._messages import ContentBlock, ImagePart, Message, ResourcePart, TextPart, ToolResultPart

__all__ = [
    "data_part",
    "from_a2a_message",
    "from_a2a_part",
    "from_artifacts",
    "part_data",
    "text_part",
]


def text_part(text: str) -> Part:
    """An A2A text part."""
    return Part(text=text, media_type="text/plain")


def data_part(value: Any) -> Part:
    """An A2A data part holding the JSON value ``value``."""
    return Part(
        data=json_format.ParseDict(value, struct_pb2.Value()), media_type="application/json"
    )


def _whole_numbers(value: Any) -> Any:
    # protobuf's Value keeps every number as a double: 18 travels as 18.0.
    # JSON cannot tell them apart either, so integral floats become ints again.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def part_data(part: Part) -> Any:
    """The JSON value of a data part (whole numbers as ints)."""
    return _whole_numbers(json_format.MessageToDict(part.data))


def from_a2a_part(part: Part) -> ContentBlock:
    """One A2A part as an agentkit content block.

    Text stays text; data becomes its JSON text (what a model can read);
    images (bytes or URL with an ``image/*`` media type) become image parts;
    other files become resources.
    """
    kind = part.WhichOneof("content")
    media_type = part.media_type or None
    name = part.filename or None
    if kind == "text":
        return TextPart(text=part.text)
    if kind == "data":
        return TextPart(text=json.dumps(part_data(part), ensure_ascii=False))
    if kind == "raw":
        if media_type and media_type.startswith("image/"):
            return ImagePart(data=part.raw, media_type=media_type)
        return ResourcePart(
            uri=f"a2a:file/{name or 'attachment'}", name=name, media_type=media_type, data=part.raw
        )
    if kind == "url":
        if media_type and media_type.startswith("image/"):
            return ImagePart(url=part.url, media_type=media_type)
        return ResourcePart(uri=part.url, name=name, media_type=media_type)
    return TextPart(text="")


def from_a2a_message(parts: Iterable[Part], role: str = "user") -> Message:
    """An A2A message's parts as one agentkit message (user or assistant)."""
    blocks = [from_a2a_part(p) for p in parts]
    if role == "assistant":
        return Message(role="assistant", parts=[b for b in blocks if isinstance(b, TextPart)])
    return Message(role="user", parts=blocks)


def from_artifacts(artifacts: Sequence[Artifact], name: str | None = None) -> ToolResultPart:
    """A remote task's artifacts as one tool result.

    Text parts become text content; the first data part holding a JSON
    object becomes the structured content (any other data is added as JSON
    text, so nothing is lost); files become images or resources.
    """
    content: list[ContentBlock] = []
    structured: dict[str, Any] | None = None
    for artifact in artifacts:
        for part in artifact.parts:
            if part.WhichOneof("content") == "data":
                value = part_data(part)
                if structured is None and isinstance(value, dict):
                    structured = value
                    continue
            content.append(from_a2a_part(part))
    if structured is not None and not any(isinstance(b, TextPart) for b in content):
        # A model that reads only text still sees the structured answer.
        content.insert(0, TextPart(text=json.dumps(structured, ensure_ascii=False)))
    return ToolResultPart(call_id="", name=name, content=content, structured_content=structured)
