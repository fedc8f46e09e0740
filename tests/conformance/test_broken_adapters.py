"""The kit catches each deliberately broken adapter, on the right scenario, saying why."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from agentkit import ModelAdapter
from agentkit.conformance import (
    ConformanceReport,
    EmulatedHarness,
    FunctionHarness,
    Harness,
    run_harness,
)

from . import broken

#: broken adapter -> (the scenario that must fail, words the failure must contain)
CASES: dict[str, tuple[Callable[[ModelAdapter], ModelAdapter], str, str]] = {
    "drops_usage": (broken.DropsUsage, "core.plain_answer", "usage: not reported"),
    "merges_parallel_calls": (
        broken.MergesParallelCalls,
        "tools.parallel_calls",
        "tool_calls: got 1",
    ),
    "string_arguments": (
        broken.StringArguments,
        "tools.single_call",
        "arguments are not a parsed JSON object",
    ),
    "loses_last_text_delta": (
        broken.LosesLastTextDelta,
        "streaming.text_exact",
        "text deltas add up to",
    ),
    "swallows_rate_limit": (
        broken.SwallowsRateLimit,
        "errors.rate_limit",
        "expected RateLimitError, but the call succeeded",
    ),
    "leaves_task_on_cancel": (
        broken.LeavesTaskOnCancel,
        "streaming.cancel",
        "asyncio task(s) left running",
    ),
    "drops_tool_choice": (
        broken.DropsToolChoice,
        "tools.forced_required",
        "sent: tool_choice None reached the model, expected 'required'",
    ),
}


async def _report(harness: Harness) -> ConformanceReport:
    with harness:  # type: ignore[attr-defined]
        return await run_harness(harness)


@pytest.fixture(autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    broken.cancel_leaked_tasks()


@pytest.mark.anyio
async def test_the_unbroken_function_adapter_passes() -> None:
    report = await _report(FunctionHarness())
    assert report.ok, report.summary()
    # No wire: no stream to cut, no connection to refuse or to time out.
    assert {r.scenario.id for r in report.results if r.verdict == "n/a"} == {
        "robustness.truncated_stream",
        "errors.connection_refused",
        "errors.read_timeout",
    }


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_broken_adapter_fails_on_the_right_scenario(name: str) -> None:
    wrap, scenario_id, words = CASES[name]
    report = await _report(FunctionHarness(wrap))
    assert not report.ok
    verdicts = {r.scenario.id: r for r in report.results}
    caught = verdicts[scenario_id]
    assert caught.verdict == "fail", (name, caught)
    assert any(words in problem for problem in caught.problems), caught.problems


@pytest.mark.anyio
async def test_a_stream_left_open_on_cancel_is_caught_on_the_wire() -> None:
    from agentkit_adapters.openai import OpenAIChatAdapter

    def make(url: str) -> ModelAdapter:
        return broken.LeavesConnectionOnCancel(
            OpenAIChatAdapter("gpt-4.1-mini", api_key="k", base_url=f"{url}/v1")
        )

    harness = EmulatedHarness("openai-chat", make)
    with harness:
        report = await run_harness(harness, levels=["streaming"])
        kept = broken.LeavesConnectionOnCancel.kept
        for stream in kept:  # close what the broken adapter left, before the emulator stops
            await stream.aclose()  # type: ignore[attr-defined]
        kept.clear()
    [cancel] = [r for r in report.results if r.scenario.id == "streaming.cancel"]
    assert cancel.verdict == "fail"
    assert "cleanup: the connection stayed open after the stream was abandoned" in cancel.problems
