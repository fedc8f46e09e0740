"""The run loop, driven by ``FunctionAdapter`` (a Python function plays the model)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    Capabilities,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RunEndEvent,
    TextPart,
    ToolCallPart,
    Usage,
    run,
    run_stream,
    run_sync,
    tool,
)
from agentkit.exceptions import (
    AuthenticationError,
    MaxTurnsError,
    ModelCallError,
    OutputValidationError,
    ToolRetriesError,
    UserError,
)
from agentkit.testing import FunctionAdapter


@tool
def get_weather(city: str) -> str:
    """Weather in a city.

    Args:
        city: City name.
    """
    return f"{city}: 21C, sunny"


def call(tool_name: str, call_id: str = "c1", /, **arguments: Any) -> ToolCallPart:
    return ToolCallPart(id=call_id, name=tool_name, arguments=arguments)


def weather_model(request: ModelRequest) -> Any:
    last = request.messages[-1]
    if last.role == "user":
        return [call("get_weather", city="Paris")]
    return f"It is {last.parts[0].text}"  # type: ignore[union-attr]


AGENT = Agent(name="weather", instructions="Be brief.", tools=[get_weather])


@pytest.mark.anyio
async def test_tool_loop_reaches_a_final_answer() -> None:
    model = FunctionAdapter(weather_model)
    result = await run(AGENT, "Weather in Paris?", model=model)
    assert result.output == "It is Paris: 21C, sunny"
    assert result.turns == 2
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool", "assistant"]
    tool_message = result.messages[3]
    assert tool_message.parts[0].call_id == "c1"  # type: ignore[union-attr]
    assert result.usage.requests == 2
    assert result.usage_by_model.keys() == {"function:function"}
    # The model saw the tool definition and the system prompt.
    first = model.calls[0]
    assert [t.name for t in first.tools] == ["get_weather"]
    assert first.messages[0] == Message.system("Be brief.")


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_stream_events_are_well_ordered(stream: bool) -> None:
    events = [
        e
        async for e in run_stream(
            AGENT, "Weather in Paris?", model=FunctionAdapter(weather_model), stream=stream
        )
    ]
    kinds = [e.type for e in events]
    assert kinds[:2] == ["run_start", "turn_start"]
    assert kinds[-2:] == ["output", "run_end"]
    assert kinds.count("response_start") == kinds.count("response_end") == 2
    assert kinds.index("tool_call_start") < kinds.index("tool_call_delta")
    assert kinds.index("tool_call_delta") < kinds.index("tool_call_end")
    assert kinds.index("tool_call_end") < kinds.index("tool_result")
    text = "".join(e.text for e in events if e.type == "text_delta")
    final = events[-1]
    assert isinstance(final, RunEndEvent)
    assert text == final.result.output == "It is Paris: 21C, sunny"
    arguments = "".join(e.arguments_delta for e in events if e.type == "tool_call_delta")
    assert json.loads(arguments) == {"city": "Paris"}


def test_run_sync() -> None:
    result = run_sync(AGENT, "Weather?", model=FunctionAdapter(weather_model))
    assert result.output == "It is Paris: 21C, sunny"


def test_run_sync_does_not_format_its_result(monkeypatch: pytest.MonkeyPatch) -> None:
    # asyncio.run formats its main task's repr on the way out (through the
    # SIGINT handler it reads back); a result held by that task was repr'd on
    # every call, at a cost that grows with the conversation.
    from agentkit import RunResult

    formatted: list[str] = []
    plain_repr = RunResult.__repr__

    def counting_repr(self: RunResult) -> str:
        formatted.append("repr")
        return plain_repr(self)

    monkeypatch.setattr(RunResult, "__repr__", counting_repr)
    result = run_sync(AGENT, "Weather?", model=FunctionAdapter(weather_model))
    assert result.output == "It is Paris: 21C, sunny"
    assert formatted == []


@pytest.mark.anyio
async def test_parallel_tool_calls_run_concurrently() -> None:
    first_started = anyio.Event()
    second_started = anyio.Event()

    @tool
    async def first() -> str:
        first_started.set()
        with anyio.fail_after(2):
            await second_started.wait()  # only possible if both run at once
        return "one"

    @tool
    async def second() -> str:
        second_started.set()
        with anyio.fail_after(2):
            await first_started.wait()
        return "two"

    def model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            return [call("first", "a"), call("second", "b")]
        results = [p.text for p in request.messages[-1].parts]  # type: ignore[union-attr]
        return " ".join(results)

    agent = Agent(name="p", tools=[first, second])
    result = await run(agent, "go", model=FunctionAdapter(model))
    assert result.output == "one two"
    ids = [p.call_id for p in result.messages[-2].parts]  # type: ignore[union-attr]
    assert ids == ["a", "b"]


@pytest.mark.anyio
async def test_tool_errors_go_back_to_the_model() -> None:
    seen: list[str] = []

    def model(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "user":
            return [call("get_weather", "x1", town="Paris")]  # wrong argument name
        result = last.parts[0]
        seen.append(result.text)  # type: ignore[union-attr]
        if len(seen) == 1:
            return [call("no_such_tool", "x2")]
        if len(seen) == 2:
            return [ToolCallPart(id="x3", name="get_weather", raw_arguments="{city: Paris")]
        return "gave up politely"

    agent = Agent(name="e", tools=[get_weather], tool_retries=5)
    result = await run(agent, "hi", model=FunctionAdapter(model))
    assert result.output == "gave up politely"
    assert "'city' is a required property" in seen[0]
    assert seen[1] == "There is no tool named 'no_such_tool'. Available tools: get_weather."
    assert seen[2].startswith("The arguments for get_weather were not a JSON object")
    errors = [p for m in result.messages if m.role == "tool" for p in m.parts]
    assert all(p.is_error for p in errors)  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_tool_retry_budget_stops_the_run_and_keeps_messages() -> None:
    def model(request: ModelRequest) -> Any:
        return [call("get_weather", f"c{len(request.messages)}")]  # always missing city

    agent = Agent(name="r", tools=[get_weather], tool_retries=1)
    with pytest.raises(ToolRetriesError) as info:
        await run(agent, "hi", model=FunctionAdapter(model))
    assert "get_weather failed 2 times (budget 1)" in str(info.value)
    assert [m.role for m in info.value.messages][-2:] == ["assistant", "tool"]
    assert info.value.usage is not None
    assert info.value.usage.requests == 2


@pytest.mark.anyio
async def test_max_turns_keeps_the_conversation() -> None:
    def model(request: ModelRequest) -> Any:
        return [call("get_weather", f"c{len(request.messages)}", city="Oslo")]

    agent = Agent(name="loop", tools=[get_weather], max_turns=3)
    with pytest.raises(MaxTurnsError) as info:
        await run(agent, "hi", model=FunctionAdapter(model))
    assert "max_turns=3" in str(info.value)
    assert len(info.value.messages) == 1 + 3 * 2  # user + 3 x (assistant, tool)


@pytest.mark.anyio
async def test_adapter_errors_become_model_call_errors_with_history() -> None:
    def model(request: ModelRequest) -> Any:
        if len(request.messages) > 2:
            raise AuthenticationError(
                "bad key; check OPENAI_API_KEY", provider="openai", status_code=401
            )
        return [call("get_weather", city="Rome")]

    with pytest.raises(ModelCallError) as info:
        await run(AGENT, "hi", model=FunctionAdapter(model))
    err = info.value
    assert isinstance(err.cause, AuthenticationError)
    assert err.provider == "openai"
    assert err.status_code == 401
    assert [m.role for m in err.messages] == ["system", "user", "assistant", "tool"]


class City(BaseModel):
    name: str
    population_millions: float


def structured_model(request: ModelRequest) -> Any:
    """Answers correctly in whichever structured-output mode the runner chose."""
    answer = {"name": "Paris", "population_millions": 2.1}
    if any(t.name == "final_result" for t in request.tools):
        last = request.messages[-1]
        if last.role == "tool":  # retry after a rejected answer
            return [call("final_result", "f2", **answer)]
        return [call("final_result", "f1", name="Paris")]  # first try misses a field
    if request.output_schema is not None:
        assert request.output_schema["required"] == ["name", "population_millions"]
        return json.dumps(answer)
    prompt = " ".join(m.text for m in request.messages if m.role == "system")
    assert "JSON Schema" in prompt
    return "```json\n" + json.dumps(answer) + "\n```"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("modes", "expected_turns"),
    [({"native", "tool", "prompted"}, 1), ({"tool", "prompted"}, 2), ({"prompted"}, 1)],
)
async def test_structured_output_mode_follows_capabilities(
    modes: set[str], expected_turns: int
) -> None:
    caps = Capabilities(structured_output=frozenset(modes))
    agent = Agent(name="city", output_type=City)
    result = await run(
        agent, "Biggest French city?", model=FunctionAdapter(structured_model, capabilities=caps)
    )
    assert result.output == City(name="Paris", population_millions=2.1)
    assert result.turns == expected_turns


@pytest.mark.anyio
async def test_output_schema_dict_and_retry_then_failure() -> None:
    answers = iter(["not json", '{"n": "x"}', '{"n": 3}'])
    agent = Agent(
        name="n",
        output_schema={
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        },
    )
    result = await run(agent, "n?", model=FunctionAdapter(lambda r: next(answers)))
    assert result.output == {"n": 3}
    assert result.turns == 3
    notes = [m.text for m in result.messages if m.role == "user"][1:]
    assert notes[0].startswith("Please try again: your answer was not valid JSON")
    assert notes[1] == (
        "Please try again: your answer did not match the output schema: "
        "n: 'x' is not of type 'integer'."
    )

    with pytest.raises(OutputValidationError) as info:
        await run(agent, "n?", model=FunctionAdapter(lambda r: "never json"))
    assert "after 3 tries" in str(info.value)
    # user, then three answers with a retry note between each: nothing is lost.
    assert [m.role for m in info.value.messages] == ["user"] + ["assistant", "user"] * 2 + [
        "assistant"
    ]


@pytest.mark.anyio
async def test_scalar_output_type_is_wrapped_and_unwrapped() -> None:
    agent = Agent(name="count", output_type=int)
    assert agent.output_json_schema == {
        "type": "object",
        "properties": {"result": {"type": "integer"}},
        "required": ["result"],
        "additionalProperties": False,
    }
    result = await run(agent, "how many?", model=FunctionAdapter(lambda r: '{"result": 7}'))
    assert result.output == 7


@pytest.mark.anyio
async def test_refusal_is_reported() -> None:
    def refuse(request: ModelRequest) -> ModelResponse:
        return ModelResponse(
            message=Message(role="assistant", parts=[]),
            finish_reason="stop",
            provider="function",
            model_id="m",
            refusal="I can't help with that.",
            usage=Usage(input_tokens=3, output_tokens=5),
        )

    plain = await run(Agent(name="a"), "x", model=FunctionAdapter(refuse))
    assert plain.output == "I can't help with that."
    with pytest.raises(OutputValidationError, match="refused to answer: I can't help"):
        await run(Agent(name="b", output_type=City), "x", model=FunctionAdapter(refuse))


@pytest.mark.anyio
async def test_settings_merge_and_history() -> None:
    model = FunctionAdapter(lambda r: "ok")
    agent = Agent(name="s", instructions="sys", settings=ModelSettings(temperature=0.5, seed=1))
    history = [Message.user("earlier"), Message.assistant("reply")]
    await run(agent, "now", model=model, history=history, settings=ModelSettings(temperature=0))
    request = model.calls[0]
    assert request.settings.temperature == 0
    assert request.settings.seed == 1
    assert [m.text for m in request.messages] == ["sys", "earlier", "reply", "now"]


@pytest.mark.anyio
async def test_unknown_provider_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no adapter for provider 'nope'"):
        await run(AGENT, "x", model="nope:model")
    with pytest.raises(UserError, match="names no provider"):
        await run(AGENT, "x", model="gpt-4")


@pytest.mark.anyio
async def test_cancelling_a_run_cancels_its_tools() -> None:
    cancelled = anyio.Event()

    @tool
    async def forever() -> str:
        try:
            await anyio.sleep(30)
        finally:
            cancelled.set()
        return "never"

    agent = Agent(name="c", tools=[forever])
    model = FunctionAdapter(lambda r: [call("forever")])
    with anyio.move_on_after(0.2):
        await run(agent, "x", model=model)
    assert cancelled.is_set()


def test_usage_sum_keeps_unknown_cost_unknown() -> None:
    a = Usage(input_tokens=1, output_tokens=2, cost_usd=0.5)
    b = Usage(input_tokens=3, output_tokens=4, cache_read_input_tokens=1)
    total = a + b
    assert (total.input_tokens, total.output_tokens, total.requests) == (4, 6, 2)
    assert total.cost_usd is None
    assert (a + a).cost_usd == 1.0
    assert total.total_tokens == 10


def test_message_helpers() -> None:
    m = Message(role="assistant", parts=[TextPart(text="a"), call("t"), TextPart(text="b")])
    assert m.text == "ab"
    assert [c.name for c in m.tool_calls] == ["t"]


class _LifecycleToolset:
    """A tool set with a lifetime, like an MCP connection."""

    def __init__(self, name: str, tool_name: str) -> None:
        self.name = name
        self.tool_name = tool_name
        self.entered = 0
        self.exited = 0
        self.calls: list[str] = []

    async def __aenter__(self) -> _LifecycleToolset:
        self.entered += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.exited += 1

    async def list_tools(self) -> list[Any]:
        from agentkit import ToolDefinition

        return [ToolDefinition(name=self.tool_name, input_schema={"type": "object"})]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        from agentkit import ToolResultPart

        self.calls.append(name)
        return ToolResultPart(call_id="", content=[TextPart(text=f"{self.name}:{name}")])


@pytest.mark.anyio
async def test_toolsets_are_opened_for_the_run_and_collisions_prefixed() -> None:
    a = _LifecycleToolset("alpha", "search")
    b = _LifecycleToolset("beta", "search")

    def model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            assert [t.name for t in request.tools] == ["search", "beta_search"]
            return [call("search", "1"), call("beta_search", "2")]
        return " ".join(p.text for p in request.messages[-1].parts)  # type: ignore[union-attr]

    result = await run(Agent(name="t", tools=[a, b]), "go", model=FunctionAdapter(model))
    assert result.output == "alpha:search beta:search"
    assert b.calls == ["search"]  # the tool set is called with its own name
    assert (a.entered, a.exited, b.entered, b.exited) == (1, 1, 1, 1)
    assert [w.kind for w in result.warnings] == ["tool"]
    assert "offered to the model as 'beta_search'" in result.warnings[0].message


@pytest.mark.anyio
async def test_toolsets_close_on_error_and_on_early_stop() -> None:
    from contextlib import aclosing

    ts = _LifecycleToolset("alpha", "search")

    def failing(request: ModelRequest) -> Any:
        raise AuthenticationError("bad key", provider="x", status_code=401)

    with pytest.raises(ModelCallError):
        await run(Agent(name="t", tools=[ts]), "go", model=FunctionAdapter(failing))
    assert (ts.entered, ts.exited) == (1, 1)

    agent = Agent(name="t", tools=[ts])
    async with aclosing(run_stream(agent, "go", model=FunctionAdapter(lambda r: "hi"))) as events:
        async for event in events:
            if event.type == "turn_start":
                break
    assert (ts.entered, ts.exited) == (2, 2)


@pytest.mark.anyio
async def test_tool_sets_can_hand_warnings_to_the_result() -> None:
    from agentkit import RunWarning

    class Noisy(_LifecycleToolset):
        def drain_warnings(self) -> list[RunWarning]:
            if not self.calls:
                return []
            return [RunWarning(kind="tool", feature=self.name, message="server went away")]

    ts = Noisy("noisy", "search")

    def model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            return [call("search", "1")]
        return "done"

    result = await run(Agent(name="n", tools=[ts]), "go", model=FunctionAdapter(model))
    assert [(w.feature, w.message) for w in result.warnings] == [("noisy", "server went away")]


async def _events(agent: Agent, model: Any, *, stream: bool = True) -> list[Any]:
    return [e async for e in run_stream(agent, "Weather in Paris?", model=model, stream=stream)]


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_the_result_is_the_fold_of_the_events(stream: bool) -> None:
    from agentkit._result import fold_events

    events = await _events(AGENT, FunctionAdapter(weather_model), stream=stream)
    final = events[-1]
    assert isinstance(final, RunEndEvent)
    # The events alone (no runner state) give the run's result, deltas or not.
    assert fold_events(events[:-1]) == final.result
    whole = [e for e in events if not e.type.endswith("_delta")]
    assert fold_events(whole) == final.result
    # run() folds the same events on the same path.
    assert await run(AGENT, "Weather in Paris?", model=FunctionAdapter(weather_model)) == (
        final.result
    )
    start = events[0]
    assert start.type == "run_start"
    assert [m.role for m in start.messages] == ["system", "user"]
    assert start.models == ["function:function"]


@pytest.mark.anyio
async def test_output_retries_and_the_final_result_call_are_events() -> None:
    from agentkit._result import fold_events

    caps = Capabilities(structured_output=frozenset({"tool"}))
    agent = Agent(name="city", output_type=City)
    events = [
        e
        async for e in run_stream(
            agent, "Biggest?", model=FunctionAdapter(structured_model, capabilities=caps)
        )
    ]
    kinds = [e.type for e in events]
    assert kinds.count("output_retry") == 1
    retry = next(e for e in events if e.type == "output_retry")
    assert retry.attempt == 1
    assert retry.message.role == "tool"
    assert "population_millions" in retry.problem
    accepted = [e for e in events if e.type == "tool_result"]
    assert [(e.call.name, e.result.text) for e in accepted] == [("final_result", "accepted")]
    result = fold_events(events)
    assert result == events[-1].result
    assert result.output == City(name="Paris", population_millions=2.1)
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant", "tool"]


def test_an_unfinished_run_does_not_fold_to_a_result() -> None:
    from agentkit._result import RunStartEvent, fold_events

    with pytest.raises(ValueError, match="no output event"):
        fold_events([RunStartEvent(messages=[Message.user("hi")], models=["a:b"])])


def _cut_off(request: ModelRequest) -> ModelResponse:
    return ModelResponse(
        message=Message.assistant("The answer is forty"),
        finish_reason="length",
        provider="function",
        model_id="m",
    )


@pytest.mark.anyio
async def test_an_answer_cut_off_at_max_tokens_is_reported() -> None:
    agent = Agent(name="t", settings=ModelSettings(max_tokens=5))
    result = await run(agent, "x", model=FunctionAdapter(_cut_off))
    assert result.output == "The answer is forty"
    assert result.finish_reason == "length"
    [warning] = result.warnings
    assert warning.kind == "truncated"
    assert warning.message.startswith(
        "turn 1: the answer of function:m was cut off at max_tokens=5 (finish reason: length)"
    )
    ok = await run(Agent(name="t"), "x", model=FunctionAdapter(lambda r: "whole"))
    assert ok.finish_reason == "stop"
    assert ok.warnings == []


def test_run_sync_reports_truncation_too() -> None:
    result = run_sync(Agent(name="t"), "x", model=FunctionAdapter(_cut_off))
    assert result.finish_reason == "length"
    assert [w.kind for w in result.warnings] == ["truncated"]
    assert "cut off at the model's output limit" in result.warnings[0].message


@pytest.mark.anyio
@pytest.mark.parametrize("streamed", [True, False])
async def test_truncation_can_be_an_error_that_keeps_the_conversation(streamed: bool) -> None:
    from agentkit.exceptions import RunError, TruncatedError

    agent = Agent(name="t", instructions="sys")

    async def go() -> None:
        model = FunctionAdapter(_cut_off)
        if not streamed:
            await run(agent, "x", model=model, on_truncation="error")
            return
        async for _ in run_stream(agent, "x", model=model, on_truncation="error"):
            pass

    with pytest.raises(TruncatedError) as info:
        await go()
    assert isinstance(info.value, RunError)
    assert [m.role for m in info.value.messages] == ["system", "user", "assistant"]
    assert info.value.messages[-1].text == "The answer is forty"
    assert "cut off" in str(info.value)
    with pytest.raises(UserError, match="on_truncation"):
        await run(agent, "x", model=FunctionAdapter(_cut_off), on_truncation="ignore")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_toolset_that_overrides_call_tool_is_called() -> None:
    from agentkit import FunctionToolset, ToolResultPart
    from agentkit._toolindex import ToolIndex

    seen: list[tuple[str, dict[str, Any]]] = []

    class Audited(FunctionToolset):
        async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
            seen.append((name, arguments))
            result = await super().call_tool(name, arguments)
            return result.model_copy(update={"content": [TextPart(text=f"audited {result.text}")]})

    result = await run(
        Agent(name="a", tools=[Audited([get_weather])]), "hi", model=FunctionAdapter(weather_model)
    )
    assert seen == [("get_weather", {"city": "Paris"})]
    assert result.output == "It is audited Paris: 21C, sunny"
    # A plain FunctionToolset keeps its fast path; the subclass does not.
    plain = (await ToolIndex.build([FunctionToolset([get_weather])])).routes["get_weather"]
    audited = (await ToolIndex.build([Audited([get_weather])])).routes["get_weather"]
    assert (plain.direct, audited.direct) == (True, False)
    assert plain.tool is audited.tool is get_weather


def _always_fails(tool_name: str) -> FunctionAdapter:
    def model(request: ModelRequest) -> Any:
        return [call(tool_name, f"c{len(request.messages)}")]

    return FunctionAdapter(model)


@pytest.mark.anyio
async def test_a_tools_own_retries_win_over_the_agents_default() -> None:
    @tool(retries=0)
    def fragile() -> str:
        """Fails."""
        raise RuntimeError("broken")

    @tool(retries=4)
    def patient() -> str:
        """Fails too."""
        raise RuntimeError("broken")

    @tool
    def ordinary() -> str:
        """Fails as well."""
        raise RuntimeError("broken")

    agent = Agent(name="r", tools=[fragile, patient, ordinary], tool_retries=2)
    expectations = [("fragile", 1, 0), ("patient", 5, 4), ("ordinary", 3, 2)]
    for name, failures, budget in expectations:
        with pytest.raises(ToolRetriesError) as info:
            await run(agent, "hi", model=_always_fails(name))
        assert f"tool {name} failed {failures} times (budget {budget})" in str(info.value)
    with pytest.raises(UserError, match="retries must be 0 or more"):
        tool(retries=-1)(get_weather.function)
