"""Gemini's dialects: JSON Schema (``gemini``) and the OpenAPI ``Schema`` (``gemini-openapi``).

``gemini`` is for ``parametersJsonSchema`` / ``responseJsonSchema``. Their
documented keywords (GenerationConfig.responseJsonSchema in the v1beta API
reference, https://ai.google.dev/api/generate-content#FIELDS.response_json_schema):
``$id, $defs, $ref, $anchor, type, format, title, description, enum`` (for
strings and numbers) ``, items, prefixItems, minItems, maxItems, minimum,
maximum, anyOf, oneOf`` (interpreted as anyOf) ``, properties,
additionalProperties, required`` and ``propertyOrdering``. "If $ref is set on a
sub-schema, no other properties, except for those starting as a $, may be set."
``parametersJsonSchema`` "must describe an object" (FunctionDeclaration
reference); we assume it reads the same subset.

``gemini-openapi`` is the fallback ``parameters`` field: the OpenAPI 3.0
subset in the v1beta ``Schema`` message (google.ai.generativelanguage.v1beta):
``type, format, title, description, nullable, enum`` (strings only) ``, items,
minItems, maxItems, minLength, maxLength, minProperties, maxProperties,
minimum, maximum, pattern, properties, required, propertyOrdering, anyOf,
default, example``. No ``$ref``, no ``additionalProperties``, no ``const``.
``format`` must be ``enum`` or ``date-time`` on the Gemini Developer API
(Firebase AI SchemaShared.format docs). Types stay lowercase: the API's own
REST examples send ``"type": "object"`` (ai.google.dev function-calling guide).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ._algebra import conjoin, integer_bounds
from ._types import Target
from ._vocab import (
    TYPE_FAMILIES,
    declared_types,
    is_assertion,
    json_equal,
    json_type,
    types_overlap,
)
from ._walker import Compiler

_BOUNDS = ("exclusiveMinimum", "exclusiveMaximum")


class Gemini(Compiler):
    """``gemini``: JSON Schema for ``parametersJsonSchema`` and ``responseJsonSchema``."""

    target: ClassVar[Target] = "gemini"
    keywords = frozenset(
        {
            "type", "format", "title", "description", "enum", "const", "items", "prefixItems",
            "minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
            "anyOf", "properties", "additionalProperties", "required", "propertyOrdering", "$ref",
        }
    )  # fmt: skip
    inline_refs = False
    #: Whether ``enum`` may hold numbers (else numbers are pinned with minimum == maximum).
    numbers_in_enum: ClassVar[bool] = True

    def ref_with_siblings(
        self, kept: str, ref: str, siblings: dict[str, Any], target: Any, path: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Gemini allows only ``$``-keywords beside ``$ref``: wrap the reference in an anyOf."""
        kept_siblings = {k: v for k, v in siblings.items() if self.keeps(k)}
        for key in siblings.keys() - kept_siblings.keys():
            self.drop(path, key, siblings[key])
        if not kept_siblings:
            return siblings, {"$ref": kept}
        if "anyOf" in kept_siblings:
            self.rec.note(path, "ref_inlined", f"inlined $ref {ref} once", keyword="$ref")
            return self.merge_siblings(kept_siblings, target, path), None
        self.rec.note(
            path,
            "ref_wrapped",
            "moved $ref into a one-branch anyOf: Gemini allows no other keyword beside $ref",
            keyword="$ref",
        )
        return {**kept_siblings, "anyOf": [{"$ref": ref}]}, None

    def finish(self, out: dict[str, Any], s: dict[str, Any], path: str) -> dict[str, Any]:
        """Inclusive integer bounds, ``const`` as ``enum``, enums of strings and numbers."""
        out = self.exclusive_bounds(out, path)
        out = self.const_as_enum(out, path)
        if isinstance(out.get("enum"), list):
            out = self.split_enum(out, path)
        return out

    def exclusive_bounds(self, out: dict[str, Any], path: str) -> dict[str, Any]:
        """Integer ``exclusiveMinimum: 5`` is ``minimum: 6``; on numbers the bound is lost."""
        if not any(k in out for k in _BOUNDS):
            return out
        rewritten = integer_bounds(out)
        if rewritten is not None:
            self.rec.note(
                path,
                "type_rewritten",
                "wrote exclusive bounds as inclusive minimum/maximum (the same integers)",
                keyword="exclusiveMinimum" if "exclusiveMinimum" in out else "exclusiveMaximum",
            )
            return rewritten
        for key in _BOUNDS:
            if key in out:
                self.drop(path, key, out.pop(key))
        return out

    def const_as_enum(self, out: dict[str, Any], path: str) -> dict[str, Any]:
        """``const`` as a one-value ``enum``; ``null`` and booleans become types."""
        if "const" not in out:
            return out
        value = out.pop("const")
        kind = json_type(value)
        enum = out.get("enum")
        if isinstance(enum, list) and kind not in ("null", "boolean"):
            out["enum"] = [v for v in enum if json_equal(v, value)]
            self.rec.note(path, "const_to_enum", "merged const into the enum", keyword="const")
        elif kind == "string" or (kind in ("integer", "number") and self.numbers_in_enum):
            out["enum"] = [value]
            if not self.numbers_in_enum:
                out.setdefault("type", "string")
            self.rec.note(path, "const_to_enum", "wrote const as a one-value enum", keyword="const")
        elif kind in ("integer", "number", "null", "boolean"):
            as_type: dict[str, Any] = {"type": kind}
            if kind in ("integer", "number"):
                as_type.update({"minimum": value, "maximum": value})
            typed = conjoin(out, as_type)
            if typed is None:
                self.drop(path, "const", value, "its type contradicts the node's type")
                return out
            lossy = kind == "boolean"
            how = {
                "integer": "minimum == maximum (enums hold only strings here)",
                "number": "minimum == maximum (enums hold only strings here)",
                "null": "type null",
                "boolean": "type boolean (enums hold no booleans here); the other boolean is "
                "now accepted",
            }[kind]
            self.rec.note(
                path,
                "const_to_enum" if kind in ("integer", "number") else "type_rewritten",
                f"wrote const {json.dumps(value)} as {how}",
                keyword="const",
                lossy=lossy,
            )
            return typed
        else:
            self.drop(path, "const", value, f"{self.target} cannot pin an object or array value")
        return out

    def split_enum(self, out: dict[str, Any], path: str) -> dict[str, Any]:
        """Keep the enum values the dialect allows; express the others another way.

        ``null`` becomes a null branch, ``true``/``false`` a boolean branch
        (lossy when only one of them was allowed), numbers a pinned
        ``minimum == maximum`` branch when ``numbers_in_enum`` is False.
        """
        numbers_in_enum = self.numbers_in_enum
        values: list[Any] = out["enum"]
        if "type" in out:
            # Values the node's type rejects are unreachable: leaving them out loses nothing.
            allowed_types = declared_types({"type": out["type"]}) or set()
            reachable = [v for v in values if types_overlap({json_type(v)}, allowed_types)]
            if len(reachable) != len(values):
                self.rec.note(
                    path, "enum_rewritten", "left out enum values its type rejects", keyword="enum"
                )
                values = reachable
                out = {**out, "enum": values}
        allowed = (str, int, float) if numbers_in_enum else (str,)
        kept = [v for v in values if isinstance(v, allowed) and not isinstance(v, bool)]
        if len(kept) == len(values) and (numbers_in_enum or not kept or "type" in out):
            return out
        notes = {k: v for k, v in out.items() if not is_assertion(k)}
        core = {k: v for k, v in out.items() if is_assertion(k) and k not in ("enum", "type")}
        branches: list[dict[str, Any]] = []
        strings = [v for v in kept if isinstance(v, str)]
        if numbers_in_enum and kept:
            branches.append({"enum": kept})
        elif strings:
            branches.append({"type": "string", "enum": strings})
        if not numbers_in_enum:
            for v in values:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    branches.append({"type": json_type(v), "minimum": v, "maximum": v})
        bools = {v for v in values if isinstance(v, bool)}
        if bools:
            branches.append({"type": "boolean"})
        if any(v is None for v in values):
            branches.append({"type": "null"})
        others = [v for v in values if isinstance(v, (dict, list))]
        lossy = len(bools) == 1 or bool(others)
        if "anyOf" in out or not branches:
            self.drop(path, "enum", values, f"{self.target} cannot write these enum values")
            return {k: v for k, v in out.items() if k != "enum"}
        if branches == [{"type": "string", "enum": values}]:
            detail = "added type 'string', which its values already have (enums are strings here)"
        else:
            detail = "split the enum by value type into anyOf branches" + (
                "; some values widened to their whole type" if lossy else ""
            )
        self.rec.note(path, "enum_rewritten", detail, keyword="enum", lossy=lossy)
        # Each branch keeps the node's other constraints (a pin inside a minimum stays a pin).
        joined = [conjoin(b, _for(b["type"], core) if "type" in b else core) or b for b in branches]
        if len(joined) == 1:
            return {**notes, **joined[0]}
        return {**notes, "anyOf": joined}


