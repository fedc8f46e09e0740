"""Local dialects: ``ollama`` and ``llamacpp`` (grammar-ready for llama.cpp).

llama.cpp turns a JSON schema into a GBNF grammar (``json_schema_to_grammar``,
grammars/README.md and examples/json_schema_to_grammar.py in ggml-org/llama.cpp).
The converter handles each node with the *first* rule that applies, in this
order: ``$ref``; ``anyOf``/``oneOf`` (both as a plain union); a ``type``
list; ``const``; ``enum``; an object with ``properties`` (``required``,
``additionalProperties``); ``allOf``; an array (``items``, ``prefixItems`` as
a fixed-length tuple, ``minItems``/``maxItems``); a string ``pattern``; the
formats ``uuid``, ``date``, ``time``, ``date-time``; ``minLength``/``maxLength``;
integer ``minimum``/``maximum`` (and exclusive forms; "not number", says the
README); then plain types. So keywords beside ``anyOf`` are ignored
(ggml-org/llama.cpp#7703), a pattern wins over lengths, and an object that
does not say ``additionalProperties`` is *closed* ("additionalProperties
defaults to false", README). Patterns must be anchored ``^...$`` (the C++
converter errors otherwise) and may not use ``(?`` groups. The compiler writes
the schema so the converter's reading and JSON Schema's agree, and reports
what cannot agree.

Ollama's ``format`` goes through the same converter, and its ``$ref``
handling depended on the order of ``$defs`` (ollama/ollama#8444); its
``tools`` are rendered into the prompt. So ``ollama`` inlines every
non-recursive reference and otherwise passes the schema through.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ._algebra import conjoin_any, integer_bounds
from ._types import Target
from ._vocab import declared_types, implied_type, is_assertion
from ._walker import Compiler, OneOfBranches

_NUMERIC = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_GRAMMAR_FORMAT = re.compile(r"^(uuid[1-5]?|date|time|date-time)$")


class Ollama(Compiler):
    """``ollama``: the schema as written, references inlined."""

    target: ClassVar[Target] = "ollama"
    merge_all_of = False
    one_of_as_any_of = False
    inline_reason = (
        "Ollama converts schemas with llama.cpp, whose $ref handling depends on the order of "
        "$defs (ollama/ollama#8444)"
    )


class LlamaCpp(Compiler):
    """``llamacpp``: what llama.cpp's JSON-schema-to-grammar converter reads as written."""

    target: ClassVar[Target] = "llamacpp"
    keywords = frozenset(
        {
            "type", "enum", "const", "properties", "required", "additionalProperties", "items",
            "prefixItems", "minItems", "maxItems", "anyOf", "pattern", "format", "minLength",
            "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "$ref",
        }
    )  # fmt: skip
    keep_annotations = True  # the converter ignores them
    inline_reason = "llama.cpp's converter mishandles nested $ref (ggml-org/llama.cpp#8073)"

    def ref_with_siblings(
        self, kept: str, ref: str, siblings: dict[str, Any], target: Any, path: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The converter ignores keywords beside ``$ref``: annotations may stay, others merge."""
        if not any(is_assertion(k) for k in siblings):
            return siblings, {"$ref": kept, **self.node(siblings, path)}
        self.rec.note(path, "ref_inlined", f"inlined $ref {ref} once", keyword="$ref")
        return self.merge_siblings(siblings, target, path), None

    def expand_more(self, s: dict[str, Any], path: str) -> dict[str, Any]:
        """Copy keywords beside ``anyOf`` into its branches (the converter ignores them there)."""
        branches = s.get("anyOf")
        beside = {k: v for k, v in s.items() if is_assertion(k) and k != "anyOf"}
        if not isinstance(branches, list) or not beside:
            return s
        merged = [conjoin_any(beside, b) for b in branches]
        kept = OneOfBranches(merged) if isinstance(branches, OneOfBranches) else merged
        notes = {k: v for k, v in s.items() if not is_assertion(k)}
        if any(m is None for m in merged):
            for key, value in beside.items():
                self.drop(path, key, value, "llama.cpp ignores keywords beside anyOf (#7703)")
            return {**notes, "anyOf": branches}
        self.rec.note(
            path,
            "any_of_distributed",
            "copied the keywords beside anyOf into each branch (llama.cpp ignores them there)",
            keyword="anyOf",
        )
        return {**notes, "anyOf": kept}

    def finish(self, out: dict[str, Any], s: dict[str, Any], path: str) -> dict[str, Any]:
        """Say what the converter assumes otherwise; drop what it would ignore."""
        if "type" not in out and not any(k in out for k in ("$ref", "anyOf", "enum", "const")):
            implied = implied_type(out)
            if implied is not None:
                out = {"type": implied, **out}
                self.rec.note(
                    path,
                    "type_rewritten",
                    f"added type {implied!r}: llama.cpp reads these keywords as that type, so "
                    "values of other types, accepted before, are rejected",
                    keyword="type",
                    lossy=True,
                )
        if "properties" in out:
            self._object(out, path)
        elif "required" in out:
            self.drop(path, "required", out.pop("required"), "llama.cpp needs it with properties")
        if "prefixItems" in out:
            self._tuple(out, path)
        self._strings(out, path)
        return self._numbers(out, path)

    def _object(self, out: dict[str, Any], path: str) -> None:
        if "additionalProperties" not in out:
            out["additionalProperties"] = True
            self.rec.note(
                path,
                "additional_properties_explicit",
                "wrote additionalProperties: true (JSON Schema's default): llama.cpp closes "
                "objects that do not say it. Set it to false in the tool's schema for a "
                "tighter, faster grammar",
                keyword="additionalProperties",
            )

    def _tuple(self, out: dict[str, Any], path: str) -> None:
        # The converter makes a tuple of exactly len(prefixItems) items and
        # ignores items/minItems/maxItems beside it.
        prefix = out["prefixItems"]
        exact = out.get("items") is False and out.get("minItems", 0) == len(prefix)
        for key in ("items", "minItems", "maxItems"):
            out.pop(key, None)
        self.rec.note(
            path,
            "tuple_rewritten",
            "llama.cpp reads prefixItems as a tuple of exactly that length"
            + ("" if exact else "; shorter or longer arrays, accepted before, are rejected"),
            keyword="prefixItems",
            lossy=not exact,
        )

    def _strings(self, out: dict[str, Any], path: str) -> None:
        pattern = out.get("pattern")
        if isinstance(pattern, str):
            if "(?" in pattern or not (pattern.startswith("^") and pattern.endswith("$")):
                self.drop(
                    path,
                    "pattern",
                    out.pop("pattern"),
                    "llama.cpp needs patterns anchored ^...$ and without (? groups",
                )
            else:
                for key in ("minLength", "maxLength"):
                    if key in out:
                        self.drop(path, key, out.pop(key), "llama.cpp applies only the pattern")
                return
        fmt = out.get("format")
        if isinstance(fmt, str) and _GRAMMAR_FORMAT.match(fmt):
            for key in ("minLength", "maxLength"):
                if key in out:
                    self.drop(path, key, out.pop(key), f"llama.cpp applies only format {fmt!r}")

    def _numbers(self, out: dict[str, Any], path: str) -> dict[str, Any]:
        if not any(k in out for k in _NUMERIC):
            return out
        rewritten = integer_bounds(out)
        if rewritten is not None:
            self.rec.note(
                path,
                "type_rewritten",
                "wrote the bounds as inclusive integer minimum/maximum (the same integers)",
                keyword="minimum",
            )
            return rewritten
        types = declared_types(out) or set()
        if types - {"null"} == {"integer"}:
            return out
        for key in _NUMERIC:
            if key in out:
                self.drop(path, key, out.pop(key), "llama.cpp supports bounds only on integers")
        return out
