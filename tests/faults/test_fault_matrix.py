"""Every fault through every HTTP adapter: recovered, or a named error; nothing lost or leaked.

The cases are in ``matrix.py`` (``python -m tests.faults.table`` prints them
as a table). Each runs a one-tool agent through ``run`` or ``run_stream``
against a ``FaultServer`` and checks: the outcome is one the fault allows
(a recovery showing its retries in ``result.retries``, or an error class of
``agentkit.exceptions``), it came within a bounded time, a failed run keeps
the conversation so far, and the planted key appears nowhere: not in the
result, the events, the messages, the error chain (with every attribute and
argument along it), the log records, or the CLI's stderr.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentkit.exceptions
from agentkit import (
    ModelSettings,
    RetryPolicy,
    RunEndEvent,
    RunResult,
    ToolCallPart,
    ToolResultPart,
    run_stream,
)
from agentkit.exceptions import BadRequestError, ModelCallError, RunError, ToolRetriesError
from agentkit.testing import Fault, FaultServer
from agentkit.testing._faults import Wire

from .matrix import (
    ADAPTERS,
    AGENT,
    ANSWER,
    FAULTS,
    KEY,
    LONG,
    AdapterCase,
    FaultCase,
    chain,
    run_case,
    script,
    servers,
)

#: No case may take longer than this (s): a deadline of 0.5 s, retried once, and slack.
BOUND = 5.0


@pytest.fixture(scope="module")
def served() -> Iterator[dict[Wire, tuple[FaultServer, str]]]:
    with servers() as found:
        yield found


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
@pytest.mark.parametrize("adapter", ADAPTERS, ids=[a.name for a in ADAPTERS])
async def test_fault(
    adapter: AdapterCase,
    fault: FaultCase,
    stream: bool,
    served: dict[Wire, tuple[FaultServer, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    outcome = await run_case(adapter, fault, stream, served)
    assert outcome.kind in fault.allowed, (outcome.label, outcome.error)
    assert outcome.seconds < BOUND, outcome.label
    for text in [*outcome.texts, caplog.text]:
        assert KEY not in text, outcome.label
    if outcome.kind == "recovered":
        assert outcome.retries == fault.retries, outcome.label
        expected = "x" * 2_000_000 if fault.name.startswith("huge body") else ANSWER
        assert outcome.output == expected, outcome.label
        if fault.name == "429 Retry-After":
            assert outcome.waits == [7.0]  # the provider's wait, not the backoff
        if fault.name in ("non-JSON tool arguments", "unknown tool"):
            # The model was told, and tried again: one error result, then the real one.
            results = [p for m in outcome.messages for p in m.parts if p.type == "tool_result"]
            assert [r.is_error for r in results] == [True, False], outcome.label
        return
    error = outcome.error
    assert isinstance(error, RunError), outcome.label
    assert getattr(agentkit.exceptions, outcome.kind, None) is not None, outcome.kind
    # Nothing is lost: the conversation up to the failure is on the error.
    assert [m.role for m in error.messages][:2] == ["system", "user"], outcome.label
    assert error.messages[1].text == "Weather in Paris?"
    if fault.name.startswith("huge error"):
        assert isinstance(error.cause, BadRequestError)
        assert len(str(error)) < 2_500
        assert len(json.dumps(error.cause.body, default=str)) < 20_000
    assert "Traceback" not in str(error)


def test_the_matrix_covers_every_adapter_fault_and_mode() -> None:
    # 6 adapters x 19 faults x 2 modes; a fault or an adapter dropped by mistake shows here.
    assert {a.wire for a in ADAPTERS} == {
        "openai-chat",
        "openai-responses",
        "gemini",
        "ollama",
        "anthropic",
    }
    assert len(FAULTS) >= 18


def test_chain_walks_causes_contexts_and_attributes() -> None:
    inner = ValueError("inner")
    outer = RuntimeError("outer")
    outer.__context__ = inner
    outer.extra = {"k": [KeyError("deep")]}  # type: ignore[attr-defined]
    found = list(chain(outer))
    assert inner in found
    assert any(isinstance(item, KeyError) for item in found)


REJECTED = {
    "error": {
        "message": "Failed to call a function. See 'failed_generation' for more details.",
        "type": "invalid_request_error",
        "code": "tool_use_failed",
        "failed_generation": '<function=get_weather{"city": "Paris"</function>',
    }
}


async def _groq(root: str, stream: bool) -> RunResult:
    events = run_stream(
        AGENT,
        "Weather in Paris?",
        model="groq:llama-3.3-70b-versatile",
        settings=ModelSettings(timeout=LONG),
        retry=RetryPolicy(max_attempts=3, sleep=_no_wait),
        model_options={"base_url": f"{root}/v1", "api_key": KEY},
        stream=stream,
    )
    async for event in events:
        if isinstance(event, RunEndEvent):
            return event.result
    raise AssertionError("no result")


async def _no_wait(seconds: float) -> None:
    return None


@pytest.mark.anyio
@pytest.mark.parametrize(
    "fault",
    [Fault.error_status(400, body=REJECTED), Fault.error_event({**REJECTED, "status_code": 400})],
    ids=["400", "stream event"],
)
async def test_a_rejected_tool_call_goes_back_to_the_model(
    fault: Fault, served: dict[Wire, tuple[FaultServer, str]]
) -> None:
    # Groq's tool_use_failed (a 400, or an "event: error" saying 400, with
    # failed_generation) is the model's mistake: the model is told and calls
    # again, within the tool-retry budget, instead of the run ending.
    server, root = served["openai-chat"]
    server.plan(fault)
    result = await _groq(root, stream=fault.kind == "error_event")
    assert result.output == ANSWER
    assert result.retries == []  # not retried as a model call: answered as a tool call
    results = [p for m in result.messages for p in m.parts if isinstance(p, ToolResultPart)]
    assert [r.is_error for r in results] == [True, False]
    assert "rejected this tool call" in results[0].text
    assert "<function=get_weather" in results[0].text
    calls = [p for m in result.messages for p in m.parts if isinstance(p, ToolCallPart)]
    assert calls[0].name == "get_weather"


@pytest.mark.anyio
async def test_rejected_tool_calls_past_the_budget_end_the_run(
    served: dict[Wire, tuple[FaultServer, str]],
) -> None:
    server, root = served["openai-chat"]
    server.plan(*[Fault.error_status(400, body=REJECTED)] * 5)
    try:
        with pytest.raises(ToolRetriesError, match="budget 2") as info:
            await _groq(root, stream=False)
    finally:
        server.clear()
    assert info.value.messages[1].text == "Weather in Paris?"


@pytest.mark.anyio
async def test_an_error_event_saying_400_is_not_retried(
    served: dict[Wire, tuple[FaultServer, str]],
) -> None:
    # It used to be a ServerError (status 200), retried as if the provider had failed.
    server, root = served["openai-chat"]
    body = {"error": {"message": "bad request", "type": "invalid_request_error"}}
    server.plan(Fault.error_event({**body, "status_code": 400}), Fault.error_status(500))
    try:
        with pytest.raises(ModelCallError) as info:
            await _groq(root, stream=True)
    finally:
        server.clear()
    assert type(info.value.cause) is BadRequestError
    last = server.served[-1]
    assert last is not None
    assert last.kind == "error_event"


# -- the CLI: exit codes and stderr under faults ----------------------------------------------

AGENT_FILE = """\
name: weather
instructions: Be brief.
settings:
  timeout: 5
"""

CLI_CASES = {
    "401 echoing the key": (Fault.echo_key(), 3),
    "invalid UTF-8": (Fault.invalid_utf8(), 10),
    "503 then an answer": (Fault.error_status(503), 0),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_under_faults(
    case: str, served: dict[Wire, tuple[FaultServer, str]], tmp_path: Path
) -> None:
    fault, code = CLI_CASES[case]
    server, root = served["openai-chat"]
    server.plan(fault)
    agent = tmp_path / "agent.yaml"
    agent.write_text(AGENT_FILE)
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "agentkit", "run", str(agent)),
            *("--model", "openai:gpt-4.1-mini", "--base-url", f"{root}/v1"),
            *("--input", "Weather in Paris?", "--no-stream"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    server.clear()
    assert done.returncode == code, done.stderr
    assert KEY not in done.stderr
    assert KEY not in done.stdout
    assert "Traceback" not in done.stderr
    assert len(done.stderr) < 5_000
    if code == 0:
        assert ANSWER in done.stdout


def test_the_script_answers_without_tools() -> None:
    from agentkit import Message, ModelRequest

    assert script(ModelRequest(messages=[Message.user("hi")])) == ANSWER
