"""Local ``$ref`` resolution: JSON pointers, ``$defs``/``definitions``, ``$anchor``.

Only references inside the schema itself are followed; anything that would
need a fetch (``https://...``, ``other.json#/x``) is refused, because the
compiler does no I/O. A target is *recursive* when following references from
it leads back to it; such a reference cannot be inlined.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from ._types import Recorder, child, escape
from ._vocab import DEFS_KEYS, iter_subschemas

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


class RefIndex:
    """Every reference of one schema, resolved once.

    Args:
        root: The whole schema.
        rec: Where an unresolvable reference is reported before raising.
    """

    def __init__(self, root: dict[str, Any], rec: Recorder) -> None:
        self.root = root
        self._rec = rec
        self._base = root.get("$id") if isinstance(root.get("$id"), str) else None
        self.anchors: dict[str, str] = {}
        self.def_pointers: list[str] = []
        self._edges: dict[str, set[str]] = {}
        self._targets: dict[str, Any] = {}
        self._raw_refs: list[tuple[str, str]] = []
        self._scan(root, "#")
        for ref, at in self._raw_refs:
            self.resolve(ref, at)
        self._recursive = {p for p in list(self._targets) if self._reaches(p, p)}

    def _scan(self, node: Any, path: str) -> None:
        if not isinstance(node, dict):
            return
        anchor = node.get("$anchor")
        if isinstance(anchor, str):
            self.anchors.setdefault(anchor, path)
        ref = node.get("$ref")
        if isinstance(ref, str):
            self._raw_refs.append((ref, path))
        for tokens, sub in iter_subschemas(node):
            if tokens[0] in DEFS_KEYS:
                self.def_pointers.append(child(path, *tokens))
            self._scan(sub, child(path, *tokens))

    def pointer_of(self, ref: str, at: str) -> str:
        """The ``#/...`` pointer that ``ref`` (found at ``at``) names.

        Raises:
            SchemaCompileError: For a remote or unresolvable reference.
        """
        target = ref
        if self._base and target.startswith(self._base):
            target = target[len(self._base) :] or "#"
        if not target.startswith("#"):
            raise self._rec.fail(
                at,
                f"$ref {ref!r} points outside the schema; only local references "
                "(#/$defs/..., #/definitions/..., #/...) can be compiled",
                keyword="$ref",
            )
        fragment = unquote(target[1:])
        if fragment and not fragment.startswith("/"):
            if fragment not in self.anchors:
                raise self._rec.fail(at, f"$ref {ref!r} names an unknown $anchor", keyword="$ref")
            return self.anchors[fragment]
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in fragment.split("/")[1:]]
        return "#" + "".join("/" + escape(t) for t in tokens)

    def resolve(self, ref: str, at: str) -> tuple[Any, str]:
        """The subschema ``ref`` names and its canonical pointer.

        Raises:
            SchemaCompileError: For a remote, unknown or dangling reference.
        """
        pointer = self.pointer_of(ref, at)
        if pointer in self._targets:
            return self._targets[pointer], pointer
        node: Any = self.root
        for token in pointer.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise self._rec.fail(at, f"$ref {ref!r} points to nothing", keyword="$ref")
        self._targets[pointer] = node
        self._edges[pointer] = set()
        self._collect(node, pointer)
        return node, pointer

    def _collect(self, node: Any, owner: str) -> None:
        # References a target applies when it is used; nested $defs are not applied.
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            self._edges[owner].add(self.pointer_of(ref, owner))
        for tokens, sub in iter_subschemas(node):
            if tokens[0] not in DEFS_KEYS:
                self._collect(sub, owner)

    def _reaches(self, start: str, goal: str) -> bool:
        seen: set[str] = set()
        todo = list(self._edges.get(start, ()))
        while todo:
            here = todo.pop()
            if here == goal:
                return True
            if here not in seen:
                seen.add(here)
                if here not in self._edges:
                    self.resolve(here, start)
                todo.extend(self._edges.get(here, ()))
        return False

    def is_recursive(self, pointer: str) -> bool:
        """Whether following references from ``pointer`` leads back to it."""
        return pointer in self._recursive

    def def_name(self, pointer: str, taken: set[str]) -> str:
        """A fresh ``$defs`` name for the target at ``pointer``."""
        tokens = pointer.split("/")
        last = tokens[-1].replace("~1", "/").replace("~0", "~") if len(tokens) > 1 else "Root"
        base = _NAME_CHARS.sub("_", last) or "Def"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        return name
