"""``A2AToolset``: an agentkit agent calling remote A2A agents as tools, on loopback."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from a2a_helpers import TOKEN, echo_model, plan_model, scripted, structured_agent, text_agent
from a2a_helpers import served as served_agentkit
from sdk_server import KeywordExecutor, sdk_app

from agentkit import Agent, ModelRequest, ToolCallPart, ToolResultPart, load_agent, run
from agentkit.a2a import A2AToolset
from agentkit.exceptions import UserError
from agentkit.testing import serve_asgi

pytestmark = pytest.mark.anyio


@pytest.fixture
def sdk_server() -> Iterator[tuple[str, KeywordExecutor]]:
    """The SDK-only server on a free loopback port."""
    executor = KeywordExecutor()
    holder: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await holder["app"](scope, receive, send)

    with serve_asgi(app) as url:
        holder["app"] = sdk_app(url + "/", executor)
        yield url + "/", executor


def caller(*inputs: str) -> Any:
    """A model that sends each of ``inputs`` to the first tool in turn, then reports."""

    def model(request: ModelRequest) -> Any:
        results = [p for m in request.messages if m.role == "tool" for p in m.parts]
        if len(results) < len(inputs):
            tool = request.tools[0].name
            n = len(results)
            return [ToolCallPart(id=f"c{n}", name=tool, arguments={"input": inputs[n]})]
        return " / ".join(r.text for r in results if isinstance(r, ToolResultPart))

    return scripted(model)


def tool_results(messages: list[Any]) -> list[ToolResultPart]:
    return [p for m in messages if m.role == "tool" for p in m.parts]


async def test_the_remote_card_becomes_one_tool(sdk_server: tuple[str, KeywordExecutor]) -> None:
    url, _ = sdk_server
    [definition] = await A2AToolset(url).list_tools()
    assert definition.name == "Keyword_Agent"
    assert definition.title == "Keyword Agent"
    assert definition.description == (
        "Answers by keyword; built with the official SDK only.\n"
        "Skills:\n- tables: Returns tables as data"
    )
    assert definition.input_schema["required"] == ["input"]


async def test_text_artifacts_are_text_and_the_conversation_is_kept(
    sdk_server: tuple[str, KeywordExecutor],
) -> None:
    url, executor = sdk_server
    agent = Agent(name="local", tools=[A2AToolset(url)])
    result = await run(agent, "go", model=caller("hello", "again"))
    assert result.output == "sdk says: hello (turn 1) / sdk says: again (turn 2)"
    assert list(executor.seen.values()) == [["hello", "again"]]  # one remote context
    assert result.warnings == []


async def test_a_new_run_starts_a_new_remote_conversation(
    sdk_server: tuple[str, KeywordExecutor],
) -> None:
    url, executor = sdk_server
    agent = Agent(name="local", tools=[A2AToolset(url)])
    await run(agent, "go", model=caller("one"))
    await run(agent, "go", model=caller("two"))
    assert sorted(executor.seen.values()) == [["one"], ["two"]]


@pytest.mark.parametrize("streaming", [True, False])
async def test_data_artifacts_are_structured_content(
    sdk_server: tuple[str, KeywordExecutor], streaming: bool
) -> None:
    url, _ = sdk_server
    agent = Agent(name="local", tools=[A2AToolset(url, streaming=streaming)])
    result = await run(agent, "go", model=caller("data please"))
    [answer] = tool_results(result.messages)
    assert answer.structured_content == {"rows": 3, "ok": True}
    assert json.loads(answer.text) == {"rows": 3, "ok": True}  # protobuf keeps no key order
    assert answer.is_error is False


async def test_a_failed_remote_task_is_an_error_result_and_a_warning(
    sdk_server: tuple[str, KeywordExecutor],
) -> None:
    url, _ = sdk_server
    agent = Agent(name="local", tools=[A2AToolset(url)])
    result = await run(agent, "go", model=caller("fail"))
    [answer] = tool_results(result.messages)
    assert answer.is_error is True
    assert answer.text == (
        "The remote agent 'Keyword_Agent' failed: its task ended failed: out of paper"
    )
    [warning] = result.warnings
    assert warning.kind == "tool"
    assert "out of paper" in warning.message


async def test_input_required_is_passed_to_the_model(
    sdk_server: tuple[str, KeywordExecutor],
) -> None:
    url, executor = sdk_server
    agent = Agent(name="local", tools=[A2AToolset(url)])
    result = await run(agent, "go", model=caller("ask", "Oslo"))
    first, second = tool_results(result.messages)
    assert first.is_error is False
    assert first.text == "The Keyword_Agent agent needs more input: which city?"
    # The answer went to the waiting task, in the same remote conversation.
    assert second.text == "sdk says: Oslo (turn 2)"
    assert list(executor.seen.values()) == [["ask", "Oslo"]]


async def test_progress_is_logged(
    sdk_server: tuple[str, KeywordExecutor], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = sdk_server
    agent = Agent(name="local", tools=[A2AToolset(url)])
    with caplog.at_level(logging.INFO, logger="agentkit.a2a"):
        await run(agent, "go", model=caller("hello"))
    said = [r.getMessage() for r in caplog.records if r.name == "agentkit.a2a"]
    assert said == ["A2A agent 'Keyword_Agent': reading", "A2A agent 'Keyword_Agent': writing"]


async def test_an_unreachable_agent_is_an_error_result_not_a_crash() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nobody listens there
    agent = Agent(name="local", tools=[A2AToolset(f"http://127.0.0.1:{port}/", name="far")])
    result = await run(agent, "go", model=caller("hello"))
    [answer] = tool_results(result.messages)
    assert answer.is_error is True
    assert answer.text.startswith("The remote agent 'far' cannot be reached (")
    assert any("unreachable" in w.message for w in result.warnings)


async def test_agentkit_to_agentkit_with_a_token() -> None:
    remote = structured_agent()
    with served_agentkit(remote, scripted(plan_model), token=TOKEN) as url:
        allowed = Agent(name="local", tools=[A2AToolset(url, token=TOKEN)])
        result = await run(allowed, "go", model=caller("Porto"))
        refused = Agent(name="local", tools=[A2AToolset(url, token="sk-test-wrong")])
        failed = await run(refused, "go", model=caller("Porto"))
    [answer] = tool_results(result.messages)
    assert answer.structured_content == {"city": "Porto", "days": 3}
    [denied] = tool_results(failed.messages)
    assert denied.is_error is True
    assert "401" in denied.text
    assert failed.warnings


async def test_agentkit_remote_keeps_the_context_across_calls() -> None:
    with served_agentkit(text_agent(), scripted(echo_model)) as url:
        agent = Agent(name="local", tools=[A2AToolset(url)])
        result = await run(agent, "go", model=caller("I am Ada", "recall"))
    assert result.output == "echo: I am Ada / earlier: I am Ada"


def test_agent_file_a2a_agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "name: local\n"
        "a2a_agents:\n"
        "  - http://127.0.0.1:9/\n"
        "  - url: https://agents.example/planner/\n"
        "    name: planner\n"
        "    token_env: PLANNER_TOKEN\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PLANNER_TOKEN", "sk-test-planted")
    agent = load_agent(path)
    first, second = agent.toolsets
    assert isinstance(first, A2AToolset)
    assert isinstance(second, A2AToolset)
    assert first.url == "http://127.0.0.1:9/"
    assert (second.name, second.headers["Authorization"]) == ("planner", "Bearer sk-test-planted")
    monkeypatch.delenv("PLANNER_TOKEN")
    with pytest.raises(UserError, match=r"\$PLANNER_TOKEN, which is not set"):
        load_agent(path)
    assert os.environ.get("PLANNER_TOKEN") is None


def test_agent_file_rejects_a_bad_a2a_entry(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("name: local\na2a_agents:\n  - url: ftp://x/\n", encoding="utf-8")
    with pytest.raises(UserError, match="a2a_agents"):
        load_agent(path)


def test_an_agent_file_without_a2a_agents_does_not_import_the_sdk(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "agent.yaml").write_text("name: local\n", encoding="utf-8")
    code = (
        "import sys; from agentkit import load_agent; load_agent(sys.argv[1]); "
        "print(any(m.split('.')[0] == 'a2a' for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "agent.yaml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
