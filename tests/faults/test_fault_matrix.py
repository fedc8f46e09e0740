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
from agentkit import ModelSettings, RetryPolicy, run
from agentkit.exceptions import BadRequestError, RunError
from agentkit.testing import Fault, FaultServer
from agentkit.testing._faults import Wire

from .matrix import (
    ADAPTERS,
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

#: No case may take longer than this (s): a deadline of 0.2 s, retried once, and slack.
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


@pytest.mark.anyio
async def test_a_rejected_tool_call_goes_back_to_the_model(
    served: dict[Wire, tuple[FaultServer, str]],
) -> None:
    # Groq's tool_use_failed (400, with failed_generation) is the model's mistake:
    # the model is told and calls again, within the tool-retry budget.
    server, root = served["openai-chat"]
    rejected = {
        "error": {
            "message": "Failed to call a function. See 'failed_generation' for more details.",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "failed_generation": '<function=get_weather{"city": "Paris"</function>',
        }
    }
    server.plan(Fault.error_status(400))
    original = server._error_body
    server._error_body = lambda status, message: rejected  # type: ignore[method-assign]
    try:
        result = await run(
            _agent(),
            "Weather in Paris?",
            model="groq:llama-3.3-70b-versatile",
            settings=ModelSettings(timeout=LONG),
            retry=RetryPolicy(max_attempts=1),
            model_options={"base_url": f"{root}/v1", "api_key": KEY},
        )
    finally:
        server._error_body = original  # type: ignore[method-assign]
    assert result.output == ANSWER
    assert result.retries == []  # not retried as a model call: answered as a tool call
    results = [p for m in result.messages for p in m.parts if p.type == "tool_result"]
    assert [r.is_error for r in results] == [True, False]
    assert "rejected this tool call" in results[0].text
    assert "failed_generation" in results[0].text or "<function=get_weather" in results[0].text
    calls = [p for m in result.messages for p in m.parts if p.type == "tool_call"]
    assert calls[0].name == "get_weather"


@pytest.mark.anyio
async def test_rejected_tool_calls_past_the_budget_end_the_run(
    served: dict[Wire, tuple[FaultServer, str]],
) -> None:
    server, root = served["openai-chat"]
    body = {"error": {"message": "bad call", "code": "tool_use_failed", "failed_generation": "x"}}
    server.plan(*[Fault.error_status(400)] * 5)
    original = server._error_body
    server._error_body = lambda status, message: body  # type: ignore[method-assign]
    try:
        with pytest.raises(agentkit.exceptions.ToolRetriesError) as info:
            await run(
                _agent(),
                "Weather in Paris?",
                model="groq:llama-3.3-70b-versatile",
                settings=ModelSettings(timeout=LONG),
                model_options={"base_url": f"{root}/v1", "api_key": KEY},
            )
    finally:
        server._error_body = original  # type: ignore[method-assign]
        server.clear()
    assert "budget 2" in str(info.value)


def _agent():  # type: ignore[no-untyped-def]
    from .matrix import AGENT

    return AGENT


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
