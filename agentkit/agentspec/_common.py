"""What export and import share: the warning type, the pyagentspec guard, validation.

pyagentspec is an optional dependency: it is imported here, on first use, and
a missing install is a ``UserError`` that says how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..exceptions import SpecValidationError, UserError

if TYPE_CHECKING:
    from pyagentspec import Component

__all__ = ["AGENTKIT_KEY", "ConversionWarning", "deserialize", "require_pyagentspec"]

#: The key under a component's ``metadata`` that holds what only agentkit reads.
AGENTKIT_KEY = "agentkit"

_INSTALL_HINT = (
    "Open Agent Specification support needs pyagentspec: "
    "pip install 'agentkit-interop[agentspec]' (or: uv add pyagentspec)"
)


@dataclass(frozen=True)
class ConversionWarning:
    """Something one side can say and the other cannot, reported instead of dropped.

    Attributes:
        field: The field concerned: an agent-file key on export (``max_cost_usd``),
            a JSON path of the Agent Spec document on import (``$.llm_config``).
        message: What was changed or left out, in a sentence a person can act on.
    """

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def require_pyagentspec() -> None:
    """Import pyagentspec, or say how to install it.

    Raises:
        UserError: pyagentspec is not installed.
    """
    try:
        import pyagentspec  # noqa: F401
    except ImportError as exc:
        raise UserError(f"{_INSTALL_HINT} ({exc})") from exc


def _json_path(location: tuple[Any, ...]) -> str:
    path = "$"
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def deserialize(document: dict[str, Any], source: str) -> Component:
    """Load an Agent Spec document with pyagentspec's own deserializer.

    Args:
        document: The parsed JSON or YAML document.
        source: Where it came from, for error messages.

    Raises:
        SpecValidationError: pyagentspec rejects the document; the path names
            the offending field as pyagentspec reports it.
        UserError: pyagentspec is not installed.
    """
    require_pyagentspec()
    from pyagentspec.serialization import AgentSpecDeserializer
    from pydantic import ValidationError

    if not isinstance(document, dict):
        raise SpecValidationError(source, "$", "an Agent Spec document is a JSON/YAML object")
    try:
        component = AgentSpecDeserializer().from_dict(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SpecValidationError(
            source, _json_path(tuple(first["loc"])), f"{first['msg']} (pyagentspec: {exc.title})"
        ) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise SpecValidationError(source, "$", f"pyagentspec rejects it: {exc}") from exc
    if isinstance(component, dict):  # only for disaggregated documents, never asked here
        raise SpecValidationError(source, "$", "a document of referenced components only")
    return component
