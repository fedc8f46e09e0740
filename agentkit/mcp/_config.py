"""The ``mcpServers`` configuration format that desktop MCP clients share.

```json
{"mcpServers": {
    "time":  {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
    "notes": {"url": "http://127.0.0.1:8000/mcp",
              "headers": {"Authorization": "Bearer ${NOTES_TOKEN}"}}
}}
```

Claude Desktop, Cursor, Windsurf and others read this shape; VS Code's
``mcp.json`` uses ``servers`` with the same entries, which is accepted too.
``${VAR}`` in a value is replaced by the environment variable, so secrets stay
out of the file. An entry with ``"disabled": true`` is skipped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import UserError
from ._client import MCPToolset

__all__ = ["load_mcp_config", "toolset_from_entry"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HTTP_TYPES = ("http", "streamable-http", "streamableHttp", "sse")


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            found = os.environ.get(match.group(1))
            if found is None:
                raise UserError(f"{where}: environment variable {match.group(1)} is not set")
            return found

        return _VAR.sub(lookup, value)
    if isinstance(value, list):
        return [_expand(v, where) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, where) for k, v in value.items()}
    return value


def _strings(value: Any, key: str, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise UserError(f"{where}: {key!r} must be an object of strings")
    return {str(k): v for k, v in value.items()}


def toolset_from_entry(
    name: str, entry: Mapping[str, Any], where: str = "mcpServers"
) -> MCPToolset:
    """One ``mcpServers`` entry (or one agent-file ``mcp_servers`` item) as a tool set.

    Raises:
        UserError: the entry has neither ``command`` nor ``url``, or both.
    """
    place = f"{where}.{name}"
    if not isinstance(entry, Mapping):
        raise UserError(f"{place}: expected an object with 'command' or 'url'")
    data = _expand(dict(entry), place)
    kind = data.get("type")
    url = data.get("url") or data.get("serverUrl")
    command = data.get("command")
    if kind == "sse" or (url and str(url).rstrip("/").endswith("/sse")):
        # The old HTTP+SSE transport (2024-11-05) is not spoken here.
        raise UserError(f"{place}: the legacy SSE transport is not supported; use streamable HTTP")
    if kind is not None and kind not in ("stdio", *_HTTP_TYPES):
        raise UserError(f"{place}: unknown transport type {kind!r}")
    if (command is None) == (url is None):
        raise UserError(f"{place}: give exactly one of 'command' (stdio) or 'url' (HTTP)")
    args = data.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UserError(f"{place}: 'args' must be a list of strings")
    timeout = data.get("timeout")
    extra: dict[str, Any] = {}
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        # Some clients write milliseconds here; a value that large cannot be seconds.
        extra["timeout"] = timeout / 1000 if timeout > 1000 else float(timeout)
    if url is not None:
        return MCPToolset(
            url=str(url),
            headers=_strings(data.get("headers"), "headers", place),
            name=name,
            **extra,
        )
    return MCPToolset(
        command=str(command),
        args=args,
        env=_strings(data.get("env"), "env", place) or None,
        cwd=data.get("cwd"),
        name=name,
        **extra,
    )


def load_mcp_config(source: str | Path | Mapping[str, Any]) -> list[MCPToolset]:
    """The servers of an ``mcpServers`` configuration, as tool sets.

    Args:
        source: A path to the JSON file, or the parsed document.

    Returns:
        One ``MCPToolset`` per enabled server, named by its key (the name
        prefixes its tools when they collide with another server's).

    Raises:
        UserError: the file cannot be read or an entry is malformed.
    """
    where = "mcpServers"
    if isinstance(source, str | Path):
        path = Path(source)
        where = str(path)
        try:
            # utf-8-sig: editors on Windows start the file with a byte-order mark.
            document = json.loads(path.read_bytes().decode("utf-8-sig"))
        except OSError as exc:
            raise UserError(f"cannot read MCP configuration {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            bad = exc.object[exc.start : exc.end].hex(" ")
            raise UserError(
                f"{path}: not UTF-8 text: byte(s) {bad} at offset {exc.start} ({exc.reason}); "
                "save the file as UTF-8"
            ) from exc
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: not valid JSON: {exc}") from exc
    else:
        document = source
    if not isinstance(document, Mapping):
        raise UserError(f"{where}: expected a JSON object with an 'mcpServers' key")
    servers = document.get("mcpServers", document.get("servers"))
    if not isinstance(servers, Mapping):
        raise UserError(f"{where}: expected a JSON object with an 'mcpServers' key")
    return [
        toolset_from_entry(str(name), entry, where)
        for name, entry in servers.items()
        if not (isinstance(entry, Mapping) and entry.get("disabled") is True)
    ]
