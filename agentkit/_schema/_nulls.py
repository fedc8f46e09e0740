"""Undo the one representational change of OpenAI strict mode: nulls for absent fields.

Strict mode makes every property required, so an optional property becomes
``required`` and nullable, and the model writes ``null`` where it means "left
out". Before the arguments are validated against the *original* schema (where
the property is optional but not nullable), those nulls must go. The compiled
schema is walked alongside the value; where a union offers several branches,
the one whose shape fits the value is followed (strict objects are closed and
list every property, so the set of keys picks the branch).
"""

from __future__ import annotations

from typing import Any

from ._types import CompiledSchema, child
from ._vocab import declared_types, json_equal, json_type, types_overlap

_MAX_DEPTH = 64


def strip_added_nulls(arguments: Any, compiled: CompiledSchema) -> Any:
    """``arguments`` without the nulls that stand for left-out optional properties.

    Only properties listed in ``compiled.added_nulls`` lose a ``null``; a
    property that accepted null in the original schema keeps it. The input is
    not changed.

    Args:
        arguments: Tool arguments (or structured output) as the model sent them.
        compiled: The schema they were produced against.

    Returns:
        A copy of ``arguments`` that the original schema can validate.
    """
    if not compiled.added_nulls:
        return arguments
    walker = _Stripper(compiled.schema, frozenset(compiled.added_nulls))
    return walker.strip(arguments, compiled.schema, "#", 0)


class _Stripper:
    def __init__(self, root: dict[str, Any], added: frozenset[str]) -> None:
        self.root = root
        self.added = added

    def lookup(self, pointer: str) -> Any:
        node: Any = self.root
        for token in pointer.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
        return node

    def deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        for _ in range(_MAX_DEPTH):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                break
            pointer = node["$ref"]
            node = self.lookup(pointer)
        return node, pointer

    def strip(self, value: Any, node: Any, pointer: str, depth: int) -> Any:
        node, pointer = self.deref(node, pointer)
        if depth > _MAX_DEPTH or not isinstance(node, dict):
            return value
        branches = node.get("anyOf")
        if isinstance(branches, list):
            for i, branch in enumerate(branches):
                where = child(pointer, "anyOf", i)
                if self.fits(value, *self.deref(branch, where)):
                    return self.strip(value, branch, where, depth + 1)
            return value
        props = node.get("properties")
        if isinstance(value, dict) and isinstance(props, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                where = child(pointer, "properties", key)
                if item is None and where in self.added:
                    continue
                out[key] = self.strip(item, props[key], where, depth + 1) if key in props else item
            return out
        items = node.get("items")
        if isinstance(value, list) and isinstance(items, dict):
            where = child(pointer, "items")
            return [self.strip(item, items, where, depth + 1) for item in value]
        return value

    def fits(self, value: Any, node: Any, pointer: str, depth: int = 0) -> bool:
        """Whether ``value`` has the shape of ``node``: types, tags, keys, all the way down.

        Numeric and string constraints are not checked: the shape is enough to
        tell the branches of a strict-mode union apart.
        """
        if depth > _MAX_DEPTH:
            return True
        if not isinstance(node, dict):
            return node is not False
        branches = node.get("anyOf")
        if isinstance(branches, list) and not any(
            self.fits(value, *self.deref(b, child(pointer, "anyOf", i)), depth + 1)
            for i, b in enumerate(branches)
        ):
            return False
        types = declared_types(node)
        if types is not None and not types_overlap({json_type(value)}, types):
            return False
        choices = [node["const"]] if "const" in node else node.get("enum")
        if isinstance(choices, list) and not any(json_equal(value, c) for c in choices):
            return False
        props = node.get("properties")
        if isinstance(value, dict) and isinstance(props, dict):
            if node.get("additionalProperties") is False and not value.keys() <= props.keys():
                return False
            for name in node.get("required", []):
                if name not in value and child(pointer, "properties", name) not in self.added:
                    return False
            return all(
                self.fits(
                    item, *self.deref(props[key], child(pointer, "properties", key)), depth + 1
                )
                for key, item in value.items()
                if key in props
            )
        items = node.get("items")
        if isinstance(value, list) and isinstance(items, dict):
            where = child(pointer, "items")
            return all(self.fits(item, *self.deref(items, where), depth + 1) for item in value)
        return True
