"""The kit catches each deliberately broken adapter, on the right scenario, saying why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentkit import ModelAdapter
from agentkit.conformance import (
    ConformanceReport,
    EmulatedHarness,
    FunctionHarness,
    Harness,
    check_adapter,
    run_harness,
)

from . import broken

#: broken adapter -> (the scenario that must fail, words the failure must contain)
CASES: dict[str, tuple[Callable[[ModelAdapter], ModelAdapter], str, str]] = {
    "drops_usage": (broken.DropsUsage, "core.plain_answer", "usage: not reported"),
    "unchecked_count_as_text": (
        broken.UncheckedCountAsText,
        "core.plain_answer",
        "validity: the ModelResponse is invalid, built without validation (unchecked()?) "
        "from a value that is not of its field's type: usage.input_tokens: Input should be "
        "a valid integer, got '",
    ),
    "unchecked_parts_as_tuple": (
        broken.UncheckedPartsAsTuple,
        "core.plain_answer",
        "validity: the ModelResponse is invalid, built without validation (unchecked()?) "
        "from a value that is not of its field's type: message.parts: Input should be a "
        "valid list",
    ),
    "unchecked_arguments_in_stream": (
        broken.UncheckedArgumentsInStream,
        "streaming.tool_call_ids",
        "(ToolCallEndEvent) is invalid, built without validation (unchecked()?) from a value "
        "that is not of its field's type: call.arguments: Input should be a valid dictionary",
    ),
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
    "drops_cached_tokens": (
        broken.DropsCachedTokens,
        "core.usage_cached",
        "usage: cache_read_input_tokens is 0, but the wire said 1024 (dropped)",
    ),
    "drops_reasoning_tokens": (
        broken.DropsReasoningTokens,
        "core.usage_reasoning",
        "usage: reasoning_output_tokens is 0, but the wire said 256 (dropped)",
    ),
    "counts_streamed_usage_twice": (
        broken.CountsStreamedUsageTwice,
        "streaming.usage_exact",
        "usage: input_tokens is 28, but the wire said 14 (counted twice?",
    ),
    "invents_usage": (
        broken.InventsUsage,
        "streaming.usage_absent",
        "usage: the provider reported no usage, yet the adapter says input_tokens=0",
    ),
    "renumbers_tool_call_ids": (
        broken.RenumbersToolCallIds,
        "tools.call_ids",
        "tool_calls: ids ['toolu_00', 'toolu_01'] are not the wire's "
        "['call_Zx81aQ', 'call_Qm07bR']",
    ),
    "changes_id_between_start_and_end": (
        broken.ChangesIdBetweenStartAndEnd,
        "streaming.tool_call_ids",
        "stream: tool call 0 started with id 'pending_0' but ended with id 'call_Vy33kP'",
    ),
    "renumbers_sent_ids": (
        broken.RenumbersSentIds,
        "tools.result_ids",
        "sent: tool results answer call ids ['toolu_00'], expected ['call_Rt55xW']",
    ),
    "blocks_loop_on_cancel": (
        broken.BlocksLoopOnCancel,
        "streaming.cancel",
        "event loop: blocked for 1.5 s during the call",
    ),
    "leaks_task_per_call": (
        broken.LeaksTaskPerCall,
        "core.plain_answer",
        "task 'acme-keepalive' running _keep_alive",
    ),
}

#: Broken adapters that need a wire to be caught: wrapped around our OpenAI
#: Chat adapter talking to the emulator. -> (wrapper, level, scenario, words)
WIRE_CASES: dict[str, tuple[Callable[[ModelAdapter], ModelAdapter], str, str, str]] = {
    "retries_internally": (
        broken.RetriesInternally,
        "errors",
        "errors.rate_limit",
        "requests: sent 4 requests for a one-exchange scenario: adapters must not retry; "
        "the runner does",
    ),
    "retries_refused_connection": (
        broken.RetriesRefusedConnection,
        "errors",
        "errors.connection_refused",
        "raises: the error came after",
    ),
    "ignores_timeout": (
        broken.IgnoresTimeout,
        "errors",
        "errors.read_timeout",
        "raises: expected ProviderConnectionError, but the call succeeded",
    ),
}


def _on_the_wire(wrap: Callable[[ModelAdapter], ModelAdapter]) -> EmulatedHarness:
    from agentkit_adapters.openai import OpenAIChatAdapter

    def make(url: str) -> ModelAdapter:
        return wrap(
            OpenAIChatAdapter("gpt-4.1-mini", api_key="sk-test-planted", base_url=f"{url}/v1")
        )

    return EmulatedHarness("openai-chat", make)


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


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(WIRE_CASES))
async def test_a_broken_adapter_on_the_wire_fails_on_the_right_scenario(name: str) -> None:
    wrap, level, scenario_id, words = WIRE_CASES[name]
    harness = _on_the_wire(wrap)
    with harness:
        report = await run_harness(harness, levels=[level])
    verdicts = {r.scenario.id: r for r in report.results}
    caught = verdicts[scenario_id]
    assert caught.verdict == "fail", (name, caught)
    assert any(words in problem for problem in caught.problems), caught.problems


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_broken_adapter_is_caught_on_the_wire_too(name: str) -> None:
    # The same defect wrapped around our OpenAI Chat adapter, on the emulator's
    # HTTP: what a user's run in emulated mode sees.
    wrap, scenario_id, words = CASES[name]
    harness = _on_the_wire(wrap)
    with harness:
        report = await run_harness(harness, scenarios=[scenario_id])
    [caught] = report.results
    assert caught.verdict == "fail", (name, caught)
    assert any(words in problem for problem in caught.problems), caught.problems


@pytest.mark.anyio
async def test_the_unbroken_adapter_on_the_wire_passes_the_same_levels() -> None:
    harness = _on_the_wire(lambda adapter: adapter)
    with harness:
        report = await run_harness(harness, levels=["errors"])
    assert report.ok, report.summary()
    assert {r.verdict for r in report.results} == {"pass"}


@pytest.mark.anyio
async def test_a_stream_closed_a_tick_after_aclose_counts_as_closed() -> None:
    # The kit once waited for the disconnect with a blocking wait on the very
    # loop the adapter needed to close its connection: this correct adapter failed.
    harness = _on_the_wire(broken.ClosesOneTickLate)
    with harness:
        report = await run_harness(harness, levels=["streaming"])
    [cancel] = [r for r in report.results if r.scenario.id == "streaming.cancel"]
    assert cancel.verdict == "pass", cancel.problems


@pytest.mark.anyio
async def test_a_process_wide_worker_started_on_the_first_call_is_no_leak() -> None:
    report = await _report(FunctionHarness(broken.StartsProcessWorker))
    worker = broken.StartsProcessWorker.worker
    assert worker is not None  # it did start...
    assert not worker.done()  # ...and still runs
    assert report.ok, {r.scenario.id: r.problems for r in report.results if r.verdict == "fail"}


def _wrapping_factory(wrap: Callable[[ModelAdapter], ModelAdapter]) -> Callable[..., ModelAdapter]:
    """Our OpenAI Chat factory, its adapters wrapped: what a replay builds."""
    from agentkit_adapters.openai import create_chat_adapter

    def factory(model_id: str, *, base_url: str | None = None, api_key: str | None = None):  # type: ignore[no-untyped-def]
        return wrap(create_chat_adapter(model_id, base_url=base_url, api_key=api_key))

    factory.wire_protocol = "openai-chat"  # type: ignore[attr-defined]
    return factory


CASSETTES = Path(__file__).parent / "cassettes"


@pytest.mark.anyio
async def test_a_process_wide_worker_is_no_leak_in_a_replay_either() -> None:
    # A replay has no cassette for the kit's own warm-up: it replays a plain scenario first.
    report = await check_adapter(
        "openai:gpt-4.1-mini",
        mode="replay",
        cassettes=CASSETTES,
        levels=["core"],
        factory=_wrapping_factory(broken.StartsProcessWorker),
    )
    assert broken.StartsProcessWorker.worker is not None
    assert report.ok, {r.scenario.id: r.problems for r in report.results if r.verdict == "fail"}
    assert "pass" in {r.verdict for r in report.results}


@pytest.mark.anyio
async def test_a_retrying_adapter_is_caught_in_a_replay_too() -> None:
    # The cassette holds one exchange: the retries are extra requests the replay server counts.
    report = await check_adapter(
        "openai:gpt-4.1-mini",
        mode="replay",
        cassettes=CASSETTES,
        scenarios=["errors.rate_limit", "errors.server_error"],
        factory=_wrapping_factory(broken.RetriesInternally),
    )
    for result in report.results:
        assert result.verdict == "fail", result
        assert (
            "requests: sent 4 requests for a one-exchange scenario: adapters must not retry; "
            "the runner does"
        ) in result.problems, result.problems


@pytest.mark.anyio
async def test_the_unbroken_adapter_passes_the_same_replay() -> None:
    report = await check_adapter(
        "openai:gpt-4.1-mini",
        mode="replay",
        cassettes=CASSETTES,
        scenarios=["errors.rate_limit", "errors.server_error"],
        factory=_wrapping_factory(lambda adapter: adapter),
    )
    assert [r.verdict for r in report.results] == ["pass", "pass"], report.summary()
