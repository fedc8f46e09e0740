"""History compaction: calls are sent less, the result keeps all, the ledger shows the saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
    load_agent,
    run,
    tool,
)
from agentkit._compaction import Compaction, compact_messages, split_turns
from agentkit.exceptions import SpecValidationError
from agentkit.testing import FunctionAdapter

BIG = "row " * 2000  # about 2,000 tokens


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return BIG if key == "big" else f"value of {key}"


def looping(keys: list[str]) -> Any:
    """Calls lookup once per key, one call a turn, then answers."""

    asked = iter(range(len(keys) + 1))

    def model(request: ModelRequest) -> Any:
        # Counted, not read from the messages: compaction may leave old ones out.
        done = next(asked)
        if done < len(keys):
            return [ToolCallPart(id=f"c{done}", name="lookup", arguments={"key": keys[done]})]
        return "done"

    return model


def result(call_id: str, text: str) -> ToolResultPart:
    return ToolResultPart(call_id=call_id, name="lookup", content=[TextPart(text=text)])


def conversation() -> list[Message]:
    return [
        Message.system("Be brief."),
        Message.user("Look up a, b and c."),
        Message(role="assistant", parts=[ToolCallPart(id="1", name="lookup", arguments={})]),
        Message(role="tool", parts=[result("1", BIG)]),
        Message(role="assistant", parts=[ToolCallPart(id="2", name="lookup", arguments={})]),
        Message(role="tool", parts=[result("2", "b")]),
        Message.user("And c?"),
    ]


def test_turns_never_split_a_tool_call_from_its_result() -> None:
    turns = split_turns(conversation())
    assert [[m.role for m in t] for t in turns] == [
        ["user"],
        ["assistant", "tool"],
        ["assistant", "tool"],
        ["user"],
    ]


def test_keep_last_turns_leaves_older_turns_out_with_a_note() -> None:
    sent, older = compact_messages(conversation(), Compaction(keep_last_turns=2))
    assert [m.role for m in sent] == ["system", "user", "assistant", "tool", "user"]
    assert "3 earlier messages" in sent[1].text
    assert len(older) == 2
    # Whatever is kept starts at a turn: every kept tool result has its call.
    calls = {p.id for m in sent for p in m.parts if isinstance(p, ToolCallPart)}
    results = {p.call_id for m in sent for p in m.parts if isinstance(p, ToolResultPart)}
    assert results <= calls


def test_older_turns_go_in_steps_so_the_prefix_holds_for_several_calls() -> None:
    messages = [Message.user(f"q{i}") for i in range(10)]
    policy = Compaction(keep_last_turns=4)
    sent = [compact_messages(messages[:n], policy)[0] for n in range(5, 11)]
    # 5 turns: nothing yet; 6-7: two left out; 8-9: four; 10: six.
    assert [len(s) for s in sent] == [5, 5, 6, 5, 6, 5]
    assert sent[1][:4] == sent[2][:4]  # the same beginning, byte for byte
    assert sent[3][:4] == sent[4][:4]


def test_large_results_of_earlier_turns_become_placeholders() -> None:
    sent, older = compact_messages(conversation(), Compaction(max_tool_result_tokens=100))
    assert older == []
    first_result = sent[3].parts[0]
    assert isinstance(first_result, ToolResultPart)
    assert first_result.text.startswith("[result of lookup left out to save tokens")
    assert sent[5].parts[0].text == "b"  # type: ignore[union-attr]
    # The latest turn's results go whole, however large.
    latest = [*conversation()[:-1]]
    sent, _ = compact_messages(latest, Compaction(max_tool_result_tokens=100))
    assert sent[-1].parts[0].text == "b"  # type: ignore[union-attr]
    assert sent[3].parts[0].text.startswith("[result")  # type: ignore[union-attr]


def test_a_run_sends_less_keeps_everything_and_the_ledger_shows_it() -> None:
    seen: list[list[Message]] = []

    def run_with(compaction: Compaction | None) -> Any:
        script = looping(["big", "x", "y"])

        def model(request: ModelRequest) -> Any:
            seen.append(request.messages)
            return script(request)

        agent = Agent(name="a", instructions="Be brief.", tools=[lookup], compaction=compaction)
        return anyio.run(lambda: run(agent, "Look up big, x, y.", model=FunctionAdapter(model)))

    plain = run_with(None)
    assert plain.ledger.compacted_tokens == 0
    seen.clear()
    compacted = run_with(Compaction(max_tool_result_tokens=50))
    assert compacted.output == "done"
    # The result keeps the whole conversation ...
    assert [m.model_dump() for m in compacted.messages] == [m.model_dump() for m in plain.messages]
    # ... while calls after the big result's turn were sent the placeholder.
    assert BIG in str(seen[1][-1].parts[0])
    assert all(BIG not in str(m.parts) for m in seen[2])
    saved = [c.compacted_tokens for c in compacted.ledger.calls]
    assert saved[:2] == [0, 0]
    assert saved[2] > 1900
    assert compacted.ledger.compacted_tokens == sum(saved)
    from agentkit import format_ledger

    assert "compaction saved" in format_ledger(compacted.ledger)
    assert "compaction saved" not in format_ledger(plain.ledger)


def summariser_model(request: ModelRequest) -> ModelResponse:
    assert "Summarise" in request.messages[0].text
    return ModelResponse(
        message=Message.assistant(f"SUMMARY({len(request.messages[1].text)})"),
        finish_reason="stop",
        usage=Usage(input_tokens=40, output_tokens=6),
        provider="cheap",
        model_id="m",
    )


def test_older_turns_are_summarised_by_the_chosen_model_once(monkeypatch: Any) -> None:
    from agentkit import _registry

    summariser = FunctionAdapter(summariser_model)
    real = _registry.cached_model
    asked: list[str] = []

    def cached(model: Any, options: Any = None) -> Any:
        if model == "cheap:model":
            asked.append(model)
            return summariser
        return real(model, options)

    monkeypatch.setattr(_registry, "cached_model", cached)
    seen: list[list[Message]] = []
    script = looping(["a", "b", "c", "d"])

    def model(request: ModelRequest) -> Any:
        seen.append(request.messages)
        return script(request)

    agent = Agent(
        name="a",
        tools=[lookup],
        compaction=Compaction(keep_last_turns=2, summarize_with="cheap:model"),
    )
    result = anyio.run(lambda: run(agent, "Look up a to d.", model=FunctionAdapter(model)))
    assert result.output == "done"
    assert len(seen[0]) == 1  # nothing to compact yet
    # From the third call on, older turns come back as one summary message.
    assert seen[2][0].role == "user"
    assert seen[2][0].text.startswith("Summary of the 1 earlier message of")
    assert seen[3][0].text.startswith("Summary of the 3 earlier messages of")
    assert "SUMMARY(" in seen[2][0].text
    # One summary per set of older turns, each said with its cost.
    notes = [w for w in result.warnings if w.feature == "compaction"]
    assert len(notes) == len(summariser.calls) == 3
    assert "40 input and 6 output tokens" in notes[0].message


def test_agent_files_take_a_compaction_policy(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "name: a\ncompaction:\n  keep_last_turns: 4\n  max_tool_result_tokens: 500\n",
        encoding="utf-8",
    )
    agent = load_agent(path)
    assert agent.compaction == Compaction(keep_last_turns=4, max_tool_result_tokens=500)
    path.write_text("name: a\ncompaction:\n  keep_last_turns: 0\n", encoding="utf-8")
    with pytest.raises(SpecValidationError, match="compaction"):
        load_agent(path)
