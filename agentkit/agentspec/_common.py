"""What export and import share: the warning type, the pyagentspec guard, validation.

pyagentspec is an optional dependency: it is imported here, on first use, and
a missing install is a ``UserError`` that says how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import SpecValidationError, UserError

if TYPE_CHECKING:
    from pyagentspec import Component

__all__ = [
    "AGENTKIT_KEY",
    "ConversionWarning",
    "deserialize",
    "read_document",
    "require_pyagentspec",
]

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


def read_document(file: Path, what: str) -> Any:
    """A JSON or YAML file, parsed (JSON is YAML, so one parser reads both).

    Raises:
        UserError: the file cannot be read or is not UTF-8 text.
        SpecValidationError: it is neither JSON nor YAML.
    """
    import yaml

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {what} {file}: {exc.strerror}") from exc
    try:
        # utf-8-sig: editors on Windows often start a file with a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{what} {file} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start} cannot be decoded; save it as UTF-8"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecValidationError(str(file), "$", f"not valid JSON or YAML: {exc}") from exc


def _json_path(location: tuple[Any, ...]) -> str:
    path = "$"
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def deserialize(document: dict[str, Any], source: str) -> tuple[Component, list[ConversionWarning]]:
    """Load an Agent Spec document with pyagentspec's own deserializer.

    Args:
        document: The parsed JSON or YAML document.
        source: Where it came from, for error messages.

    Returns:
        The component, and a warning for each secret the document leaves out.

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
    registry = {ref: ({} if ref.endswith("headers") else "") for ref in _missing_secrets(document)}
    try:
        component = AgentSpecDeserializer().from_dict(document, components_registry=registry)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SpecValidationError(
            source, _json_path(tuple(first["loc"])), f"{first['msg']} (pyagentspec: {exc.title})"
        ) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise SpecValidationError(source, "$", f"pyagentspec rejects it: {exc}") from exc
    if isinstance(component, dict):  # only for disaggregated documents, never asked here
        raise SpecValidationError(source, "$", "a document of referenced components only")
    warnings = [
        ConversionWarning(
            f"$component_ref {ref}",
            "a secret Agent Spec left out of the document (a sensitive field): agent files "
            "hold no secrets either; give it to the provider or server through its variable",
        )
        for ref in sorted(registry)
    ]
    return component, warnings


def _missing_secrets(document: Any) -> set[str]:
    """References to fields (``component-id.field``) the document does not define.

    pyagentspec writes every sensitive field (API keys, secret headers, key
    files) as ``{"$component_ref": "<id>.<field>"}`` and wants the values in a
    registry when reading the document back. An import needs no secret, so
    each one is given an empty value and reported.
    """
    used: set[str] = set()
    defined: set[str] = set()
    stack: list[Any] = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            ref = value.get("$component_ref")
            if isinstance(ref, str):
                used.add(ref)
            defined.update(value.get("$referenced_components") or {})
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    # Only field references: a missing component reference is an error pyagentspec reports.
    return {ref for ref in used - defined if "." in ref}
