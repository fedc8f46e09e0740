"""The spans of a run: tree, names, kinds, attributes, errors, retries and contents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RetryPolicy,
    ToolCallPart,
    run,
    run_stream,
)
from agentkit import tool as make_tool
from agentkit.exceptions import AuthenticationError, ModelCallError, RateLimitError
from agentkit.testing import FunctionAdapter
from agentkit.tracing import instrument

from .conftest import Spans

pytestmark = pytest.mark.anyio


@make_tool
def get_weather(city: str) -> str:
    """Weather in a city.

    Args:
        city: City name.
    """
    return f"{city}: 21C, sunny"


@make_tool
def broken(city: str) -> str:
    """Always fails.

    Args:
        city: City name.
    """
    raise RuntimeError("sensor offline")


AGENT = Agent(
    name="weather",
    description="Tells the weather.",
    instructions="Be brief.",
    tools=[get_weather, broken],
    settings=ModelSettings(temperature=0.2, max_tokens=64),
)


def weather_model(tool_name: str = "get_weather") -> Any:
    def model(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "user":
            return [ToolCallPart(id="call_1", name=tool_name, arguments={"city": "Paris"})]
        return f"It is {last.parts[0].text}"  # type: ignore[union-attr]

    return model


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_run_with_a_tool_call_is_one_agent_span_over_chats_and_a_tool(
    spans: Spans, streaming: bool
) -> None:
    adapter = FunctionAdapter(weather_model(), model_id="scripted-1")
    if streaming:
        async for _ in run_stream(AGENT, "Weather in Paris?", model=adapter):
            pass
    else:
        await run(AGENT, "Weather in Paris?", model=adapter)

    root = spans.one("invoke_agent weather")
    chats = spans.named("chat scripted-1")
    tool_span = spans.one("execute_tool get_weather")
    assert len(chats) == 2
    assert root.parent is None
    assert root.kind is SpanKind.INTERNAL
    assert all(parent_of(s) == root.context.span_id for s in [*chats, tool_span])
    assert {s.context.trace_id for s in spans.all()} == {root.context.trace_id}
    assert all(s.kind is SpanKind.CLIENT for s in chats)
    assert tool_span.kind is SpanKind.INTERNAL

    assert dict(root.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "weather",
        "gen_ai.agent.description": "Tells the weather.",
        "gen_ai.provider.name": "function",
        "gen_ai.request.model": "scripted-1",
        "gen_ai.usage.input_tokens": root.attributes["gen_ai.usage.input_tokens"],  # type: ignore[index]
        "gen_ai.usage.output_tokens": root.attributes["gen_ai.usage.output_tokens"],  # type: ignore[index]
        "gen_ai.response.finish_reasons": ("stop",),
    }
    first, second = sorted(chats, key=lambda s: s.start_time or 0)
    assert first.attributes is not None
    assert second.attributes is not None
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.request.model"] == "scripted-1"
    assert first.attributes["gen_ai.response.model"] == "scripted-1"
    assert first.attributes["gen_ai.request.temperature"] == 0.2
    assert first.attributes["gen_ai.request.max_tokens"] == 64
    assert first.attributes["gen_ai.request.stream"] is streaming
    assert first.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert second.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    # The run's usage is the sum of its model calls'.
    for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
        total = first.attributes[key] + second.attributes[key]  # type: ignore[operator]
        assert root.attributes[key] == total  # type: ignore[index]

    assert dict(tool_span.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.type": "function",
    }
    assert tool_span.status.status_code is StatusCode.UNSET
    # The tool ran between the two model calls, inside the run.
    assert root.start_time <= first.start_time  # type: ignore[operator]
    assert first.end_time <= tool_span.start_time  # type: ignore[operator]
    assert tool_span.start_time <= tool_span.end_time <= second.start_time  # type: ignore[operator]
    assert second.end_time <= root.end_time  # type: ignore[operator]


async def test_no_content_is_recorded_unless_asked(spans: Spans) -> None:
    await run(AGENT, "Weather in Paris?", model=FunctionAdapter(weather_model()))
    recorded = " ".join(str(dict(s.attributes or {})) for s in spans.all())
    assert "Paris" not in recorded
    assert "Be brief" not in recorded
    assert not any(
        key.startswith(
            (
                "gen_ai.input",
                "gen_ai.output",
                "gen_ai.system",
                "gen_ai.tool.call.arguments",
                "gen_ai.tool.call.result",
            )
        )
        for s in spans.all()
        for key in (s.attributes or {})
    )


@pytest.mark.parametrize("how", ["option", "environment"])
async def test_contents_are_recorded_when_asked(
    spans: Spans, provider: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "option":
        instrument(tracer_provider=provider[0], capture_content=True)
    else:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    await run(AGENT, "Weather in Paris?", model=FunctionAdapter(weather_model()))

    first = min(spans.named("chat function"), key=lambda s: s.start_time or 0)
    attributes = first.attributes or {}
    assert json.loads(attributes["gen_ai.system_instructions"]) == [  # type: ignore[arg-type]
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(attributes["gen_ai.input.messages"]) == [  # type: ignore[arg-type]
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    ]
    assert json.loads(attributes["gen_ai.output.messages"]) == [  # type: ignore[arg-type]
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_calls",
        }
    ]
    tool_attributes = spans.one("execute_tool get_weather").attributes or {}
    assert json.loads(tool_attributes["gen_ai.tool.call.arguments"]) == {"city": "Paris"}  # type: ignore[arg-type]
    assert tool_attributes["gen_ai.tool.call.result"] == "Paris: 21C, sunny"
    root = spans.one("invoke_agent weather").attributes or {}
    assert json.loads(root["gen_ai.output.messages"])[0]["parts"] == [  # type: ignore[arg-type]
        {"type": "text", "content": "It is Paris: 21C, sunny"}
    ]


async def test_a_failing_tool_marks_its_span_as_an_error(spans: Spans) -> None:
    await run(AGENT, "Weather in Paris?", model=FunctionAdapter(weather_model("broken")))
    tool_span = spans.one("execute_tool broken")
    assert tool_span.status.status_code is StatusCode.ERROR
    assert "sensor offline" in (tool_span.status.description or "")
    assert (tool_span.attributes or {})["error.type"] == "tool_error"
    # The run itself went on and answered.
    assert spans.one("invoke_agent weather").status.status_code is StatusCode.UNSET


async def test_a_failed_run_records_the_error_on_the_agent_and_model_call_spans(
    spans: Spans,
) -> None:
    def model(request: ModelRequest) -> Any:
        raise AuthenticationError("bad key", provider="openai", status_code=401)

    with pytest.raises(ModelCallError):
        await run(AGENT, "hi", model=FunctionAdapter(model))
    root = spans.one("invoke_agent weather")
    chat = spans.one("chat function")
    assert root.status.status_code is StatusCode.ERROR
    assert (root.attributes or {})["error.type"] == "ModelCallError"
    assert chat.status.status_code is StatusCode.ERROR
    assert (chat.attributes or {})["error.type"] == "AuthenticationError"
    assert parent_of(chat) == root.context.span_id
    assert [e.name for e in root.events] == ["exception"]


async def test_retries_are_events_on_the_model_call_span(spans: Spans) -> None:
    failures = [RateLimitError("slow down", provider="function", status_code=429)]

    def model(request: ModelRequest) -> Any:
        if failures:
            raise failures.pop()
        return "fine"

    async def no_wait(seconds: float) -> None:
        return None

    policy = RetryPolicy(initial_delay=0.01, jitter=0.0, sleep=no_wait)
    await run(AGENT, "hi", model=FunctionAdapter(model), retry=policy)
    chat = spans.one("chat function")
    retry = [e for e in chat.events if e.name == "gen_ai.retry"]
    assert len(retry) == 1
    assert dict(retry[0].attributes or {}) == {
        "error.type": "RateLimitError",
        "exception.message": retry[0].attributes["exception.message"],  # type: ignore[index]
        "http.response.status_code": 429,
    }
    assert "slow down" in str(retry[0].attributes["exception.message"])  # type: ignore[index]
    assert chat.status.status_code is StatusCode.UNSET


async def test_an_untraced_run_makes_no_span_and_keeps_its_events(provider: Any) -> None:
    from agentkit._runner import _event_stream, _prepare

    # No instrument() and no global provider: the runner's own generator is used.
    state = _prepare(
        AGENT,
        "hi",
        model=FunctionAdapter(weather_model()),
        history=None,
        settings=None,
        retry=None,
        max_cost_usd=None,
        model_options=None,
        on_truncation="warn",
    )
    events = _event_stream(state, False, False)
    assert events.ag_code is state.events.__code__  # type: ignore[attr-defined]
    await events.aclose()
    await run(AGENT, "Weather in Paris?", model=FunctionAdapter(weather_model()))
    assert provider[1].get_finished_spans() == ()


async def test_an_agent_used_as_a_tool_runs_inside_the_callers_trace(spans: Spans) -> None:
    from agentkit.mcp import AgentToolset

    inner = Agent(name="helper")
    helper = AgentToolset(inner, model=FunctionAdapter(lambda request: "42", model_id="inner"))

    def outer_model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            return [ToolCallPart(id="h1", name="helper", arguments={"input": "the answer?"})]
        return "It is 42."

    outer = Agent(name="boss", tools=[helper])
    await run(outer, "Ask the helper.", model=FunctionAdapter(outer_model, model_id="outer"))
    boss = spans.one("invoke_agent boss")
    nested = spans.one("invoke_agent helper")
    assert nested.context.trace_id == boss.context.trace_id
    tool_span = spans.one("execute_tool helper")
    # The nested run is the tool call's work: a child of its span.
    assert parent_of(nested) == tool_span.context.span_id
    assert parent_of(tool_span) == boss.context.span_id
    assert parent_of(spans.one("chat inner")) == nested.context.span_id
    # The nested run happened while the tool call did.
    assert tool_span.start_time <= nested.start_time  # type: ignore[operator]
    assert nested.end_time <= tool_span.end_time  # type: ignore[operator]


async def test_each_concurrent_tool_call_runs_inside_its_own_span(spans: Spans) -> None:
    import anyio
    from opentelemetry import trace

    seen: dict[str, int] = {}
    both_started = anyio.Event()
    started: list[str] = []

    @make_tool
    async def lookup(key: str) -> str:
        """Look a key up.

        Args:
            key: The key.
        """
        started.append(key)
        if len(started) == 2:
            both_started.set()
        await both_started.wait()  # both calls are in flight at once
        seen[key] = trace.get_current_span().get_span_context().span_id
        return key.upper()

    def model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            return [
                ToolCallPart(id=f"k{i}", name="lookup", arguments={"key": key})
                for i, key in enumerate(["a", "b"])
            ]
        return "done"

    agent = Agent(name="looker", tools=[lookup])
    await run(agent, "Look both up.", model=FunctionAdapter(model))
    root = spans.one("invoke_agent looker")
    tool_spans = {
        (s.attributes or {})["gen_ai.tool.call.id"]: s for s in spans.named("execute_tool lookup")
    }
    assert set(tool_spans) == {"k0", "k1"}
    assert seen == {
        "a": tool_spans["k0"].context.span_id,
        "b": tool_spans["k1"].context.span_id,
    }
    assert all(parent_of(s) == root.context.span_id for s in tool_spans.values())
    for span in tool_spans.values():
        assert root.start_time <= span.start_time <= span.end_time <= root.end_time  # type: ignore[operator]


async def test_an_escalation_is_an_event_on_the_agent_span(spans: Spans) -> None:
    def cut_off(request: ModelRequest) -> ModelResponse:
        # The cheap model runs out of tokens mid-answer: "truncated" escalates.
        return ModelResponse(
            message=Message.assistant("Paris is"),
            finish_reason="length",
            provider="function",
            model_id="cheap-1",
        )

    agent = Agent(name="weather", escalate_on=["truncated"])
    cheap = FunctionAdapter(cut_off, model_id="cheap-1")
    paid = FunctionAdapter(lambda request: "Paris is sunny.", model_id="paid-1")
    result = await run(agent, "Weather in Paris?", model=[cheap, paid])

    assert result.output == "Paris is sunny."
    [escalation] = result.escalations
    root = spans.one("invoke_agent weather")
    [event] = [e for e in root.events if e.name == "agentkit.escalation"]
    assert dict(event.attributes or {}) == {
        "agentkit.escalation.turn": 1,
        "agentkit.escalation.from_model": escalation.from_model,
        "agentkit.escalation.to_model": escalation.to_model,
        "agentkit.escalation.condition": "truncated",
        "agentkit.escalation.detail": escalation.detail,
    }
    assert escalation.to_model == result.model
