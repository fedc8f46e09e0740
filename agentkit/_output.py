"""Structured output: how it is asked for (planned from capabilities) and read back."""

from __future__ import annotations

import json
from typing import Any, Literal

from ._agent import Agent
from ._model import ModelAdapter

__all__ = ["FINAL_RESULT_TOOL", "OutputMode", "parse_json_answer", "plan_output_mode"]

#: Name of the tool that carries the answer when structured output is tool-forced.
FINAL_RESULT_TOOL = "final_result"

OutputMode = Literal["native", "tool", "prompted"]


def plan_output_mode(agent: Agent, adapter: ModelAdapter) -> OutputMode | None:
    """How structured output is obtained: native, then tool-forcing, then prompted.

    The adapter's capabilities are those of the model it calls (adapters look
    them up per model id), so two models of one provider can plan differently:
    native output is skipped when the agent has tools and the model cannot
    combine the two (``Capabilities.native_output_with_tools``).
    """
    if agent.output_json_schema is None:
        return None
    caps = adapter.capabilities
    modes = caps.structured_output
    if "native" in modes and (caps.native_output_with_tools or not agent.toolsets):
        return "native"
    if "tool" in modes and caps.tools and ({"required", "named"} & caps.tool_choice):
        return "tool"
    return "prompted"


def prompted_instructions(schema: dict[str, Any]) -> str:
    """The system message that asks for JSON when nothing better is available."""
    return (
        "Give your final answer as a single JSON object, with no other text, "
        f"that matches this JSON Schema:\n{json.dumps(schema)}"
    )


def parse_json_answer(text: str) -> Any:
    """The JSON value in a text answer (code fences tolerated).

    Raises:
        ValueError: the text is not JSON.
    """
    stripped = text.strip()
    if stripped.startswith("```"):
        # Models asked for JSON in the prompt often fence it.
        stripped = stripped.strip("`")
        stripped = stripped.removeprefix("json").strip()
    return json.loads(stripped)
