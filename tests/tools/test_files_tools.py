"""The ``files`` tool set: everything stays inside the root, symlinks included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agentkit_tools.files import FilesToolset

pytestmark = pytest.mark.anyio


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    (base / "docs").mkdir(parents=True)
    (base / "docs" / "a.md").write_text("# Title\nneedle here\n", encoding="utf-8")
    (base / "b.txt").write_text("plain", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    os.symlink(secret, base / "escape.txt")
    os.symlink(tmp_path, base / "up")
    os.symlink(base / "b.txt", base / "inside.txt")
    return base


async def test_read_list_search(root: Path) -> None:
    files = FilesToolset(root)
    read = await files.call_tool("read_file", {"path": "docs/a.md"})
    assert read.text == "# Title\nneedle here\n"
    inside = await files.call_tool("read_file", {"path": "inside.txt"})
    assert inside.text == "plain"
    listing = await files.call_tool("list_directory", {"path": "."})
    assert listing.structured_content is not None
    names = [e["path"] for e in listing.structured_content["result"]]
    assert names == ["b.txt", "docs", "inside.txt"]  # links leading out are left out
    found = await files.call_tool("search_files", {"pattern": "*.md", "contains": "needle"})
    assert found.structured_content == {
        "result": [{"path": "docs/a.md", "line": 2, "text": "needle here"}]
    }


@pytest.mark.parametrize(
    "path", ["../secret.txt", "escape.txt", "up/secret.txt", "/etc/passwd", "docs/../../secret.txt"]
)
async def test_paths_outside_the_root_are_refused(root: Path, path: str) -> None:
    result = await FilesToolset(root).call_tool("read_file", {"path": path})
    assert result.is_error
    assert "outside the allowed directory" in result.text


async def test_write(root: Path) -> None:
    files = FilesToolset(root)
    made = await files.call_tool("write_file", {"path": "new/c.txt", "content": "hello"})
    assert not made.is_error
    assert (root / "new" / "c.txt").read_text() == "hello"
    again = await files.call_tool("write_file", {"path": "new/c.txt", "content": "x"})
    assert again.is_error
    assert "overwrite" in again.text
    escape = await files.call_tool(
        "write_file", {"path": "escape.txt", "content": "x", "overwrite": True}
    )
    assert escape.is_error
    assert (root.parent / "secret.txt").read_text() == "top secret"
    out = await files.call_tool("write_file", {"path": "up/evil.txt", "content": "x"})
    assert out.is_error
    assert not (root.parent / "evil.txt").exists()


async def test_read_only_and_root_from_environment(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_FILES_ROOT", str(root))
    monkeypatch.setenv("AGENTKIT_FILES_READONLY", "1")
    files = FilesToolset()
    assert "write_file" not in {d.name for d in await files.list_tools()}
    assert (await files.call_tool("read_file", {"path": "b.txt"})).text == "plain"
    assert files.root == root.resolve()  # noqa: ASYNC240 - a test's own temporary folder
