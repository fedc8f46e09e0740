"""``files``: read, list, search and write files inside one root directory.

Every path is resolved (symlinks included) before use and refused when it
lands outside the root, so ``../``, absolute paths and links pointing out of
the root cannot reach other files. The root is fixed when the tool set is
made (``FilesToolset(root)``) or, for the ready ``toolset`` (``agentkit serve
files``), read from ``AGENTKIT_FILES_ROOT`` on first use.
``AGENTKIT_FILES_READONLY=1`` leaves out ``write_file``.

There is no default root. Desktop clients start servers in ``/`` or the
user's home directory, and quietly serving that (writable, even) is not what
anyone configuring "a files server" means: with no root set, the server still
starts and lists its tools, every call answers with how to set one, and
``agentkit serve files`` says so on stderr.

Messages never show where the root is: paths are given relative to it, as
the model wrote them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from agentkit import Tool, tool
from agentkit.exceptions import ToolError

from ._base import NamedToolset

__all__ = ["DirectoryEntry", "FilesToolset", "SearchHit", "toolset"]

MAX_READ_BYTES = 1_000_000
MAX_RESULTS = 200
NO_ROOT = (
    "no root directory is configured for the files tools: start the server with "
    "AGENTKIT_FILES_ROOT set to the one folder they may use (nothing is served by default)"
)


class DirectoryEntry(BaseModel):
    """One entry of a directory listing."""

    path: str
    kind: str
    size: int | None = None


class SearchHit(BaseModel):
    """A file whose name (and content, when asked) matched."""

    path: str
    line: int | None = None
    text: str | None = None


class FilesToolset(NamedToolset):
    """File tools confined to ``root``.

    Args:
        root: The only directory the tools may touch; None reads
            ``AGENTKIT_FILES_ROOT`` on first use (unset: every call fails,
            saying how to set it).
        writable: Offer ``write_file``; None reads ``AGENTKIT_FILES_READONLY``.
        max_read_bytes: Largest file ``read_file`` returns whole.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        writable: bool | None = None,
        max_read_bytes: int = MAX_READ_BYTES,
    ) -> None:
        self._root = Path(root).resolve(strict=True) if root is not None else None
        self.max_read_bytes = max_read_bytes
        if writable is None:
            writable = os.environ.get("AGENTKIT_FILES_READONLY", "") not in ("1", "true", "yes")
        tools: list[Tool] = [self._read_tool(), self._list_tool(), self._search_tool()]
        if writable:
            tools.append(self._write_tool())
        super().__init__("files", tools)

    @property
    def root(self) -> Path:
        """The directory every path is confined to.

        Raises:
            ToolError: no root was given and ``AGENTKIT_FILES_ROOT`` is unset,
                or it is not a directory.
        """
        if self._root is None:
            configured = os.environ.get("AGENTKIT_FILES_ROOT", "").strip()
            if not configured:
                raise ToolError(NO_ROOT)
            root = Path(configured).expanduser().resolve()
            if not root.is_dir():
                # The model is not told the path: it is the operator's to fix.
                raise ToolError(
                    "the configured root directory (AGENTKIT_FILES_ROOT) is not a directory"
                )
            self._root = root
        return self._root

    @property
    def notice(self) -> str | None:
        """What the person starting the server should know (printed by ``agentkit serve``)."""
        if self._root is None and not os.environ.get("AGENTKIT_FILES_ROOT", "").strip():
            return f"files: {NO_ROOT}; every call will fail until then"
        return None

    @contextlib.contextmanager
    def _os_errors(self, path: str) -> Iterator[None]:
        """OS errors as tool errors that name ``path`` as given, never the root."""
        try:
            yield
        except ToolError:
            raise
        except RuntimeError:  # Path.resolve on a symbolic link loop (Python < 3.13)
            raise ToolError(f"{path!r} leads into a loop of symbolic links") from None
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise ToolError(f"{path!r}: {why}") from None

    def resolve(self, path: str, *, must_exist: bool = True) -> Path:
        """``path`` (relative to the root) as an absolute path inside the root.

        Raises:
            ToolError: the path escapes the root (symlinks are followed first)
                or, with ``must_exist``, does not exist.
        """
        root = self.root
        candidate = Path(path.strip() or ".")
        full = candidate if candidate.is_absolute() else root / candidate
        with self._os_errors(path):
            resolved = full.resolve()
        if resolved != root and not resolved.is_relative_to(root):
            raise ToolError(
                f"{path!r} is outside the allowed directory; use a path relative to the root"
            )
        if must_exist and not resolved.exists():
            raise ToolError(f"{path!r} does not exist")
        return resolved

    def _shown(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def _inside(self, path: Path) -> Path | None:
        """Where ``path`` really leads, when that is inside the root; None otherwise
        (outside, a dangling link, a loop of links, no permission)."""
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return real if real == self.root or real.is_relative_to(self.root) else None

    def _first_line(self, file: Path, contains: str) -> tuple[int, str] | None:
        """The first line of ``file`` containing ``contains``; unreadable or big files have none."""
        try:
            if file.stat().st_size > self.max_read_bytes:
                return None
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        for number, line in enumerate(text.splitlines(), 1):
            if contains in line:
                return number, line[:200]
        return None

    def _read_tool(self) -> Tool:
        @tool(annotations={"readOnlyHint": True, "openWorldHint": False})
        def read_file(path: str) -> str:
            """Read a text file.

            Args:
                path: File path relative to the root directory.
            """
            target = self.resolve(path)
            if not target.is_file():
                raise ToolError(f"{path!r} is not a file")
            with self._os_errors(path):
                size = target.stat().st_size
                if size > self.max_read_bytes:
                    raise ToolError(
                        f"{path!r} has {size} bytes, more than the {self.max_read_bytes} allowed"
                    )
                data = target.read_bytes()
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                raise ToolError(f"{path!r} is not UTF-8 text ({size} bytes)") from None

        return read_file

    def _list_tool(self) -> Tool:
        @tool(annotations={"readOnlyHint": True, "openWorldHint": False})
        def list_directory(path: str = ".") -> list[DirectoryEntry]:
            """List a directory's entries (links leading outside the root are left out).

            Args:
                path: Directory path relative to the root directory.
            """
            folder = self.resolve(path)
            if not folder.is_dir():
                raise ToolError(f"{path!r} is not a directory")
            entries = []
            with self._os_errors(path):
                children = sorted(folder.iterdir())
            for child in children:
                # Links leading out, dangling or looping are left out, not fatal.
                real = self._inside(child)
                if real is None:
                    continue
                try:
                    kind = "directory" if real.is_dir() else "file"
                    size = real.stat().st_size if kind == "file" else None
                except OSError:
                    continue
                entries.append(DirectoryEntry(path=self._shown(child), kind=kind, size=size))
                if len(entries) >= MAX_RESULTS:
                    break
            return entries

        return list_directory

    def _search_tool(self) -> Tool:
        @tool(annotations={"readOnlyHint": True, "openWorldHint": False})
        def search_files(
            pattern: str = "*", contains: str | None = None, path: str = "."
        ) -> list[SearchHit]:
            """Find files by name pattern and, optionally, by a text they contain.

            Args:
                pattern: Glob for file names, e.g. "*.md".
                contains: Text to look for inside the files (case-sensitive).
                path: Directory to search, relative to the root directory.
            """
            start = self.resolve(path)
            hits: list[SearchHit] = []
            # os.walk does not follow directory links, so the walk stays in the root.
            for folder, dirs, files in os.walk(start):
                dirs.sort()
                for name in sorted(files):
                    if not fnmatch.fnmatch(name, pattern):
                        continue
                    file = Path(folder) / name
                    real = self._inside(file)
                    if real is None or not real.is_file():
                        continue
                    if contains is None:
                        hits.append(SearchHit(path=self._shown(file)))
                    else:
                        hit = self._first_line(real, contains)
                        if hit is not None:
                            number, line = hit
                            hits.append(SearchHit(path=self._shown(file), line=number, text=line))
                    if len(hits) >= MAX_RESULTS:
                        return hits
            return hits

        return search_files

    def _write_tool(self) -> Tool:
        @tool(annotations={"destructiveHint": True, "openWorldHint": False})
        def write_file(path: str, content: str, overwrite: bool = False) -> str:
            """Write a UTF-8 text file, creating its folders as needed.

            Args:
                path: File path relative to the root directory.
                content: The text to write.
                overwrite: Replace the file when it exists.
            """
            target = self.resolve(path, must_exist=False)
            if target == self.root or target.is_dir():
                raise ToolError(f"{path!r} is a directory")
            if target.exists() and not overwrite:
                raise ToolError(f"{path!r} exists; pass overwrite=true to replace it")
            with self._os_errors(path):
                target.parent.mkdir(parents=True, exist_ok=True)
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
                # O_NOFOLLOW: a link swapped in after the check above is refused, not followed.
                fd = os.open(target, flags, 0o644)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(content)
            return f"wrote {len(content.encode())} bytes to {self._shown(target)}"

        return write_file


#: The ``files`` tool set (entry point ``files``); root from ``AGENTKIT_FILES_ROOT`` (required).
toolset = FilesToolset()
