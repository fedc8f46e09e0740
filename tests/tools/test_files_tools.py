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


async def test_no_root_serves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Desktop clients start servers in / or $HOME: with no root configured
    # nothing is served (it used to be the working directory, writable).
    (tmp_path / "private.txt").write_text("mine", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTKIT_FILES_ROOT", raising=False)
    files = FilesToolset()
    assert files.notice is not None
    assert "AGENTKIT_FILES_ROOT" in files.notice
    for name, arguments in [
        ("list_directory", {}),
        ("read_file", {"path": "private.txt"}),
        ("write_file", {"path": "new.txt", "content": "x"}),
    ]:
        result = await files.call_tool(name, arguments)
        assert result.is_error
        assert "AGENTKIT_FILES_ROOT" in result.text
    assert not (tmp_path / "new.txt").exists()
    assert FilesToolset(tmp_path).notice is None


def test_serve_files_without_root_warns_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit.mcp._serve import resolve_targets

    monkeypatch.delenv("AGENTKIT_FILES_ROOT", raising=False)
    _, _, notes = resolve_targets(["files"])
    assert any(n.startswith("warning: files: no root directory") for n in notes)


@pytest.fixture
def looped(root: Path) -> Path:
    os.symlink("loop", root / "loop")  # points at itself
    os.symlink("ping", root / "pong")
    os.symlink("pong", root / "ping")
    os.symlink("nowhere", root / "dangling")
    return root


async def test_symlink_loops_do_not_break_listing_or_search(looped: Path) -> None:
    files = FilesToolset(looped)
    listing = await files.call_tool("list_directory", {"path": "."})
    assert not listing.is_error, listing.text
    assert listing.structured_content is not None
    names = [e["path"] for e in listing.structured_content["result"]]
    assert names == ["b.txt", "docs", "inside.txt"]
    found = await files.call_tool("search_files", {"pattern": "*", "contains": "plain"})
    assert not found.is_error, found.text
    assert found.structured_content == {
        "result": [
            {"path": "b.txt", "line": 1, "text": "plain"},
            {"path": "inside.txt", "line": 1, "text": "plain"},
        ]
    }
    read = await files.call_tool("read_file", {"path": "ping"})
    assert read.is_error
    assert str(looped) not in read.text


async def test_errors_show_paths_relative_to_the_root(looped: Path) -> None:
    files = FilesToolset(looped)
    results = [
        await files.call_tool("read_file", {"path": "loop"}),
        await files.call_tool("read_file", {"path": "dangling"}),
        await files.call_tool("write_file", {"path": "b.txt/c.txt", "content": "x"}),
        await files.call_tool("list_directory", {"path": "b.txt"}),
        await files.call_tool("read_file", {"path": "../secret.txt"}),
    ]
    for result in results:
        assert result.is_error
        assert str(looped) not in result.text
        assert str(looped.parent) not in result.text
    assert "'b.txt/c.txt'" in results[2].text
