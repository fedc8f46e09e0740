"""The agent definition: instructions, tools, output schema and settings. No model.

The model is chosen when the agent runs (``--model``, ``AGENTKIT_MODEL``, the
file's default), so one definition runs unchanged on every provider.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ._tools import FunctionToolset, Tool, Toolset
from .exceptions import UserError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator
    from pydantic import TypeAdapter

    # Only a type here: the compaction module (and its pydantic model) loads
    # when a run compacts, not with every ``from agentkit import Agent``.
    from ._compaction import Compaction

    # Only a type here: ``from agentkit import Agent`` loads no pydantic model
    # (see ``_default_settings``).
    from ._model import ModelSettings

__all__ = ["Agent"]


def _default_settings() -> ModelSettings:
    # The settings model (and pydantic with it) loads when the first agent
    # without settings is made, not with the import of ``Agent``.
    # Built without validation (nothing is given to validate): that would
    # build the settings' validator, a few milliseconds of a first run.
    from ._model import ModelSettings
    from ._trusted import build

    return build(ModelSettings)


@dataclass(eq=False)
class Agent:
    """An agent, written once and run on any model.

    Attributes:
        name: A short name (used for the agent-as-tool and in traces).
        instructions: The system prompt.
        tools: ``@tool`` functions, plain functions and ``Toolset`` objects.
        output_type: A Python type (e.g. a pydantic model) the final answer
            must be; the result's ``output`` is an instance of it.
        output_schema: A JSON Schema the final answer must match, when the
            output has no Python type; ``output`` is the parsed JSON.
        settings: Default model settings.
        max_turns: Model calls allowed before the run stops with ``MaxTurnsError``.
        description: What the agent does, for people and for agent-as-tool.
        default_model: Model to use when the caller names none (agent files
            use this for their ``model:`` key; code should leave it unset).
        tool_timeout: Seconds a tool call may take unless the tool says otherwise.
        tool_retries: Failed calls per tool allowed in one run.
        output_retries: Times the model may retry an answer that does not
            match the output schema.
        max_cost_usd: Stop a run before a model call that could take it past
            this price (estimated before each call).
        allow_lossy_schemas: Accept tool and output schemas that a provider can
            only take in a form that accepts different values (a dropped
            constraint, say); each change is still reported as a warning.
        escalate_on: Makes the model chain a cascade, cheapest first: the
            conditions (``"invalid_output"``, ``"invalid_tool_call"``,
            ``"truncated"``) and check functions (given the final output,
            True accepts, False or a reason escalates) that move the run from
            a model to the next (see ``agentkit._cascade``).
        compaction: Send model calls a shorter conversation (the last turns,
            a summary, small tool results); the result keeps every message.
    """

    name: str
    instructions: str = ""
    tools: Sequence[Tool | Toolset | Callable[..., Any]] = ()
    output_type: Any = None
    output_schema: dict[str, Any] | None = None
    settings: ModelSettings = field(default_factory=_default_settings)
    max_turns: int = 10
    description: str | None = None
    default_model: str | None = None
    tool_timeout: float = 60.0
    tool_retries: int = 2
    output_retries: int = 2
    max_cost_usd: float | None = None
    allow_lossy_schemas: bool = False
    escalate_on: Sequence[str | Callable[[Any], Any]] = ()
    compaction: Compaction | None = None

    def __post_init__(self) -> None:
        if self.output_type is not None and self.output_schema is not None:
            raise UserError(f"agent {self.name}: give output_type or output_schema, not both")
        if self.max_turns < 1:
            raise UserError(f"agent {self.name}: max_turns must be at least 1")
        if self.escalate_on:
            from ._cascade import check_escalate_on

            check_escalate_on(self.escalate_on, f"agent {self.name}")
        functions: list[Tool | Callable[..., Any]] = []
        toolsets: list[Toolset] = []
        for item in self.tools:
            if isinstance(item, Tool) or (callable(item) and not isinstance(item, Toolset)):
                functions.append(item)
            elif isinstance(item, Toolset):
                toolsets.append(item)
            else:
                raise UserError(f"agent {self.name}: {item!r} is neither a tool nor a tool set")
        self._toolsets: list[Toolset] = (
            [FunctionToolset(functions), *toolsets] if functions else toolsets
        )

    @property
    def toolsets(self) -> list[Toolset]:
        """The agent's tools grouped as tool sets (functions form the first)."""
        return self._toolsets

    @cached_property
    def _output_adapter(self) -> TypeAdapter[Any] | None:
        if self.output_type is None:
            return None
        from pydantic import TypeAdapter

        return TypeAdapter(self.output_type)

    @cached_property
    def _output_plan(self) -> tuple[dict[str, Any] | None, bool]:
        """The output JSON Schema (always an object) and whether it wraps the value."""
        if self.output_schema is not None:
            if self.output_schema.get("type") == "object":
                return self.output_schema, False
            return _wrap(self.output_schema), True
        adapter = self._output_adapter
        if adapter is None:
            return None, False
        schema = adapter.json_schema()
        if schema.get("type") == "object":
            return schema, False
        return _wrap(schema), True

    @property
    def output_json_schema(self) -> dict[str, Any] | None:
        """The JSON Schema the model's structured answer must match (an object)."""
        return self._output_plan[0]

    @cached_property
    def _output_validator(self) -> Validator | None:
        schema = self.output_json_schema
        if schema is None:
            return None
        from jsonschema import Draft202012Validator

        return Draft202012Validator(schema)

    def parse_output(self, data: Any) -> Any:
        """Validate the model's parsed JSON answer and return the output value.

        Raises:
            ValueError: with a message for the model when the answer does not fit.
        """
        validator = self._output_validator
        if validator is None:
            return data
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        if errors:
            raise ValueError(
                "; ".join(
                    f"{'/'.join(str(p) for p in e.absolute_path) or 'output'}: {e.message}"
                    for e in errors[:5]
                )
            )
        if self._output_plan[1]:
            data = data["result"]
        adapter = self._output_adapter
        return data if adapter is None else adapter.validate_python(data)


def _wrap(schema: dict[str, Any]) -> dict[str, Any]:
    # Providers want an object at the root of a structured answer.
    inner = dict(schema)
    defs = inner.pop("$defs", None)
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {"result": inner},
        "required": ["result"],
        "additionalProperties": False,
    }
    if defs:
        wrapped["$defs"] = defs
    return wrapped
