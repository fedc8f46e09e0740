"""Runner policy: retries, the fallback chain, capability checks and the cost budget."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import pytest

from agentkit import (
    Agent,
    Capabilities,
    ImagePart,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    RetryPolicy,
    StreamAccumulator,
    StreamEvent,
    TextPart,
    run,
    run_stream,
    tool,
)
from agentkit._policy import check_capabilities, parse_model_chain
from agentkit.exceptions import (
    AuthenticationError,
    BudgetExceededError,
    ModelCallError,
    ProviderConnectionError,
    RateLimitError,
    SchemaCompileError,
    ServerError,
    UserError,
)
from agentkit.testing import FunctionAdapter

from .fake_time import FakeTime


def fast() -> RetryPolicy:
    """Retries on a fake clock: the backoff is real, the waiting is not."""
    return FakeTime().policy()


def flaky(errors: list[Exception], answer: str = "ok") -> FunctionAdapter:
    """Raises the given errors in turn, then answers."""

    def model(request: ModelRequest) -> str:
        if errors:
            raise errors.pop(0)
        return answer

    return FunctionAdapter(model)


def rate_limited(retry_after: float | None = None) -> RateLimitError:
    return RateLimitError("slow down", provider="p", status_code=429, retry_after=retry_after)


@pytest.mark.anyio
async def test_retryable_errors_are_retried() -> None:
    errors: list[Exception] = [
        rate_limited(0.01),
        ServerError("boom", provider="p", status_code=503),
        ProviderConnectionError("reset", provider="p"),
    ]
    model = flaky(errors)
    time = FakeTime()
    result = await run(Agent(name="a"), "hi", model=model, retry=time.policy(max_attempts=4))
    assert result.output == "ok"
    assert len(model.calls) == 4
    # Retry-After first, then the backoff doubling from initial_delay.
    assert time.sleeps == [0.01, 1.0, 2.0]


@pytest.mark.anyio
async def test_retries_are_events_on_the_result_and_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = flaky([rate_limited(2), rate_limited(3)])
    time = FakeTime()
    events: list[Any] = []
    with caplog.at_level("INFO", logger="agentkit"):
        async for event in run_stream(Agent(name="a"), "hi", model=model, retry=time.policy()):
            events.append(event)
    retries = [e for e in events if e.type == "retry"]
    assert [(r.attempt, r.error, r.status_code, r.wait_seconds) for r in retries] == [
        (1, "RateLimitError", 429, 2.0),
        (2, "RateLimitError", 429, 3.0),
    ]
    assert retries[0].model == "function:function"
    assert retries[0].message == "p: 429 slow down"
    # Each retry event is out before the wait it announces.
    assert time.sleeps == [2.0, 3.0]
    assert events[-1].result.retries == retries
    assert [r.getMessage() for r in caplog.records] == [
        "function:function: attempt 1 failed (RateLimitError: p: 429 slow down); "
        "retrying in 2.00 s",
        "function:function: attempt 2 failed (RateLimitError: p: 429 slow down); "
        "retrying in 3.00 s",
    ]
    assert (await run(Agent(name="a"), "hi", model=flaky([]))).retries == []


@pytest.mark.anyio
async def test_the_time_budget_bounds_the_waits() -> None:
    model = flaky([ServerError("boom", provider="p", status_code=500) for _ in range(9)])
    time = FakeTime()
    policy = time.policy(max_attempts=9, initial_delay=1, max_elapsed=6)
    with pytest.raises(ModelCallError):
        await run(Agent(name="a"), "hi", model=model, retry=policy)
    # 1 + 2 = 3 s spent; the next wait of 4 s would pass 6 s, so it stops.
    assert time.sleeps == [1.0, 2.0]
    assert len(model.calls) == 3


@pytest.mark.anyio
async def test_attempts_are_bounded() -> None:
    model = flaky([ServerError("boom", provider="p", status_code=500) for _ in range(5)])
    with pytest.raises(ModelCallError) as info:
        await run(Agent(name="a"), "hi", model=model, retry=fast())
    assert isinstance(info.value.cause, ServerError)
    assert len(model.calls) == 3


@pytest.mark.anyio
async def test_auth_errors_are_not_retried() -> None:
    model = flaky([AuthenticationError("bad key", provider="p", status_code=401)])
    with pytest.raises(ModelCallError):
        await run(Agent(name="a"), "hi", model=model, retry=fast())
    assert len(model.calls) == 1


def test_retry_after_longer_than_the_time_left_gives_up_at_once() -> None:
    policy = RetryPolicy(max_elapsed=10)
    assert policy.delay(1, rate_limited(30), elapsed=0) is None
    assert policy.delay(1, rate_limited(2), elapsed=0) == 2
    assert policy.delay(1, rate_limited(2), elapsed=9) is None
    auth = AuthenticationError("x", provider="p", status_code=401)
    assert policy.delay(1, auth, elapsed=0) is None
    backoff = [RetryPolicy(jitter=0).delay(n, rate_limited(), 0) for n in (1, 2)]
    assert backoff == [0.5, 1.0]
    jittered = RetryPolicy(jitter=0.25).delay(1, rate_limited(), 0)
    assert jittered is not None
    assert 0.375 <= jittered <= 0.625


@pytest.mark.anyio
async def test_chain_falls_back_on_retryable_failure_with_a_warning() -> None:
    first = flaky([ServerError("down", provider="p", status_code=503) for _ in range(3)])
    second = FunctionAdapter(lambda r: "from second", model_id="second")
    result = await run(Agent(name="a"), "hi", model=[first, second], retry=fast())
    assert result.output == "from second"
    assert result.model == "function:second"
    [warning] = result.warnings
    assert warning.kind == "fallback"
    assert "fell back to function:second after: p: 503 down" in warning.message


@pytest.mark.anyio
async def test_chain_does_not_fall_back_on_auth_errors() -> None:
    first = flaky([AuthenticationError("bad key", provider="p", status_code=401)])
    second = FunctionAdapter(lambda r: "never")
    with pytest.raises(ModelCallError, match="bad key"):
        await run(Agent(name="a"), "hi", model=[first, second], retry=fast())
    assert second.calls == []


@tool
def ping() -> str:
    """Ping."""
    return "pong"


@pytest.mark.anyio
async def test_chain_skips_a_model_without_a_needed_capability() -> None:
    no_tools = FunctionAdapter(lambda r: "never", capabilities=Capabilities(tools=False))
    capable = FunctionAdapter(lambda r: "tools ok", model_id="capable")
    result = await run(Agent(name="a", tools=[ping]), "hi", model=[no_tools, capable])
    assert result.output == "tools ok"
    assert no_tools.calls == []
    assert "cannot call tools" in result.warnings[0].message
    with pytest.raises(ModelCallError, match="cannot call tools"):
        await run(Agent(name="a", tools=[ping]), "hi", model=no_tools)


def test_model_chain_strings() -> None:
    assert parse_model_chain("ollama:llama3.2, openai:gpt-4.1-mini") == [
        "ollama:llama3.2",
        "openai:gpt-4.1-mini",
    ]
    assert parse_model_chain(["a:b"]) == ["a:b"]


class _BreaksMidStream:
    """Streams one text delta, then the connection breaks."""

    spec_version: Literal["1"] = "1"
    provider = "broken"
    model_id = "mid"
    capabilities = Capabilities()

    def __init__(self) -> None:
        self.attempts = 0

    async def generate(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        self.attempts += 1
        acc = StreamAccumulator(self.provider, self.model_id)
        yield acc.start()
        for event in acc.add_text("Hel"):
            yield event
        raise ProviderConnectionError("connection reset mid-answer", provider=self.provider)


@pytest.mark.anyio
async def test_no_retry_or_fallback_after_the_first_streamed_token() -> None:
    broken = _BreaksMidStream()
    backup = FunctionAdapter(lambda r: "backup")
    seen: list[str] = []

    async def consume() -> None:
        async for event in run_stream(Agent(name="a"), "hi", model=[broken, backup], retry=fast()):
            seen.append(event.type)

    with pytest.raises(ModelCallError, match="connection reset mid-answer"):
        await consume()
    assert broken.attempts == 1
    assert backup.calls == []
    assert seen == ["run_start", "turn_start", "response_start", "text_delta"]


def test_unsupported_settings_are_removed_with_warnings() -> None:
    adapter = FunctionAdapter(
        lambda r: "x",
        capabilities=Capabilities(
            settings=frozenset({"max_tokens"}), tool_choice=frozenset({"auto"})
        ),
    )
    request = ModelRequest(
        messages=[Message.user("x")],
        tool_choice="required",
        settings=ModelSettings(max_tokens=5, seed=3, top_p=0.5),
    )
    fitted, warnings = check_capabilities(request, adapter)
    assert fitted.settings == ModelSettings(max_tokens=5)
    assert fitted.tool_choice is None
    assert sorted(w.feature or "" for w in warnings) == ["seed", "tool_choice", "top_p"]
    assert all(w.provider == "function" for w in warnings)


def test_images_need_image_input() -> None:
    adapter = FunctionAdapter(lambda r: "x", capabilities=Capabilities(image_input=False))
    request = ModelRequest(
        messages=[Message(role="user", parts=[TextPart(text="see"), ImagePart(url="http://x")])]
    )
    with pytest.raises(Exception, match="does not take images"):
        check_capabilities(request, adapter)


@pytest.mark.anyio
async def test_budget_stops_before_an_expensive_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"function:pricey": {"input": 1000.0, "output": 1000.0}}))
    monkeypatch.setenv("AGENTKIT_PRICES", str(prices))

    def model(request: ModelRequest) -> Any:
        return "cheap enough"

    agent = Agent(name="b", settings=ModelSettings(max_tokens=100))
    pricey = FunctionAdapter(model, model_id="pricey")
    # 100 output tokens at $1000/M is $0.10 at most: a $0.01 budget stops it.
    with pytest.raises(BudgetExceededError) as info:
        await run(agent, "hi", model=pricey, max_cost_usd=0.01)
    assert "max_cost_usd=$0.01" in str(info.value)
    assert pricey.calls == []
    assert [m.role for m in info.value.messages] == ["user"]
    result = await run(agent, "hi", model=pricey, max_cost_usd=1.0)
    assert result.output == "cheap enough"


@pytest.mark.anyio
async def test_budget_with_unknown_price_warns() -> None:
    result = await run(Agent(name="b"), "hi", model=FunctionAdapter(lambda r: "x"), max_cost_usd=1)
    assert result.warnings[0].feature == "max_cost_usd"
    assert "cannot be enforced" in result.warnings[0].message


def test_exhausted_quota_is_not_retried_but_falls_back() -> None:
    from agentkit._policy import is_retryable, should_fall_back

    quota = RateLimitError(
        "You exceeded your current quota", provider="openai", status_code=429,
        code="insufficient_quota",
    )  # fmt: skip
    assert not is_retryable(quota)
    assert is_retryable(rate_limited())
    assert should_fall_back(quota)


@pytest.mark.anyio
async def test_every_model_of_a_chain_resolves_before_any_work() -> None:
    first = FunctionAdapter(lambda r: "never asked")
    with pytest.raises(UserError, match="no adapter for provider 'opeani'"):
        await run(Agent(name="a"), "hi", model=[first, "opeani:gpt-4.1-mini"])
    with pytest.raises(UserError, match="no adapter for provider 'opeani'"):
        await run(Agent(name="a"), "hi", model="ollama:llama3.2, opeani:gpt-4.1-mini")
    assert first.calls == []
    with pytest.raises(UserError, match="no model given"):
        await run(Agent(name="a"), "hi", model=" , ")


@pytest.mark.anyio
async def test_a_failed_chain_names_each_models_failure_in_order() -> None:
    first = flaky([ServerError("down", provider="p", status_code=503)], answer="x")
    second = FunctionAdapter(_raise(rate_limited()), model_id="second")
    third = FunctionAdapter(
        _raise(AuthenticationError("bad key", provider="q", status_code=401)), model_id="third"
    )
    fourth = FunctionAdapter(lambda r: "never", model_id="fourth")
    policy = FakeTime().policy(max_attempts=1)
    with pytest.raises(ModelCallError) as info:
        await run(Agent(name="a"), "hi", model=[first, second, third, fourth], retry=policy)
    assert str(info.value) == (
        "3 of 4 models of the chain failed: 1) function:function: p: 503 down; "
        "2) function:second: p: 429 slow down; 3) function:third: q: 401 bad key "
        "(the last error is not one another model could avoid, so the rest was not tried)"
    )
    assert [(m, type(e).__name__) for m, e in info.value.failures] == [
        ("function:function", "ServerError"),
        ("function:second", "RateLimitError"),
        ("function:third", "AuthenticationError"),
    ]
    assert isinstance(info.value.cause, AuthenticationError)
    assert fourth.calls == []
    with pytest.raises(ModelCallError, match=r"^2 of 2 models of the chain failed: 1\) "):
        await run(Agent(name="a"), "hi", model=[second, second], retry=policy)


def _raise(error: Exception) -> Any:
    def model(request: ModelRequest) -> Any:
        raise error

    return model


def _schema_error(request: ModelRequest) -> Any:
    # What an adapter raises when it compiles a schema it cannot send unchanged.
    raise SchemaCompileError("'patternProperties' would be dropped", tool="lookup", target="gemini")


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_a_schema_a_model_cannot_take_moves_on_to_the_next(stream: bool) -> None:
    picky = FunctionAdapter(_schema_error, model_id="picky")
    able = FunctionAdapter(lambda r: "from able", model_id="able")
    events = [
        e async for e in run_stream(Agent(name="a"), "hi", model=[picky, able], stream=stream)
    ]
    result = events[-1].result
    assert result.output == "from able"
    assert result.model == "function:able"
    assert [w.kind for w in result.warnings] == ["fallback"]
    assert "'patternProperties' would be dropped" in result.warnings[0].message
    assert [e.type for e in events].count("retry") == 0  # not retried on the same model


@pytest.mark.anyio
async def test_a_schema_no_model_can_take_is_a_run_error_with_the_conversation() -> None:
    from agentkit.exceptions import RunError, UnsupportedSchemaError

    picky = FunctionAdapter(_schema_error, model_id="picky")
    with pytest.raises(UnsupportedSchemaError) as info:
        await run(Agent(name="a", instructions="sys"), "hi", model=[picky, picky])
    err = info.value
    assert isinstance(err, RunError)
    assert isinstance(err, ModelCallError)
    assert [m.role for m in err.messages] == ["system", "user"]
    assert isinstance(err.cause, SchemaCompileError)
    assert len(err.failures) == 2
    assert str(err).startswith("2 of 2 models of the chain failed: 1) function:picky: ")
    with pytest.raises(UnsupportedSchemaError, match=r"^schema of 'lookup' for gemini"):
        await run(Agent(name="a"), "hi", model=picky)
