"""Conformance scenarios: YAML data in ``agentkit_specs``, loaded and validated here.

The scenarios are data so that anyone (a third-party adapter, another
language's port) can read the same set; this module only turns the files into
typed ``Scenario`` objects after checking them against their JSON Schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from .._messages import Message
from .._model import ModelRequest, ModelSettings, ToolDefinition
from ..exceptions import SpecValidationError

__all__ = ["LEVELS", "Scenario", "load_scenarios", "scenario_schema", "scenarios_dir"]

#: The levels, in report order.
LEVELS = ("core", "tools", "streaming", "structured_output", "multimodal", "errors", "robustness")


def scenarios_dir() -> Traversable:
    """The folder of scenario YAML files shipped in ``agentkit_specs``."""
    return resources.files("agentkit_specs") / "scenarios"


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema every scenario file must match."""
    text = (resources.files("agentkit_specs") / "scenarios.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True)
class Scenario:
    """One conformance scenario.

    Attributes:
        id: Stable identifier, ``level.name``.
        title: One line saying what is checked.
        level: One of ``LEVELS``.
        needs: Capability names the scenario depends on (``tools``,
            ``tool_choice:required``, ``setting:max_tokens``...).
        live: Whether the checks make sense against a real model.
        stream: Call ``adapter.stream`` rather than ``adapter.generate``.
        cancel_after_events: Stop reading the stream after this many events.
        request: The request, in agentkit's neutral JSON shapes.
        script: How the scripted model answers in emulated mode.
        checks: What the outcome must satisfy.
        version: The scenario-set version of the file it came from.
    """

    id: str
    title: str
    level: str
    request: dict[str, Any]
    checks: dict[str, Any]
    needs: tuple[str, ...] = ()
    live: bool = True
    stream: bool = False
    cancel_after_events: int | None = None
    script: dict[str, Any] = field(default_factory=dict)
    version: str = "1"

    def model_request(self) -> ModelRequest:
        """The neutral ``ModelRequest`` this scenario sends."""
        data = self.request
        return ModelRequest(
            messages=[Message.model_validate(m) for m in data["messages"]],
            tools=[ToolDefinition.model_validate(t) for t in data.get("tools", [])],
            tool_choice=data.get("tool_choice"),
            output_schema=data.get("output_schema"),
            settings=ModelSettings.model_validate(data.get("settings", {})),
        )


def _validate(document: Any, source: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(scenario_schema())
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        raise SpecValidationError(source, path, error.message)


def load_scenarios(
    source: Traversable | Path | None = None, *, levels: list[str] | None = None
) -> list[Scenario]:
    """Load and validate every ``*.yaml`` scenario file, in level order.

    Args:
        source: A folder of scenario files; the shipped set by default.
        levels: Keep only these levels.

    Returns:
        The scenarios, sorted by level (as in ``LEVELS``) then file order.

    Raises:
        SpecValidationError: A file does not match the scenario schema.
    """
    folder = source if source is not None else scenarios_dir()
    found: list[Scenario] = []
    seen: set[str] = set()
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    for item in files:
        document = yaml.safe_load(item.read_text("utf-8"))
        _validate(document, item.name)
        for raw in document["scenarios"]:
            if raw["id"] in seen:
                raise SpecValidationError(item.name, "/scenarios", f"duplicate id {raw['id']}")
            seen.add(raw["id"])
            found.append(
                Scenario(
                    id=raw["id"],
                    title=raw["title"],
                    level=raw["level"],
                    request=raw["request"],
                    checks=raw["checks"],
                    needs=tuple(raw.get("needs", ())),
                    live=raw.get("live", True),
                    stream=raw.get("stream", False),
                    cancel_after_events=raw.get("cancel_after_events"),
                    script=raw.get("script", {}),
                    version=str(document["version"]),
                )
            )
    if levels:
        found = [s for s in found if s.level in levels]
    return sorted(found, key=lambda s: LEVELS.index(s.level))