class GeminiOpenAPI(Gemini):
    """``gemini-openapi``: the OpenAPI 3.0 ``Schema`` of ``FunctionDeclaration.parameters``."""

    target: ClassVar[Target] = "gemini-openapi"
    keywords = frozenset(
        {
            "type", "format", "title", "description", "enum", "const", "items", "prefixItems",
            "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties",
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "properties",
            "required", "propertyOrdering", "anyOf", "default",
        }
    )  # fmt: skip
    inline_refs = True
    recursive_refs = False
    numbers_in_enum = False
    inline_reason = "the Gemini OpenAPI Schema has no $ref"

    def finish(self, out: dict[str, Any], s: dict[str, Any], path: str) -> dict[str, Any]:
        """Tuples as items, enums of strings, nulls as ``nullable``."""
        fmt = out.get("format")
        if fmt is not None and fmt not in ("enum", "date-time"):
            self.drop(path, "format", out.pop("format"), "only 'enum' and 'date-time' are accepted")
        if "prefixItems" in out:
            out = self.tuple_as_items(out, path)
        out = self.exclusive_bounds(out, path)
        out = self.const_as_enum(out, path)
        if isinstance(out.get("enum"), list):
            out = self.split_enum(out, path)
        return self.nullable(out, path)

    def nullable(self, out: dict[str, Any], path: str) -> dict[str, Any]:
        """Type lists and null branches written with OpenAPI's ``nullable: true``."""
        kinds = out.get("type")
        if isinstance(kinds, list):
            solid = [k for k in kinds if k != "null"]
            # An enum without null still rejects null whatever the type list says.
            has_null = len(solid) != len(kinds) and "enum" not in out
            if len(solid) <= 1:
                out["type"] = solid[0] if solid else "null"
                if has_null and solid:
                    out["nullable"] = True
            else:
                notes = {k: v for k, v in out.items() if not is_assertion(k)}
                core = {k: v for k, v in out.items() if is_assertion(k) and k != "type"}
                extra = {"nullable": True} if has_null else {}
                out = {**notes, "anyOf": [{"type": k, **_for(k, core), **extra} for k in solid]}
            self.rec.note(
                path, "type_rewritten", "wrote the type list as OpenAPI types", keyword="type"
            )
            return out
        branches = out.get("anyOf")
        if not isinstance(branches, list):
            return out
        solid = [b for b in branches if not _is_null(b)]
        if len(solid) == len(branches) or not solid:
            return out
        self.rec.note(
            path, "type_rewritten", "wrote the null branch as nullable: true", keyword="anyOf"
        )
        marked = [{**b, "nullable": True} for b in solid]
        if len(marked) == 1 and not any(is_assertion(k) for k in out if k != "anyOf"):
            notes = {k: v for k, v in out.items() if k != "anyOf"}
            return {**marked[0], **notes}
        return {**out, "anyOf": marked}


def _is_null(branch: Any) -> bool:
    """Whether an anyOf branch is exactly "null" (annotations aside)."""
    return (
        isinstance(branch, dict)
        and branch.get("type") == "null"
        and not any(is_assertion(k) for k in branch if k != "type")
    )


def _for(kind: str, keywords: dict[str, Any]) -> dict[str, Any]:
    """``keywords`` without those about other types (they never apply to ``kind``)."""
    family = "number" if kind == "integer" else kind
    foreign = set().union(*(v for k, v in TYPE_FAMILIES.items() if k != family))
    return {k: v for k, v in keywords.items() if k not in foreign}
