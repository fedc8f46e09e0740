"""Every example agent file survives agent file → Agent Spec → agent file.

The fields Agent Spec can carry come back equal; the ones it cannot are named
in the export's warnings (and come back too, through ``metadata.agentkit``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit._agentfile import agent_from_document
from agentkit.agentspec import from_agentspec, to_agentspec
from agentkit.agentspec._common import deserialize
from agentkit.agentspec._export import RUNTIME_ONLY

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AGENT_FILES = sorted(EXAMPLES.rglob("agent.yaml"))

#: Agent-file keys an Agent Spec Agent carries in its own fields.
NATIVE = {"name", "description", "instructions", "tools", "settings", "mcp_servers"}


def _original(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_the_examples_exercise_every_part_of_the_mapping() -> None:
    documents = [_original(p) for p in AGENT_FILES]
    assert len(documents) >= 3
    servers = [s for d in documents for s in d.get("mcp_servers", [])]
    assert any("command" in s for s in servers)
    assert any("url" in s for s in servers)
    schemas = [d["output_schema"] for d in documents if "output_schema" in d]
    assert any(s.get("type") == "object" for s in schemas)
    assert any(s.get("type") != "object" for s in schemas)
    assert any("settings" in d for d in documents)
    assert any(":" in t for d in documents for t in d.get("tools", []))  # module:function
    assert any(":" not in t for d in documents for t in d.get("tools", []))  # entry point
    assert any("models" in d for d in documents)
    assert any("model" in d for d in documents)
    assert any("profiles" in d for d in documents)


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_round_trips_field_by_field(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = _original(path)
    spec, export_warnings = to_agentspec(path)

    # What was written is an Agent Spec Agent to pyagentspec itself.
    component, secrets = deserialize(spec, str(path))
    assert secrets == []
    assert type(component).__name__ == "Agent"
    assert component.name == original["name"]
    assert component.system_prompt == original.get("instructions", "")

    back, import_warnings = from_agentspec(spec)
    assert import_warnings == []
    for key in original:
        assert back.get(key) == original[key], key
    assert set(back) == set(original)

    warned = {w.field for w in export_warnings}
    for key in original:
        if key in RUNTIME_ONLY or key == "models":
            assert key in warned, f"{key} is not carried by Agent Spec but was not reported"
    assert not (warned & NATIVE), f"native fields reported as lost: {warned & NATIVE}"
    if "model" not in original and "models" not in original:
        assert "model" in warned  # no model: the export had to write a placeholder
    else:
        # A model is reported only for what Agent Spec cannot hold (a chain, a
        # provider it has no configuration for), never dropped silently; a
        # chain is named for what it is: a cascade with escalate_on, else a
        # fallback chain.
        chain = "cascade" if original.get("escalate_on") else "fallback chain"
        assert all(
            f"the {chain} after" in w.message or "generic LlmConfig" in w.message
            for w in export_warnings
            if w.field in ("model", "models")
        )
    # The imported agent file loads in agentkit (its MCP headers read this variable).
    monkeypatch.setenv("DOCS_TOKEN", "test-planted")
    agent = agent_from_document(back, "round trip", path.parent)
    assert agent.name == original["name"]
    assert agent.max_turns == original.get("max_turns", 10)


def test_a_written_file_round_trips_through_yaml(tmp_path: Path) -> None:
    spec, _ = to_agentspec(EXAMPLES / "trip_planner" / "agent.yaml")
    written = tmp_path / "spec.yaml"
    written.write_text(yaml.safe_dump(spec), encoding="utf-8")
    back, warnings = from_agentspec(written)
    assert warnings == []
    assert back == _original(EXAMPLES / "trip_planner" / "agent.yaml") | {
        # YAML numbers come back as floats where Agent Spec's fields are floats.
        "tool_timeout": 20.0
    }
