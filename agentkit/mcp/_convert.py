"""Pure mappings between agentkit's neutral types and the MCP SDK's wire types.

No I/O, no state: a tool definition, a content block or a tool result goes
in, its counterpart comes out. The mapping is lossless for everything both
sides can express:

| agentkit                         | MCP                                          |
|----------------------------------|----------------------------------------------|
| ``TextPart``                     | ``TextContent``                              |
| ``ImagePart`` (data)             | ``ImageContent`` (base64 + mimeType)         |
| ``ImagePart`` (url)              | ``ResourceLink`` (MCP images carry bytes)    |
| ``AudioPart``                    | ``AudioContent``                             |
| ``ResourcePart`` (text)          | ``EmbeddedResource`` + ``TextResourceContents`` |
| ``ResourcePart`` (data)          | ``EmbeddedResource`` + ``BlobResourceContents`` |
| ``ResourcePart`` (neither)       | ``ResourceLink``                             |
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, assert_never

import mcp_types as mt

from .._messages import AudioPart, ContentBlock, ImagePart, ResourcePart, TextPart, ToolResultPart
from .._model import ToolDefinition

__all__ = [
    "from_mcp_content",
    "from_mcp_result",
    "from_mcp_tool",
    "to_mcp_content",
    "to_mcp_result",
    "to_mcp_result_wire",
    "to_mcp_tool",
]

McpContent = (
    mt.TextContent | mt.ImageContent | mt.AudioContent | mt.ResourceLink | mt.EmbeddedResource
)


def to_mcp_tool(definition: ToolDefinition) -> mt.Tool:
    """An agentkit tool definition as an MCP ``Tool`` (schemas, title, annotations kept)."""
    annotations = (
        mt.ToolAnnotations.model_validate(definition.annotations)
        if definition.annotations
        else None
    )
    return mt.Tool(
        name=definition.name,
        title=definition.title,
        description=definition.description,
        input_schema=definition.input_schema,
        output_schema=definition.output_schema,
        annotations=annotations,
    )


def from_mcp_tool(tool: mt.Tool, name: str | None = None) -> ToolDefinition:
    """An MCP ``Tool`` as an agentkit definition; schemas pass through unchanged.

    Args:
        tool: The server's tool.
        name: The name the model should see, when the server's name is not a
            valid agentkit tool name (see ``safe_tool_name``).
    """
    annotations = (
        tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else None
    )
    return ToolDefinition(
        name=name or tool.name,
        title=tool.title or (tool.annotations.title if tool.annotations else None),
        description=tool.description,
        input_schema=dict(tool.input_schema),
        output_schema=dict(tool.output_schema) if tool.output_schema is not None else None,
        annotations=annotations or None,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def to_mcp_content(part: ContentBlock) -> McpContent:
    """One agentkit content block as an MCP content block."""
    match part:
        case TextPart():
            return mt.TextContent(type="text", text=part.text)
        case ImagePart():
            if part.data is not None and part.media_type:
                return mt.ImageContent(
                    type="image", data=_b64(part.data), mime_type=part.media_type
                )
            url = part.url or ""
            return mt.ResourceLink(
                type="resource_link", uri=url, name=url, mime_type=part.media_type
            )
        case AudioPart():
            return mt.AudioContent(type="audio", data=_b64(part.data), mime_type=part.media_type)
        case ResourcePart():
            if part.text is not None:
                return mt.EmbeddedResource(
                    type="resource",
                    resource=mt.TextResourceContents(
                        uri=part.uri, mime_type=part.media_type, text=part.text
                    ),
                )
            if part.data is not None:
                return mt.EmbeddedResource(
                    type="resource",
                    resource=mt.BlobResourceContents(
                        uri=part.uri, mime_type=part.media_type, blob=_b64(part.data)
                    ),
                )
            return mt.ResourceLink(
                type="resource_link",
                uri=part.uri,
                name=part.name or part.uri,
                mime_type=part.media_type,
            )
        case _:
            assert_never(part)


def to_mcp_result(result: ToolResultPart) -> mt.CallToolResult:
    """An agentkit tool result as an MCP ``CallToolResult``."""
    return mt.CallToolResult(
        content=[to_mcp_content(block) for block in result.content],
        structured_content=result.structured_content,
        is_error=result.is_error,
    )


def to_mcp_result_wire(result: ToolResultPart) -> dict[str, Any]:
    """``to_mcp_result(result)`` as its wire dump (camelCase keys, no None fields).

    What a server handler may return instead of the model: the SDK validates
    and dumps either form the same way, so building the model only to dump it
    again is work on every call. Text blocks (nearly every result) are
    written directly; the other kinds go through their MCP model.
    """
    content = [
        {"type": "text", "text": block.text}
        if isinstance(block, TextPart)
        else to_mcp_content(block).model_dump(by_alias=True, mode="json", exclude_none=True)
        for block in result.content
    ]
    wire: dict[str, Any] = {"content": content}
    if result.structured_content is not None:
        wire["structuredContent"] = result.structured_content
    wire["isError"] = result.is_error
    wire["resultType"] = "complete"
    return wire


def _decode(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def from_mcp_content(block: Any) -> ContentBlock:
    """One MCP content block as an agentkit content block.

    Bytes that are not valid base64 become a text note saying so rather than
    an exception: one malformed block of a third-party server should not hide
    the rest of its answer.
    """
    if isinstance(block, mt.TextContent):
        return TextPart(text=block.text)
    if isinstance(block, mt.ImageContent | mt.AudioContent):
        data = _decode(block.data)
        if data is None:
            return TextPart(
                text=f"[{block.type} {block.mime_type}: the server sent invalid base64]"
            )
        if isinstance(block, mt.ImageContent):
            return ImagePart(data=data, media_type=block.mime_type)
        return AudioPart(data=data, media_type=block.mime_type)
    if isinstance(block, mt.ResourceLink):
        return ResourcePart(uri=block.uri, name=block.name, media_type=block.mime_type)
    if isinstance(block, mt.EmbeddedResource):
        contents = block.resource
        if isinstance(contents, mt.TextResourceContents):
            return ResourcePart(uri=contents.uri, media_type=contents.mime_type, text=contents.text)
        blob = _decode(contents.blob)
        if blob is None:
            return TextPart(text=f"[resource {contents.uri}: the server sent invalid base64]")
        return ResourcePart(uri=contents.uri, media_type=contents.mime_type, data=blob)
    # A content kind newer than this code: keep what it says as JSON text.
    dump = block.model_dump(mode="json", by_alias=True) if hasattr(block, "model_dump") else block
    return TextPart(text=json.dumps(dump, ensure_ascii=False))


def from_mcp_result(result: mt.CallToolResult, name: str | None = None) -> ToolResultPart:
    """An MCP ``CallToolResult`` as an agentkit tool result.

    ``structuredContent`` is kept as ``structured_content``; when a server
    sends it without any content block, its JSON is added as text so that
    models that only read text still see the answer.
    """
    content = [from_mcp_content(block) for block in result.content]
    structured = result.structured_content
    if structured is not None and not isinstance(structured, dict):
        # MCP requires an object; keep a stray value rather than dropping it.
        structured = {"result": structured}
    if structured is not None and not content:
        content = [TextPart(text=json.dumps(structured, ensure_ascii=False))]
    return ToolResultPart(
        call_id="",
        name=name,
        content=content,
        structured_content=structured,
        is_error=bool(result.is_error),
    )
