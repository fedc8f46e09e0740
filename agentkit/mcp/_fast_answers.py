"""The answers to ``initialize`` and ``tools/list`` that ``build_server``'s SDK
server would give, computed as plain JSON without loading the SDK.

Pure functions of the server's identity and tool definitions. Each one says
None whenever a request is anything but the plain case it knows (odd params,
another protocol revision, an annotation it cannot vouch for): the caller then
leaves that request to the SDK, which has the full validation and every error
message. ``tests/mcp/test_fast_stdio.py`` holds these answers against the SDK's
own for the same requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._model import ToolDefinition

__all__ = ["FastAnswers", "negotiate", "tool_entry"]

#: The revisions the SDK negotiates through ``initialize`` (mcp_types.version),
#: oldest first; anything else is answered with the newest.
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
#: The revisions whose ``tools/list`` shape this module knows field for field.
#: Older ones are sieved by the SDK per revision: left to it.
LISTED_VERSIONS = frozenset({"2025-11-25"})
#: Only a 2026-07-28 envelope carries this key; such requests are the SDK's.
MODERN_META_KEY = "io.modelcontextprotocol/protocolVersion"

# ToolAnnotations' fields, by wire name, with the one type each accepts here.
_ANNOTATIONS: dict[str, type] = {
    "title": str,
    "readOnlyHint": bool,
    "destructiveHint": bool,
    "idempotentHint": bool,
    "openWorldHint": bool,
}
_CLIENT_INFO_TEXT = ("title", "description", "websiteUrl")
# Client capabilities whose value is an object of objects (or of flags, for roots).
_NESTED_CAPABILITIES = ("experimental", "extensions", "sampling", "elicitation")


def negotiate(requested: str) -> str:
    """The revision the SDK answers an ``initialize`` asking for ``requested`` with.

    A revision without the handshake (2026-07-28) or an unknown one gets the
    newest handshake revision, as the SDK's ``_negotiate_initialize`` does.
    """
    return requested if requested in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1]


def tool_entry(definition: ToolDefinition) -> dict[str, Any] | None:
    """One ``tools/list`` entry as ``to_mcp_tool`` plus the SDK's dump would give it.

    None when the definition holds something whose SDK rendering is not
    certain here (an annotation of another type, an unknown annotation).
    """
    entry: dict[str, Any] = {"name": definition.name}
    if definition.title is not None:
        entry["title"] = definition.title
    if definition.description is not None:
        entry["description"] = definition.description
    entry["inputSchema"] = definition.input_schema
    if definition.output_schema is not None:
        entry["outputSchema"] = definition.output_schema
    if definition.annotations:
        annotations: dict[str, Any] = {}
        for key, value in definition.annotations.items():
            expected = _ANNOTATIONS.get(key)
            if value is None:
                continue
            if expected is None or type(value) is not expected:
                return None
            annotations[key] = value
        if annotations:
            entry["annotations"] = annotations
    return entry


def _is_text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _plain_initialize(params: Any) -> bool:
    """Whether ``initialize`` params are the ordinary shape the SDK accepts.

    Stricter than the SDK on purpose: a shape it might also accept (icons,
    task capabilities, lax coercions) is declined, so the SDK judges it.
    """
    if not isinstance(params, dict):
        return False
    if not isinstance(params.get("protocolVersion"), str):
        return False
    meta = params.get("_meta")
    if meta is not None and not isinstance(meta, dict):
        return False
    info = params.get("clientInfo")
    if not isinstance(info, dict) or "icons" in info:
        return False
    if not (isinstance(info.get("name"), str) and isinstance(info.get("version"), str)):
        return False
    if not all(_is_text_or_none(info.get(key)) for key in _CLIENT_INFO_TEXT):
        return False
    capabilities = params.get("capabilities")
    if not isinstance(capabilities, dict) or capabilities.get("tasks") is not None:
        return False
    for key in _NESTED_CAPABILITIES:
        value = capabilities.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            return False
    roots = capabilities.get("roots")
    if roots is not None:
        if not isinstance(roots, dict):
            return False
        changed = roots.get("listChanged")
        if changed is not None and not isinstance(changed, bool):
            return False
    return True


class FastAnswers:
    """What the SDK server from ``build_server`` answers, for the plain cases.

    Args:
        name: The server name (``serverInfo.name``).
        version: The server version (``serverInfo.version``).
        instructions: The server's instructions, or None.
        definitions: The tool definitions the server lists, in its order.
    """

    def __init__(
        self,
        *,
        name: str,
        version: str,
        instructions: str | None,
        definitions: Sequence[ToolDefinition],
    ) -> None:
        self.name = name
        self.version = version
        self.instructions = instructions
        entries = [tool_entry(d) for d in definitions]
        # One definition it cannot render leaves the whole listing to the SDK.
        self.tools: list[dict[str, Any]] | None = (
            None if any(e is None for e in entries) else [e for e in entries if e is not None]
        )

    def initialize(self, params: Any) -> tuple[dict[str, Any], str] | None:
        """The ``initialize`` result and the revision it settles on, or None (ask the SDK)."""
        if not _plain_initialize(params):
            return None
        negotiated = negotiate(params["protocolVersion"])
        result: dict[str, Any] = {
            "capabilities": {"tools": {"listChanged": False}},
            "protocolVersion": negotiated,
            "serverInfo": {"name": self.name, "version": self.version},
        }
        if self.instructions is not None:
            result["instructions"] = self.instructions
        return result, negotiated

    def tools_list(self, params: Any, negotiated: str) -> dict[str, Any] | None:
        """The ``tools/list`` result on a session at ``negotiated``, or None (ask the SDK).

        Every tool in one page, as the SDK server does: its ``tools/list``
        handler ignores the cursor.
        """
        if self.tools is None or negotiated not in LISTED_VERSIONS:
            return None
        if params is not None:
            if not isinstance(params, dict) or not set(params) <= {"cursor", "_meta"}:
                return None
            if not _is_text_or_none(params.get("cursor")):
                return None
            meta = params.get("_meta")
            if meta is not None and (not isinstance(meta, dict) or MODERN_META_KEY in meta):
                return None
        return {"tools": [dict(entry) for entry in self.tools]}
