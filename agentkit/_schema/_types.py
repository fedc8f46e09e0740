"""What the schema compiler takes and gives: targets, changes, results, the error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..exceptions import SchemaCompileError

#: The schema dialects agentkit compiles to.
Target = Literal["openai-strict", "openai", "gemini", "gemini-openapi", "ollama", "llamacpp"]
TARGETS: tuple[Target, ...] = (
    "openai-strict",
    "openai",
    "gemini",
    "gemini-openapi",
    "ollama",
    "llamacpp",
)

#: What happened to one place of the schema.
#:
#: ``ref_inlined``        a ``$ref`` was replaced by the schema it points to
#: ``ref_truncated``      a recursive ``$ref`` was cut off at a depth (always lossy)
#: ``ref_rewritten``      a ``$ref`` now points into the root ``$defs``
#: ``ref_wrapped``        ``{"$ref", ...siblings}`` became ``{...siblings, "anyOf": [{"$ref"}]}``
#: ``defs_moved``         a definition moved into the root ``$defs``
#: ``keyword_dropped``    a keyword was removed (lossy when it constrained values)
#: ``made_nullable``      an optional property became required and nullable
#: ``made_required``      an optional property that already accepted null became required
#: ``additional_properties_closed``    ``additionalProperties: false`` was set
#: ``additional_properties_explicit``  an absent ``additionalProperties`` was written as ``true``
#: ``type_rewritten``     the same values, or a declared change of them, in another spelling
#: ``const_to_enum``      ``const`` became a one-value ``enum``
#: ``enum_rewritten``     an ``enum`` was split by value type
#: ``one_of_to_any_of``   ``oneOf`` became ``anyOf`` (lossy unless the branches are disjoint)
#: ``all_of_merged``      the branches of ``allOf`` were merged into their parent
#: ``any_of_distributed`` keywords beside ``anyOf`` were copied into each branch
#: ``tuple_rewritten``    ``prefixItems`` was rewritten
#: ``root_normalized``    the root was made an object schema
#: ``strict_disabled``    OpenAI strict mode could not be used; the schema was sent non-strict
#: ``unsupported``        the target cannot express this at all (always raises)
ChangeKind = Literal[
    "ref_inlined",
    "ref_truncated",
    "ref_rewritten",
    "ref_wrapped",
    "defs_moved",
    "keyword_dropped",
    "made_nullable",
    "made_required",
    "additional_properties_closed",
    "additional_properties_explicit",
    "type_rewritten",
    "const_to_enum",
    "enum_rewritten",
    "one_of_to_any_of",
    "all_of_merged",
    "any_of_distributed",
    "tuple_rewritten",
    "root_normalized",
    "strict_disabled",
    "unsupported",
]


@dataclass(frozen=True)
class SchemaChange:
    """One difference between the schema as written and as sent.

    Attributes:
        path: JSON pointer into the *original* schema, like ``#/properties/tags/items``.
        kind: What was done (see ``ChangeKind``).
        keyword: The keyword concerned, when there is one.
        detail: A sentence a person can act on.
        lossy: True when the compiled schema accepts a different set of values
            than the original one (it alters what the tool accepts).
    """

    path: str
    kind: ChangeKind
    keyword: str | None
    detail: str
    lossy: bool


@dataclass(frozen=True)
class CompiledSchema:
    """A schema in one provider's dialect, with every change that took.

    Attributes:
        schema: The schema to send. A fresh object: mutating it never touches the input.
        changes: Every change, in the order the compiler made them.
        target: The dialect.
        strict: True for ``openai-strict``: strict mode can be claimed for this schema.
        added_nulls: JSON pointers into ``schema`` of properties that were optional
            and are now required-but-nullable; ``strip_added_nulls`` uses them to
            turn a ``null`` there back into an absent property.
    """

    schema: dict[str, Any]
    changes: tuple[SchemaChange, ...]
    target: Target
    strict: bool
    added_nulls: tuple[str, ...] = ()

    @property
    def lossy(self) -> bool:
        """Whether any change alters the set of accepted values."""
        return any(c.lossy for c in self.changes)


def escape(token: str) -> str:
    """Escape one JSON pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def child(path: str, *tokens: str | int) -> str:
    """``path`` extended by ``tokens``, each escaped."""
    return path + "".join("/" + escape(str(t)) for t in tokens)


class Recorder:
    """Collects changes in order; the same (path, kind, keyword) is kept once.

    A definition inlined at three places is compiled three times, but its
    changes are reported once, at its own path.
    """

    def __init__(self, target: Target, tool: str | None) -> None:
        self.target = target
        self.tool = tool
        self.changes: list[SchemaChange] = []
        self._seen: set[tuple[str, str, str | None]] = set()

    def note(
        self,
        path: str,
        kind: ChangeKind,
        detail: str,
        *,
        keyword: str | None = None,
        lossy: bool = False,
    ) -> None:
        """Record one change."""
        key = (path, kind, keyword)
        if key not in self._seen:
            self._seen.add(key)
            self.changes.append(SchemaChange(path, kind, keyword, detail, lossy))

    def fail(self, path: str, detail: str, *, keyword: str | None = None) -> SchemaCompileError:
        """Record an inexpressible construct and return the error to raise."""
        self.note(path, "unsupported", detail, keyword=keyword, lossy=True)
        return SchemaCompileError(
            f"at {path}: {detail}", changes=self.changes, tool=self.tool, target=self.target
        )
