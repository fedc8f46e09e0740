"""An ``mcpServers`` file in the wrong encoding is a ``UserError`` naming the file and byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.exceptions import UserError
from agentkit.mcp import load_mcp_config


def test_a_file_that_is_not_utf8_names_the_file_and_the_byte(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    text = '{"mcpServers": {"caf\u00e9": {"command": "x"}}}'
    config.write_bytes(text.encode("latin-1"))  # what a legacy Windows editor saves
    offset = text.index("\u00e9")
    with pytest.raises(UserError) as caught:
        load_mcp_config(config)
    message = str(caught.value)
    assert str(config) in message
    assert f"at offset {offset}" in message
    assert "e9" in message
    assert "UTF-8" in message
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    document = {"mcpServers": {"notes": {"command": "x", "args": ["caf\u00e9"]}}}
    config.write_bytes(b"\xef\xbb\xbf" + json.dumps(document, ensure_ascii=False).encode())
    (server,) = load_mcp_config(config)
    assert (server.name, server.command, server.args) == ("notes", "x", ["caf\u00e9"])
