"""OpenAI's dialects: ``openai-strict`` (Structured Outputs) and plain ``openai``.

Strict rules, from the Structured Outputs guide ("Supported schemas",
https://platform.openai.com/docs/guides/structured-outputs): the root is an
object and not ``anyOf``; every object has ``additionalProperties: false`` and
lists every property in ``required``; an optional field is a union with
``null``; ``$defs``/``$ref`` and recursion (``{"$ref": "#"}`` included) are
supported; supported constraints are ``pattern`` and ``format`` (the formats
in ``STRICT_FORMATS``) for strings, ``multipleOf``, ``minimum``, ``maximum``
and their exclusive forms for numbers, ``minItems``/``maxItems`` for arrays;
``allOf``, ``not``, ``dependentRequired``, ``dependentSchemas``, ``if``,
``then``, ``else`` are not. ``minLength``/``maxLength`` are not listed as
supported, so they are dropped. ``title`` and ``default`` were accepted in a
recorded strict request (real-traffic case
``openai_chat/strict_tool_with_default_and_title_keywords``, January 2026).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from ._refs import RefIndex
from ._types import Recorder, Target, child, escape
from ._vocab import accepts_null, declared_types, implied_type, is_assertion, json_type
from ._walker import Compiler

STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_MISSING = object()


class OpenAIStrict(Compiler):
    """``openai-strict``: a schema OpenAI accepts with ``strict: true``."""

    target: ClassVar[Target] = "openai-strict"
    keywords = frozenset(
        {
            "type", "properties", "required", "additionalProperties", "items", "enum", "const",
            "anyOf", "$ref", "description", "title", "default", "pattern", "format", "minimum",
            "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems",
            "maxItems", "prefixItems",
        }
    )  # fmt: skip
    inline_refs = False
    root_pointer_ref = True

    def __init__(self, root: dict[str, Any], rec: Recorder) -> None:
        super().__init__(root, rec)
        self._nulls: list[tuple[dict[str, Any], str]] = []

    def prepare_root(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Refuse a root that is not an object or is a union."""
        s = super().prepare_root(raw)
        if s.get("type") != "object":
            raise self.rec.fail("#", "OpenAI needs an object at the root; wrap the value in one")
        return s

    def finish_root(self, out: dict[str, Any]) -> dict[str, Any]:
        """The guide: "the root level object of a schema must be an object, and not use anyOf"."""
        if "anyOf" in out:
            raise self.rec.fail(
                "#", "strict mode does not allow anyOf at the root", keyword="anyOf"
            )
        return out

    def compile_value(self, key: str, value: Any, path: str) -> Any:
        """``additionalProperties`` is replaced by ``false`` in ``finish``; not compiled."""
        if key == "additionalProperties":
            return value
        return super().compile_value(key, value, path)

    def ref_with_siblings(
        self, kept: str, ref: str, siblings: dict[str, Any], target: Any, path: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Strict mode does not take keywords beside ``$ref``: merge the target in once."""
        self.rec.note(
            path,
            "ref_inlined",
            f"inlined $ref {ref} once: strict mode does not allow other keywords beside $ref",
            keyword="$ref",
        )
        return self.merge_siblings(siblings, target, path), None

    def finish(self, out: dict[str, Any], s: dict[str, Any], path: str) -> dict[str, Any]:
        """Typed everywhere, formats filtered, objects closed, arrays with items."""
        fmt = out.get("format")
        if fmt is not None and fmt not in STRICT_FORMATS:
            del out["format"]
            self.drop(path, "format", fmt, "strict mode knows only " + ", ".join(STRICT_FORMATS))
        if "prefixItems" in out:
            out = self.tuple_as_items(out, path)
        if "type" not in out and "$ref" not in out and "anyOf" not in out:
            out = self._add_type(out, s, path)
        types = declared_types(out) or set()
        if "object" in types:
            self._close(out, s, path)
        if "array" in types and "items" not in out:
            raise self.rec.fail(path, "strict mode needs 'items' on every array", keyword="items")
        return out

    def _add_type(self, out: dict[str, Any], s: dict[str, Any], path: str) -> dict[str, Any]:
        values = [out["const"]] if "const" in out else out.get("enum")
        if isinstance(values, list) and values:
            kinds = {json_type(v) for v in values}
            if "number" in kinds:
                kinds.discard("integer")
            ordered = sorted(kinds, key=lambda k: (k == "null", k))
            self.rec.note(
                path,
                "type_rewritten",
                "added the type its values already have (strict mode wants a type on every node)",
                keyword="type",
            )
            return {"type": ordered[0] if len(ordered) == 1 else ordered, **out}
        implied = implied_type(s)
        if implied is None:
            raise self.rec.fail(
                path, "strict mode needs a type here, and 'any value' cannot be written there"
            )
        self.rec.note(
            path,
            "type_rewritten",
            f"added type {implied!r} (strict mode wants a type on every node); values of other "
            "types were accepted before",
            keyword="type",
            lossy=True,
        )
        return {"type": implied, **out}

    def _close(self, out: dict[str, Any], s: dict[str, Any], path: str) -> None:
        props: dict[str, Any] = out.get("properties", {})
        wanted = s.get("required", [])
        wanted = wanted if isinstance(wanted, list) else []
        if missing := [n for n in wanted if n not in props]:
            self.rec.note(
                path,
                "keyword_dropped",
                f"required {missing} have no property schema, which a closed object cannot "
                "express; objects that carried them are now rejected",
                keyword="required",
                lossy=True,
            )
        for name in props:
            if name not in wanted:
                props[name] = self._optional(props[name], child(path, "properties", name), name)
                self._nulls.append((out, name))
        extra = s.get("additionalProperties", _MISSING)
        if extra is not False:
            what = (
                "accepted extra properties matching a schema"
                if isinstance(extra, dict) and extra
                else "accepted any extra property"
            )
            self.rec.note(
                path,
                "additional_properties_closed",
                f"set additionalProperties to false (strict mode requires it); the object {what}, "
                "and those are now rejected",
                keyword="additionalProperties",
                lossy=True,
            )
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False

    def _optional(self, prop: dict[str, Any], path: str, name: str) -> dict[str, Any]:
        """An optional property as strict mode wants it: required, accepting null.

        Either way a null there is read as "left out" (``strip_added_nulls``),
        as OpenAI's guide suggests for emulating optional parameters.
        """
        if accepts_null(prop):
            self.rec.note(
                path,
                "made_required",
                f"listed optional property {name!r} as required (strict mode requires every "
                "property); it already accepts null, and a null there now means 'left out'",
                keyword="required",
            )
            return prop
        self.rec.note(
            path,
            "made_nullable",
            f"made optional property {name!r} required and nullable (strict mode requires every "
            "property); a null there means 'left out' and strip_added_nulls removes it",
            keyword="required",
        )
        return _with_null(prop)

    def added_null_pointers(self, schema: dict[str, Any]) -> tuple[str, ...]:
        """Pointers into the compiled ``schema`` of every property made nullable here."""
        owners: dict[int, list[str]] = {}
        for owner, name in self._nulls:
            owners.setdefault(id(owner), []).append(name)
        found: list[str] = []

        def walk(node: Any, pointer: str) -> None:
            if isinstance(node, dict):
                for name in owners.get(id(node), ()):
                    found.append(f"{pointer}/properties/{escape(name)}")
                for key, value in node.items():
                    walk(value, child(pointer, key))
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    walk(value, child(pointer, i))

        walk(schema, "#")
        return tuple(sorted(found))


def _with_null(prop: dict[str, Any]) -> dict[str, Any]:
    """``prop`` that also accepts null: in its type list when it can, else as an anyOf branch.

    ``prop`` is compiled output, changed in place on purpose: nested objects
    keep their identity, which ``added_null_pointers`` relies on.
    """
    kinds = prop.get("type")
    if [k for k in prop if is_assertion(k)] == ["anyOf"]:
        prop["anyOf"] = [*prop["anyOf"], {"type": "null"}]
        return prop
    if kinds is not None and not {"anyOf", "$ref", "const"} & prop.keys():
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        # The type may list null already while an enum leaves it out: add it only once.
        prop["type"] = kinds if "null" in kinds else [*kinds, "null"]
        if isinstance(prop.get("enum"), list):
            prop["enum"] = [*prop["enum"], None]
        return prop
    notes = {k: prop.pop(k) for k in list(prop) if not is_assertion(k)}
    return {"anyOf": [prop, {"type": "null"}], **notes}


def compile_openai(schema: dict[str, Any], rec: Recorder) -> dict[str, Any]:
    """``openai`` (non-strict): the schema as written, with the root fixed up.

    OpenAI rejects a function whose parameters are not an object, and an
    object schema without ``properties`` ("In context=(), object schema
    missing properties", reported with no-argument MCP tools in
    openai/openai-agents-python#454 and mark3labs/mcphost#88).
    """
    RefIndex(schema, rec)  # refuses remote and dangling references
    out = copy.deepcopy(schema)
    kind = out.get("type", _MISSING)
    why = "tool arguments (and agentkit outputs) are always a JSON object"
    if kind is _MISSING:
        out = {"type": "object", **out}
        rec.note("#", "root_normalized", f"added type 'object' to the root: {why}")
    elif isinstance(kind, list) and "object" in kind:
        out["type"] = "object"
        rec.note("#", "root_normalized", f"kept only 'object' of the root's types: {why}")
    elif kind != "object":
        raise rec.fail("#", "OpenAI needs an object at the root; wrap the value in one")
    if "properties" not in out:
        out["properties"] = {}
        rec.note(
            "#",
            "root_normalized",
            "added empty 'properties' to the root: OpenAI rejects an object schema without it",
            keyword="properties",
        )
    return out
