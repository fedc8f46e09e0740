"""The cascade over two loopback emulators: a local model first, a paid API when it is not enough.

The cheap model is an Ollama server (``OllamaEmulator``), the expensive one
OpenAI Chat Completions (``OpenAIChatEmulator``); both are scripted, and the
real adapters reach them over HTTP. Each test checks what each server
received, so "no request reached the second model" and "the tool did not run
again" are facts of the wire, not of the runner's bookkeeping.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    EscalationEvent,
    Message,
    ModelRequest,
    ModelResponse,
    ReasoningPart,
    RunEndEvent,
    RunEvent,
    TextPart,
    ToolCallPart,
    fold_events,
    format_ledger,
    run_stream,
    run_sync,
    tool,
)
from agentkit._cost import price_usage
from agentkit.exceptions import UserError
from agentkit.testing import OllamaEmulator, OpenAIChatEmulator, serve_asgi

CHEAP = "ollama:smol"
PAID = "openai:gpt-4.1-mini"
CASCADE = [CHEAP, PAID]


class Weather(BaseModel):
    city: str
    celsius: int


@dataclass
class Servers:
    """The two emulators, what they are scripted to answer, and what they received."""

    cheap: OllamaEmulator
    paid: OpenAIChatEmulator
    cheap_script: list[Callable[[ModelRequest], Any]]
    paid_script: list[Callable[[ModelRequest], Any]]


def _scripted(script: list[Callable[[ModelRequest], Any]]) -> Callable[[ModelRequest], Any]:
    def answer(request: ModelRequest) -> Any:
        assert script, "the model was asked more often than the test scripted"
        return script.pop(0)(request)

    return answer


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Servers]:
    cheap_script: list[Callable[[ModelRequest], Any]] = []
    paid_script: list[Callable[[ModelRequest], Any]] = []
    cheap = OllamaEmulator(_scripted(cheap_script), tool_call_ids=True)
    paid = OpenAIChatEmulator(_scripted(paid_script), api_key="sk-test-planted")
    # No price file of the user's may change the numbers these tests check.
    monkeypatch.setenv("AGENTKIT_PRICES", str(tmp_path / "no-prices.json"))
    with serve_asgi(cheap) as cheap_url, serve_asgi(paid) as paid_url:
        monkeypatch.setenv("OLLAMA_HOST", cheap_url)
        monkeypatch.setenv("OPENAI_BASE_URL", f"{paid_url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-planted")
        yield Servers(cheap, paid, cheap_script, paid_script)


def text(answer: str) -> Callable[[ModelRequest], Any]:
    return lambda request: answer


def calls(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> Callable[..., Any]:
    return lambda request: Message(
        role="assistant", parts=[ToolCallPart(id=call_id, name=name, arguments=arguments)]
    )


def events_of(agent: Agent, prompt: str, *, stream: bool = True) -> list[RunEvent]:
    async def main() -> list[RunEvent]:
        seen: list[RunEvent] = []
        async with aclosing(run_stream(agent, prompt, model=CASCADE, stream=stream)) as events:
            async for event in events:
                seen.append(event)
        return seen

    return anyio.run(main)


def bodies(server: OllamaEmulator | OpenAIChatEmulator) -> str:
    return json.dumps(server.requests)


GOOD = '{"city": "Paris", "celsius": 20}'


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_an_answer_that_fails_the_output_schema_escalates(servers: Servers, stream: bool) -> None:
    agent = Agent(name="w", output_type=Weather, escalate_on=["invalid_output"])
    servers.cheap_script.append(text('{"city": "Paris", "celsius": "warm"}'))
    servers.paid_script.append(text(GOOD))

    events = events_of(agent, "Weather in Paris?", stream=stream)

    result = events[-1].result  # type: ignore[union-attr]
    assert result.output == Weather(city="Paris", celsius=20)
    assert result.model == PAID
    assert result.cascade == CASCADE
    [escalation] = result.escalations
    assert (escalation.turn, escalation.from_model, escalation.to_model) == (1, CHEAP, PAID)
    assert escalation.condition == "invalid_output"
    assert "celsius: 'warm' is not of type 'integer'" in escalation.detail
    # The event stream says so, between the cheap answer and the paid call.
    kinds = [e.type for e in events if e.type in ("response_end", "escalation", "turn_start")]
    assert kinds == ["turn_start", "response_end", "escalation", "turn_start", "response_end"]
    # The rejected answer is out of the conversation: the paid model never saw it,
    # and it is not in the result's messages either (a next run starts clean).
    assert "warm" not in bodies(servers.paid)
    assert [m.role for m in result.messages] == ["user", "assistant"]
    assert escalation.discarded.text == '{"city": "Paris", "celsius": "warm"}'
    assert len(servers.cheap.requests) == len(servers.paid.requests) == 1
    # A recorded stream folds to the same result, escalation included.
    assert fold_events(events[:-1]) == result
    assert result.turns == 2
    assert set(result.usage_by_model) == {f"{CHEAP}", PAID}


def test_an_answer_that_passes_never_reaches_the_second_model(servers: Servers) -> None:
    agent = Agent(name="w", output_type=Weather, escalate_on=["invalid_output", "truncated"])
    servers.cheap_script.append(text(GOOD))

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)

    assert result.output == Weather(city="Paris", celsius=20)
    assert result.model == CHEAP
    assert result.escalations == []
    assert result.cascade == CASCADE
    assert servers.paid.requests == []
    assert len(servers.cheap.requests) == 1


@pytest.mark.parametrize(
    ("arguments", "name", "detail"),
    [
        ({"town": "Paris"}, "get_weather", "does not fit its input schema"),
        ({"city": 7}, "get_weather", "city: 7 is not of type 'string'"),
        ({"city": "Paris"}, "get_wether", "there is no tool named 'get_wether'"),
    ],
    ids=["missing-argument", "wrong-type", "unknown-tool"],
)
def test_a_bad_tool_call_escalates_before_any_tool_runs(
    servers: Servers, arguments: dict[str, Any], name: str, detail: str
) -> None:
    ran: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"{city}: 20 C"

    agent = Agent(name="w", tools=[get_weather], escalate_on=["invalid_tool_call"])
    servers.cheap_script.append(calls(name, arguments, "bad_1"))
    servers.paid_script += [calls("get_weather", {"city": "Paris"}), text("It is 20 C in Paris.")]

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)

    assert result.output == "It is 20 C in Paris."
    assert ran == ["Paris"]  # once, for the paid model's call; never for the bad one
    [escalation] = result.escalations
    assert escalation.condition == "invalid_tool_call"
    assert detail in escalation.detail
    assert "bad_1" not in bodies(servers.paid)
    # After an escalation the run stays on the paid model: its second turn too.
    assert len(servers.paid.requests) == 2
    assert len(servers.cheap.requests) == 1


def test_escalation_continues_the_conversation_and_no_tool_runs_twice(servers: Servers) -> None:
    ran: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"{city}: 20 C and windy"

    agent = Agent(
        name="w", tools=[get_weather], output_type=Weather, escalate_on=["invalid_output"]
    )

    def cheap_calls_with_reasoning(request: ModelRequest) -> Message:
        return Message(
            role="assistant",
            parts=[
                ReasoningPart(text="[ollama-thought]", provider="ollama"),
                ToolCallPart(id="call_1", name="get_weather", arguments={"city": "Paris"}),
            ],
        )

    servers.cheap_script += [cheap_calls_with_reasoning, text("It is windy.")]
    servers.paid_script.append(text(GOOD))

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)

    assert result.output == Weather(city="Paris", celsius=20)
    assert ran == ["Paris"]
    # The paid model was sent the tool's result, so it had no need to call again...
    [sent] = servers.paid.calls
    assert [m.role for m in sent.messages] == ["user", "assistant", "tool"]
    assert "20 C and windy" in bodies(servers.paid)
    # ...and the local model's reasoning did not cross to the other provider.
    assert "[ollama-thought]" not in bodies(servers.paid)
    assert "It is windy." not in bodies(servers.paid)
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]


def test_a_check_function_that_says_no_escalates_with_its_reason(servers: Servers) -> None:
    seen: list[str] = []

    def names_a_number(output: str) -> bool | str:
        seen.append(output)
        return any(c.isdigit() for c in output) or "no temperature in the answer"

    agent = Agent(name="w", escalate_on=[names_a_number])
    servers.cheap_script.append(text("Paris is a beautiful city."))
    servers.paid_script.append(text("It is 20 C in Paris."))

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)

    assert result.output == "It is 20 C in Paris."
    [escalation] = result.escalations
    assert escalation.condition == "check"
    assert escalation.detail.endswith("names_a_number said no: no temperature in the answer")
    # The check is not asked about the last model's answer: nothing is above it.
    assert seen == ["Paris is a beautiful city."]


def test_an_async_check_that_accepts_keeps_the_cheap_answer(servers: Servers) -> None:
    async def good_enough(output: Weather) -> bool:
        return output.celsius > -100

    agent = Agent(name="w", output_type=Weather, escalate_on=[good_enough])
    servers.cheap_script.append(text(GOOD))

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)

    assert result.model == CHEAP
    assert result.escalations == []
    assert servers.paid.requests == []


def test_a_check_that_returns_something_else_is_a_user_error(servers: Servers) -> None:
    agent = Agent(name="w", escalate_on=[lambda output: None])
    servers.cheap_script.append(text("Paris."))

    with pytest.raises(UserError, match="returned None; return True to accept"):
        run_sync(agent, "Weather in Paris?", model=CASCADE)


def _truncated(request: ModelRequest) -> ModelResponse:
    return ModelResponse(
        message=Message(role="assistant", parts=[TextPart(text="It is 20 C and")]),
        finish_reason="length",
        provider="function",
        model_id="emulated",
    )


def test_a_truncated_answer_escalates(servers: Servers) -> None:
    agent = Agent(name="w", escalate_on=["truncated"])
    servers.cheap_script.append(_truncated)
    servers.paid_script.append(text("It is 20 C and windy in Paris."))

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)

    assert result.output == "It is 20 C and windy in Paris."
    [escalation] = result.escalations
    assert escalation.condition == "truncated"
    assert "cut off" in escalation.detail
    assert not any(w.kind == "truncated" for w in result.warnings)


def test_a_condition_not_asked_for_does_not_escalate(servers: Servers) -> None:
    agent = Agent(name="w", escalate_on=["invalid_output"])
    servers.cheap_script.append(_truncated)

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)

    assert result.model == CHEAP
    assert result.escalations == []
    assert [w.kind for w in result.warnings] == ["truncated"]
    assert servers.paid.requests == []


def test_on_the_last_model_the_usual_output_retry_applies(servers: Servers) -> None:
    agent = Agent(name="w", output_type=Weather, escalate_on=["invalid_output"])
    servers.cheap_script.append(text("not json"))
    servers.paid_script += [text('{"city": "Paris"}'), text(GOOD)]

    events = events_of(agent, "Weather in Paris?")

    kinds = [e.type for e in events if e.type in ("escalation", "output_retry", "output")]
    assert kinds == ["escalation", "output_retry", "output"]
    assert events[-1].result.model == PAID  # type: ignore[union-attr]


def test_an_error_on_the_cheap_model_falls_back_for_that_call_only(servers: Servers) -> None:
    from agentkit.testing import ollama_error

    def down(request: ModelRequest) -> Any:
        raise ollama_error(500, "model crashed")

    agent = Agent(name="w", escalate_on=["invalid_output"])
    servers.cheap_script += [down, down, down]
    servers.paid_script.append(text("It is 20 C."))

    result = run_sync(agent, "Weather?", model=CASCADE, retry=_no_wait())

    assert result.output == "It is 20 C."
    assert result.model == PAID
    # An error is a fallback (a warning), not an escalation.
    assert result.escalations == []
    assert [w.kind for w in result.warnings] == ["fallback"]


def _no_wait() -> Any:
    from agentkit import RetryPolicy

    async def no_sleep(seconds: float) -> None:
        return None

    return RetryPolicy(max_attempts=3, sleep=no_sleep)


def _write_prices(path: Path, prices: dict[str, Any]) -> None:
    path.write_text(json.dumps(prices), encoding="utf-8")


def test_the_ledger_shows_the_saving_of_a_cheap_answer(
    servers: Servers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The local model is free by the user's price file; the paid one has its list price.
    prices = tmp_path / "prices.json"
    _write_prices(prices, {CHEAP: {"input": 0.0, "output": 0.0}})
    monkeypatch.setenv("AGENTKIT_PRICES", str(prices))
    agent = Agent(name="w", output_type=Weather, escalate_on=["invalid_output"])
    servers.cheap_script.append(text(GOOD))

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)
    saving = result.ledger.cascade

    assert saving is not None
    usage = result.usage_by_model[CHEAP]
    expected = price_usage(PAID, usage).cost_usd
    assert expected is not None
    assert expected > 0
    assert saving.reference == PAID
    assert saving.answered_by == CHEAP
    assert saving.actual_usd == 0.0
    assert saving.discarded_usd == 0.0
    assert saving.reference_usd == pytest.approx(expected)
    assert saving.saving_usd == pytest.approx(expected)
    table = format_ledger(result.ledger)
    assert f"cascade: answered by {CHEAP} after 0 escalation(s); measured against {PAID}" in table
    assert f"saving, estimated: ${expected:.6f}" in table
    assert "(discarded by escalation: no call, $0.000000)" in table


def test_the_ledger_counts_a_discarded_attempt_against_the_saving(
    servers: Servers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    _write_prices(prices, {CHEAP: {"input": 1.0, "output": 2.0}})  # per million tokens
    monkeypatch.setenv("AGENTKIT_PRICES", str(prices))
    agent = Agent(name="w", output_type=Weather, escalate_on=["invalid_output"])
    servers.cheap_script.append(text('{"city": "Paris"}'))
    servers.paid_script.append(text(GOOD))

    result = run_sync(agent, "Weather in Paris?", model=CASCADE)
    saving = result.ledger.cascade

    assert saving is not None
    cheap = price_usage(CHEAP, result.usage_by_model[CHEAP]).cost_usd
    paid = price_usage(PAID, result.usage_by_model[PAID]).cost_usd
    assert cheap is not None
    assert paid is not None
    assert cheap > 0
    assert saving.discarded_usd == pytest.approx(cheap)
    assert saving.actual_usd == pytest.approx(cheap + paid)
    # Asking the paid model at once would have made only its own call.
    assert saving.reference_usd == pytest.approx(paid)
    assert saving.saving_usd == pytest.approx(-cheap)
    assert saving.discarded_calls == (1,)
    assert f"(discarded by escalation: call 1, ${cheap:.6f})" in format_ledger(result.ledger)


def test_an_unknown_price_stays_unknown_in_the_saving(servers: Servers) -> None:
    agent = Agent(name="w", escalate_on=["invalid_output"])
    servers.cheap_script.append(text("Paris: 20 C."))

    result = run_sync(agent, "Weather?", model=CASCADE)
    saving = result.ledger.cascade

    assert saving is not None
    assert price_usage(CHEAP, result.usage_by_model[CHEAP]).cost_usd is None
    assert saving.actual_usd is None
    assert saving.saving_usd is None
    assert saving.reference_usd is not None  # the paid model's price is known
    assert "saving, estimated: unknown" in format_ledger(result.ledger)


def test_one_model_or_no_conditions_is_no_cascade(servers: Servers) -> None:
    servers.cheap_script += [text("Paris."), text("Paris.")]
    with_conditions = Agent(name="w", escalate_on=["invalid_output"])
    alone = run_sync(with_conditions, "Weather?", model=CHEAP)
    chain = run_sync(Agent(name="w"), "Weather?", model=CASCADE)
    assert alone.cascade == []
    assert alone.ledger.cascade is None
    assert chain.cascade == []
    assert chain.ledger.cascade is None


@pytest.mark.parametrize(
    ("escalate_on", "message"),
    [
        (["invalid_ouput"], "'invalid_ouput', which is no condition; use invalid_output"),
        ("truncated", "escalate_on must be a list"),
        ([42], "42, which is neither a condition name nor a function"),
    ],
)
def test_a_bad_escalate_on_is_a_user_error(escalate_on: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        Agent(name="w", escalate_on=escalate_on)


def test_escalation_events_are_in_the_public_event_union() -> None:
    from pydantic import TypeAdapter

    event = EscalationEvent(
        turn=1,
        from_model=CHEAP,
        to_model=PAID,
        condition="check",
        detail="said no",
        discarded=Message.user("x"),
    )
    parsed = TypeAdapter(RunEvent).validate_json(event.model_dump_json())
    assert parsed == event
    assert isinstance(RunEndEvent, type)


def test_a_comma_separated_chain_cascades_too(servers: Servers) -> None:
    agent = Agent(name="w", output_type=Weather, escalate_on=["invalid_output"])
    servers.cheap_script.append(text("no JSON here"))
    servers.paid_script.append(text(GOOD))

    result = run_sync(agent, "Weather in Paris?", model=f"{CHEAP},{PAID}")

    assert result.cascade == CASCADE
    assert [e.condition for e in result.escalations] == ["invalid_output"]
    assert "not valid JSON" in result.escalations[0].detail


def test_three_models_escalate_one_step_at_a_time(servers: Servers) -> None:
    agent = Agent(name="w", output_type=Weather, escalate_on=["invalid_output"])
    chain = ["ollama:tiny", "ollama:small", PAID]
    servers.cheap_script += [text("no"), text('{"city": "Paris"}')]
    servers.paid_script.append(text(GOOD))

    result = run_sync(agent, "Weather in Paris?", model=chain)

    steps = [(e.turn, e.from_model, e.to_model) for e in result.escalations]
    assert steps == [(1, "ollama:tiny", "ollama:small"), (2, "ollama:small", PAID)]
    assert [body["model"] for body in servers.cheap.requests] == ["tiny", "small"]
    assert result.model == PAID
    assert result.ledger.cascade is not None
    assert result.ledger.cascade.discarded_calls == (1, 2)
