"""The checks that compare an adapter's reading with the wire, and what they cannot see."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from agentkit import Capabilities, Message, ModelResponse, ToolCallPart, Usage
from agentkit.adapter import response_events
from agentkit.conformance import LiveHarness, Outcome, check_outcome, load_scenarios, run_harness
from agentkit.conformance._script import WireFacts, wire_facts
from agentkit.testing import FunctionAdapter


def _scenario(scenario_id: str):  # type: ignore[no-untyped-def]
    [scenario] = [s for s in load_scenarios() if s.id == scenario_id]
    return scenario


def _response(usage: Usage | None, *ids: str) -> ModelResponse:
    cities = ["Oslo", "Lima"]
    parts = [
        ToolCallPart(id=i, name="get_weather", arguments={"city": city})
        for i, city in zip(ids, cities, strict=False)
    ]
    return ModelResponse(
        message=Message(role="assistant", parts=parts or Message.assistant("Hello.").parts),
        finish_reason="tool_calls" if ids else "stop",
        usage=usage,
        provider="test",
        model_id="test",
    )


def _outcome(response: ModelResponse, **observed: object) -> Outcome:
    return Outcome(events=list(response_events(response)), response=response, **observed)  # type: ignore[arg-type]


def _problems(scenario_id: str, outcome: Outcome) -> list[str]:
    scenario = _scenario(scenario_id)
    return check_outcome(scenario, outcome, scenario.model_request(), Capabilities())


def test_the_scripted_usage_is_what_the_wire_says() -> None:
    facts = wire_facts(_scenario("core.usage_cached").script, "gemini")
    assert facts == WireFacts(
        usage=Usage(input_tokens=1200, output_tokens=12, cache_read_input_tokens=1024),
        tool_call_ids=None,  # Gemini 2.x puts no ids on the wire
    )
    assert wire_facts(_scenario("core.usage_absent").script, "openai-chat") == WireFacts(
        usage=None, tool_call_ids=[]
    )
    assert wire_facts(_scenario("errors.rate_limit").script, "openai-chat") is None


def test_one_request_passes_and_zero_is_not_a_retry() -> None:
    wire = wire_facts(_scenario("core.plain_answer").script, "openai-chat")
    response = _response(Usage(input_tokens=9, output_tokens=3))
    assert _problems("core.plain_answer", _outcome(response, requests=1, wire=wire)) == []
    # An adapter that refuses before sending (say, an unsupported part) sent nothing.
    failed = Outcome(error=ValueError("x"), requests=0)
    assert not any("requests" in p for p in _problems("errors.rate_limit", failed))


def test_unknown_counts_are_no_failure_but_are_listed_as_not_observed() -> None:
    from agentkit.conformance._checks import unobserved

    scenario = _scenario("tools.call_ids")
    outcome = _outcome(_response(Usage(), "a", "b"), requests=None, wire=None)
    assert check_outcome(scenario, outcome, scenario.model_request(), Capabilities()) == []
    assert unobserved(scenario, outcome) == [
        "request count (retries)",
        "usage values against the wire's (unknown here)",
        "tool-call ids against the wire's (unknown here)",
    ]


def test_without_wire_ids_the_adapters_own_ids_must_be_unique() -> None:
    wire = wire_facts(_scenario("tools.call_ids").script, "gemini")
    usage = Usage(input_tokens=10, output_tokens=5)
    unique = _outcome(_response(usage, "get_weather-0", "get_weather-1"), wire=wire)
    assert _problems("tools.call_ids", unique) == []
    twice = _outcome(_response(usage, "get_weather-0", "get_weather-0"), wire=wire)
    assert _problems("tools.call_ids", twice) == [
        "tool_calls: call ids ['get_weather-0', 'get_weather-0'] are not unique"
    ]


def test_a_zero_count_is_not_an_absent_one() -> None:
    wire = wire_facts(_scenario("core.usage_absent").script, "openai-chat")
    zeros = _outcome(_response(Usage(input_tokens=0, output_tokens=0)), wire=wire)
    [problem] = _problems("core.usage_absent", zeros)
    assert problem.startswith("usage: the provider reported no usage, yet the adapter says")
    assert _problems("core.usage_absent", _outcome(_response(None), wire=wire)) == []


@pytest.mark.anyio
async def test_what_a_live_run_cannot_see_is_reported_as_not_observed() -> None:
    harness = LiveHarness(FunctionAdapter(lambda request: "Hello there!"))
    with harness:
        report = await run_harness(harness, levels=["core", "streaming"])
    by_id = {r.scenario.id: r for r in report.results}
    plain = by_id["core.plain_answer"]
    assert plain.verdict == "pass"
    assert "request count (retries)" in plain.not_observed
    assert "usage values against the wire's (unknown here)" in plain.not_observed
    assert "disconnect on cancel" in by_id["streaming.cancel"].not_observed
    data = json.loads(report.render("json"))
    [row] = [r for r in data["results"] if r["id"] == "core.plain_answer"]
    assert row["not_observed"] == plain.not_observed
    assert "not observed: request count (retries)" in report.render("md")
    junit = ElementTree.fromstring(report.render("junit"))
    [case] = [c for c in junit.iter("testcase") if c.get("name") == "core.plain_answer"]
    [prop] = case.iter("property")
    assert prop.get("name") == "not_observed"
    assert prop.get("value") == "; ".join(plain.not_observed)
    # A pass that saw everything carries no such property.
    assert all(
        not list(c.iter("property"))
        for c in junit.iter("testcase")
        if not by_id[str(c.get("name"))].not_observed
    )
