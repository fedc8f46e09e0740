"""The walk every target shares.

``Compiler.node`` compiles one subschema: it first rewrites the node's
structure (merge ``allOf``, follow or keep ``$ref``, turn ``oneOf`` into
``anyOf``), then keeps or drops each keyword, compiling subschemas on the
way down, then lets the target finish the node (nullability, enums, closing
objects). A target is a subclass that sets a few class flags and overrides
``finish``. Changes are reported at their path in the original schema.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from ._algebra import conjoin, disjoint
from ._refs import RefIndex
from ._types import Recorder, Target, child, escape
from ._vocab import (
    DEFS_KEYS,
    SCHEMA_LISTS,
    SCHEMA_MAPS,
    SCHEMA_ONE,
    is_assertion,
    is_noop,
    json_equal,
)

#: How deep references may nest while inlining before we give up.
_MAX_NESTING = 64


class OneOfBranches(list[Any]):
    """``anyOf`` branches written as ``oneOf``: changes inside keep the original path."""


class Compiler:
    """Compile one schema for one target; subclasses are the targets.

    Args:
        root: The original schema (never mutated).
        rec: Where changes are recorded.
    """

    target: ClassVar[Target]
    #: Keywords kept (schema-valued ones are compiled); None keeps every keyword.
    keywords: ClassVar[frozenset[str] | None] = None
    #: Keep every annotation (non-assertion keyword) even when not in ``keywords``.
    keep_annotations: ClassVar[bool] = False
    #: Replace non-recursive references by their target.
    inline_refs: ClassVar[bool] = True
    #: Recursive references may stay as ``$ref`` (else they are unrolled and cut).
    recursive_refs: ClassVar[bool] = True
    #: ``{"$ref": "#"}`` (root recursion) may be sent as is.
    root_pointer_ref: ClassVar[bool] = False
    merge_all_of: ClassVar[bool] = True
    one_of_as_any_of: ClassVar[bool] = True
    #: Why references are inlined, for the change detail.
    inline_reason: ClassVar[str] = "the target cannot follow $ref reliably"
    #: Levels of a recursive definition unrolled before cutting (recursive_refs False).
    unroll_depth: ClassVar[int] = 3

    def __init__(self, root: dict[str, Any], rec: Recorder) -> None:
        self.rec = rec
        self.refs = RefIndex(root, rec)
        self.defs: dict[str, Any] = {}
        self._def_names: dict[str, str] = {}
        self._used: set[str] = set()
        self._stack: list[str] = []

    # -- driving ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Compile the whole schema."""
        out = self.finish_root(self.node(self.prepare_root(self.refs.root), "#"))
        if self.defs:
            out["$defs"] = self.defs
        for pointer in self.refs.def_pointers:
            if not any(p == pointer or p.startswith(pointer + "/") for p in self._used):
                self.rec.note(
                    pointer,
                    "keyword_dropped",
                    "removed a definition nothing refers to",
                    keyword="$defs",
                )
        return out

    def prepare_root(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Make the root an object schema; the root of a tool schema is the arguments object."""
        s = dict(raw)
        if isinstance(s.get("$ref"), str):
            target, pointer = self.refs.resolve(s["$ref"], "#")
            self._used.add(pointer)
            rest = {k: v for k, v in s.items() if k != "$ref"}
            merged = conjoin(rest, target) if isinstance(target, dict) else None
            if merged is not None:
                self.rec.note(
                    "#",
                    "ref_inlined",
                    f"inlined the root's $ref {s['$ref']}: a tool schema's root must be the "
                    "object itself",
                    keyword="$ref",
                )
                s = merged
        kind = s.get("type")
        why = "tool arguments (and agentkit outputs) are always a JSON object"
        if kind is None:
            s = {"type": "object", **s}
            self.rec.note("#", "root_normalized", f"added type 'object' to the root: {why}")
        elif isinstance(kind, list) and "object" in kind and kind != ["object"]:
            s["type"] = "object"
            self.rec.note("#", "root_normalized", f"kept only 'object' of the root's types: {why}")
        return s

    def finish_root(self, out: dict[str, Any]) -> dict[str, Any]:
        """Target-specific last touches on the compiled root."""
        return out

    # -- one node --------------------------------------------------------------------------

    def node(self, schema: Any, path: str) -> dict[str, Any]:
        """Compile one subschema found at ``path`` of the original schema."""
        if schema is True:
            schema = {}
        elif schema is False:
            schema = {"not": {}}
        if not isinstance(schema, dict):
            raise self.rec.fail(path, "a schema must be a JSON object or a boolean")
        s, path, final = self.expand(dict(schema), path)
        if final is not None:
            return final
        out: dict[str, Any] = {}
        for key, value in s.items():
            if key in DEFS_KEYS:
                continue
            if key in ("$anchor", "$dynamicAnchor") or (key == "$id" and path != "#"):
                # Every reference was resolved above; inlining would duplicate these.
                self.drop(path, key, value, "references to it are resolved already")
            elif self.keeps(key):
                out[key] = self.compile_value(key, value, path)
            else:
                self.drop(path, key, value)
        return self.finish(out, s, path)

    def keeps(self, key: str) -> bool:
        """Whether the target keeps ``key``."""
        if self.keywords is None or key in self.keywords:
            return True
        return self.keep_annotations and not is_assertion(key)

    def compile_value(self, key: str, value: Any, path: str) -> Any:
        """The compiled value of ``key``: subschemas compiled, anything else copied."""
        if key in SCHEMA_MAPS and isinstance(value, dict):
            return {k: self.node(v, child(path, key, k)) for k, v in value.items()}
        if key in SCHEMA_LISTS and isinstance(value, list):
            token = "oneOf" if isinstance(value, OneOfBranches) else key
            return [self.node(v, child(path, token, i)) for i, v in enumerate(value)]
        if key in SCHEMA_ONE and not isinstance(value, bool):
            return self.node(value, child(path, key))
        return copy.deepcopy(value)

    def drop(self, path: str, key: str, value: Any, why: str | None = None) -> None:
        """Report ``key`` as dropped; lossy when it constrained values."""
        lossy = is_assertion(key) and not is_noop(key, value)
        effect = (
            "values it rejected are now accepted"
            if lossy
            else "this does not change which values are valid"
        )
        reason = why or f"{self.target} does not support it"
        self.rec.note(
            path,
            "keyword_dropped",
            f"dropped {key!r} ({reason}); {effect}",
            keyword=key,
            lossy=lossy,
        )

    def finish(self, out: dict[str, Any], s: dict[str, Any], path: str) -> dict[str, Any]:
        """Target-specific rewrite of a compiled node; ``s`` is the node before compiling."""
        return out

    def tuple_as_items(self, out: dict[str, Any], path: str) -> dict[str, Any]:
        """``prefixItems`` as one ``items`` schema: exact only for a run of equal schemas."""
        prefix: list[Any] = out.pop("prefixItems")
        rest = out.pop("items", True)
        distinct: list[Any] = []
        for item in [*prefix, *([rest] if isinstance(rest, dict) else [])]:
            if not any(json_equal(item, d) for d in distinct):
                distinct.append(item)
        if rest is False:
            out["maxItems"] = min(out.get("maxItems", len(prefix)), len(prefix))
        lossy = len(distinct) != 1 or rest is True
        if distinct:
            out["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
        self.rec.note(
            path,
            "tuple_rewritten",
            f"wrote prefixItems as one items schema ({self.target} has no tuples)"
            + ("; positions are no longer checked separately" if lossy else ""),
            keyword="prefixItems",
            lossy=lossy,
        )
        return out

    # -- structure -------------------------------------------------------------------------

    def expand(
        self, s: dict[str, Any], path: str
    ) -> tuple[dict[str, Any], str, dict[str, Any] | None]:
        """Rewrite ``s`` until no structural keyword is left to handle.

        Returns:
            The node, its path, and the finished output when the node became a
            kept or inlined reference.
        """
        for _ in range(_MAX_NESTING):
            if isinstance(s.get("items"), list):
                s = self._tuple_2020(s, path)
            if self.merge_all_of and "allOf" in s:
                s = self.fold_all_of(s, path)
                continue
            if "$ref" in s:
                merged, final = self.expand_ref(s, path)
                if final is not None:
                    return s, path, final
                s = merged
                continue
            if self.one_of_as_any_of and "oneOf" in s:
                s = self.one_of(s, path)
            return self.expand_more(s, path), path, None
        raise self.rec.fail(path, "references nest too deeply to compile", keyword="$ref")

    def expand_more(self, s: dict[str, Any], path: str) -> dict[str, Any]:
        """Target-specific structural rewrite, after refs, allOf and oneOf."""
        return s

    def _tuple_2020(self, s: dict[str, Any], path: str) -> dict[str, Any]:
        # Draft-07 wrote tuples as an items array; 2020-12 calls that prefixItems.
        out = {k: v for k, v in s.items() if k not in ("items", "additionalItems")}
        out["prefixItems"] = s["items"]
        if "additionalItems" in s:
            out["items"] = s["additionalItems"]
        self.rec.note(
            path,
            "tuple_rewritten",
            "rewrote draft-07 tuple 'items' as 'prefixItems'",
            keyword="items",
        )
        return out

    def expand_ref(
        self, s: dict[str, Any], path: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Follow or keep the node's ``$ref``: (node to go on with, or finished output)."""
        ref = s["$ref"]
        if not isinstance(ref, str):
            raise self.rec.fail(path, "$ref must be a string", keyword="$ref")
        target, pointer = self.refs.resolve(ref, path)
        self._used.add(pointer)
        siblings = {k: v for k, v in s.items() if k != "$ref" and k not in DEFS_KEYS}
        recursive = self.refs.is_recursive(pointer)
        if recursive and not self.recursive_refs:
            return self.unroll(ref, target, pointer, siblings, path)
        if recursive or not self.inline_refs:
            kept = self.def_pointer(target, pointer, ref, path)
            if not siblings:
                return s, {"$ref": kept}
            return self.ref_with_siblings(kept, ref, siblings, target, path)
        self.rec.note(
            path, "ref_inlined", f"inlined $ref {ref}: {self.inline_reason}", keyword="$ref"
        )
        if not siblings:
            return s, self.inline(target, pointer)
        return self.merge_siblings(siblings, target, path), None

    def ref_with_siblings(
        self, kept: str, ref: str, siblings: dict[str, Any], target: Any, path: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A kept ``$ref`` with other keywords beside it; by default both stay (2020-12)."""
        return siblings, {"$ref": kept, **self.node(siblings, path)}

    def inline(self, target: Any, pointer: str) -> dict[str, Any]:
        """Compile a reference's target in place of the reference."""
        if len(self._stack) >= _MAX_NESTING:
            raise self.rec.fail(pointer, "references nest too deeply to compile", keyword="$ref")
        self._stack.append(pointer)
        try:
            return self.node(target, pointer)
        finally:
            self._stack.pop()

    def unroll(
        self, ref: str, target: Any, pointer: str, siblings: dict[str, Any], path: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Inline a recursive reference a few levels deep, then cut it (lossy)."""
        if self._stack.count(pointer) < self.unroll_depth:
            if not siblings:
                return siblings, self.inline(target, pointer)
            return self.merge_siblings(siblings, target, path), None
        self.rec.note(
            path,
            "ref_truncated",
            f"cut the recursive $ref {ref} after {self.unroll_depth} levels: {self.target} "
            "cannot express recursion, so deeper levels accept any value of the same type",
            keyword="$ref",
            lossy=True,
        )
        kinds = target.get("type") if isinstance(target, dict) else None
        stub = {"type": kinds if isinstance(kinds, str) else "object"}
        return siblings, self.node({**siblings, **stub}, path)

    def merge_siblings(self, siblings: dict[str, Any], target: Any, path: str) -> dict[str, Any]:
        """``siblings`` and a reference's target as one node (siblings' annotations win)."""
        body = target if isinstance(target, dict) else ({} if target is True else {"not": {}})
        merged = conjoin(siblings, body)
        if merged is not None:
            return merged
        for key in siblings:
            if is_assertion(key):
                self.drop(path, key, siblings[key], "it cannot be combined with the $ref target")
        notes = {k: v for k, v in siblings.items() if not is_assertion(k)}
        return conjoin(notes, body) or body

    def def_pointer(self, target: Any, pointer: str, ref: str, path: str) -> str:
        """Where a kept reference points in the output, compiling its target once."""
        if pointer == "#" and self.root_pointer_ref:
            return "#"
        name = self._def_names.get(pointer)
        if name is None:
            name = self.refs.def_name(pointer, set(self.defs))
            self._def_names[pointer] = name
            self.defs[name] = {}
            self.defs[name] = self.node(target, pointer)
            if pointer != f"#/$defs/{escape(name)}":
                self.rec.note(
                    pointer, "defs_moved", f"moved {pointer} to #/$defs/{name}", keyword="$defs"
                )
        kept = f"#/$defs/{escape(name)}"
        if kept != ref:
            self.rec.note(path, "ref_rewritten", f"$ref {ref} now reads {kept}", keyword="$ref")
        return kept

    def fold_all_of(self, s: dict[str, Any], path: str) -> dict[str, Any]:
        """Merge ``allOf`` into its parent; a branch that cannot merge is dropped (lossy)."""
        acc = {k: v for k, v in s.items() if k != "allOf"}
        branches = s["allOf"]
        if not isinstance(branches, list):
            raise self.rec.fail(path, "allOf must be an array", keyword="allOf")
        for i, branch in enumerate(branches):
            here = child(path, "allOf", i)
            body = {} if branch is True else {"not": {}} if branch is False else branch
            if not isinstance(body, dict):
                raise self.rec.fail(here, "a schema must be a JSON object or a boolean")
            if isinstance(body.get("$ref"), str):
                target, pointer = self.refs.resolve(body["$ref"], here)
                if not self.refs.is_recursive(pointer):
                    self._used.add(pointer)
                    self.rec.note(
                        here,
                        "ref_inlined",
                        f"inlined $ref {body['$ref']} to merge this allOf branch",
                        keyword="$ref",
                    )
                    rest = {k: v for k, v in body.items() if k != "$ref"}
                    body = self.merge_siblings(rest, target, here)
            merged = conjoin(acc, body)
            if merged is None:
                self.rec.note(
                    here,
                    "keyword_dropped",
                    f"dropped this allOf branch: {self.target} has no allOf and it cannot be "
                    "merged into its parent; values it rejected are now accepted",
                    keyword="allOf",
                    lossy=True,
                )
                continue
            acc = merged
        self.rec.note(
            path,
            "all_of_merged",
            f"merged allOf into one schema ({self.target} does not support allOf)",
            keyword="allOf",
        )
        return acc

    def one_of(self, s: dict[str, Any], path: str) -> dict[str, Any]:
        """``oneOf`` as ``anyOf``: the same values when no two branches overlap."""
        branches = s["oneOf"]
        if not isinstance(branches, list):
            raise self.rec.fail(path, "oneOf must be an array", keyword="oneOf")
        if "anyOf" in s:
            self.drop(path, "oneOf", branches, "it sits beside anyOf")
            return {k: v for k, v in s.items() if k != "oneOf"}

        def resolve(ref: str) -> Any:
            return self.refs.resolve(ref, path)[0]

        exclusive = all(
            disjoint(a, b, resolve) for i, a in enumerate(branches) for b in branches[i + 1 :]
        )
        detail = (
            "its branches never overlap, so this changes nothing"
            if exclusive
            else "a value matching several branches is now accepted"
        )
        self.rec.note(
            path,
            "one_of_to_any_of",
            f"rewrote oneOf as anyOf ({self.target} treats them alike); {detail}",
            keyword="oneOf",
            lossy=not exclusive,
        )
        return {
            ("anyOf" if k == "oneOf" else k): (OneOfBranches(v) if k == "oneOf" else v)
            for k, v in s.items()
        }
