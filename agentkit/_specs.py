"""The JSON Schemas published in ``specs/``, generated from the models here.

``python -m agentkit._specs`` (or ``agentkit schema --write``) rewrites them;
a test fails when the checked-in files drift from the models.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .exceptions import UserError

__all__ = ["SCHEMA_NAMES", "generate_schemas", "load_schema"]

SCHEMA_BASE_URI = "https://agentkit.dev/specs/v1/"

#: The published schemas.
SCHEMA_NAMES = ("message", "tool", "agent", "stream-event", "run-event", "usage")


def _model_for(name: str) -> Any:
    from pydantic import TypeAdapter

    from ._agentfile import AgentFile
    from ._messages import Message, Usage
    from ._model import StreamEvent, ToolDefinition
    from ._result import RunEvent

    table: dict[str, Any] = {
        "message": TypeAdapter(Message),
        "tool": TypeAdapter(ToolDefinition),
        "agent": TypeAdapter(AgentFile),
        "stream-event": TypeAdapter(StreamEvent),
        "run-event": TypeAdapter(RunEvent),
        "usage": TypeAdapter(Usage),
    }
    return table[name]


def generate_schemas() -> dict[str, dict[str, Any]]:
    """Every published schema, freshly generated from the models."""
    out: dict[str, dict[str, Any]] = {}
    for name in SCHEMA_NAMES:
        body = _model_for(name).json_schema(by_alias=True, mode="serialization")
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{SCHEMA_BASE_URI}{name}.schema.json",
            **body,
        }
    return out


def _schema_dir() -> Any:
    return resources.files("agentkit_specs") / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A published schema, read from the ``agentkit_specs`` package.

    Raises:
        UserError: there is no schema of that name.
    """
    if name not in SCHEMA_NAMES:
        raise UserError(f"no schema named {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    text = (_schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def render(schema: dict[str, Any]) -> str:
    """A schema as it is written to disk."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Regenerate every schema file into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas(Path(str(_schema_dir()))):
        print(path)
