"""agentkit's A2A server driven by the official Python SDK's client, on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys

import anyio
import anyio.to_thread
import httpx
import pytest
from a2a.client import A2AClientError
from a2a.helpers.proto_helpers import get_data_parts, get_text_parts
from a2a.types import CancelTaskRequest, GetTaskRequest, StreamResponse, Task, TaskState
from a2a.utils.errors import TaskNotCancelableError
from a2a_helpers import (
    HANG_CANCELLED,
    HANG_STARTED,
    TOKEN,
    echo_model,
    plan_model,
    scripted,
    sdk_client,
    served,
    structured_agent,
    text_agent,
    user_message,
)

from agentkit.a2a import serve_a2a
from agentkit.a2a._server import bind_socket

pytestmark = pytest.mark.anyio

CARD = ".well-known/agent-card.json"


async def _final_task(client: object, request: object) -> Task:
    events = [e async for e in client.send_message(request)]  # type: ignore[attr-defined]
    assert len(events) == 1
    assert events[0].HasField("task")
    return events[0].task  # type: ignore[no-any-return]


def test_agent_card_describes_the_agent() -> None:
    with served(text_agent(), scripted(echo_model), token=TOKEN) as url:
        card = httpx.get(url + CARD).json()  # public: no token needed for the card
    assert card["name"] == "helper"
    assert card["description"] == "Answers questions and knows the weather."
    bindings = {i["protocolBinding"]: i["url"] for i in card["supportedInterfaces"]}
    assert bindings == {"JSONRPC": url, "HTTP+JSON": url + "rest"}
    assert card["capabilities"]["streaming"] is True
    assert card["defaultInputModes"] == ["text/plain", "application/json"]
    assert card["defaultOutputModes"] == ["text/plain"]
    skills = {s["id"]: s for s in card["skills"]}
    assert skills["helper"]["description"] == "You help people."  # first paragraph
    assert skills["tool:weather"]["description"] == "Tomorrow's weather for a city."
    assert card["securitySchemes"] == {
        "bearer": {
            "httpAuthSecurityScheme": {
                "scheme": "Bearer",
                "description": "Authorization: Bearer <token>",
            }
        }
    }
    assert card["securityRequirements"] == [{"schemes": {"bearer": {}}}]


def test_structured_agent_card_offers_json_output() -> None:
    with served(structured_agent(), scripted(plan_model), rest=False) as url:
        card = httpx.get(url + CARD).json()
    assert card["defaultOutputModes"] == ["application/json", "text/plain"]
    assert [i["protocolBinding"] for i in card["supportedInterfaces"]] == ["JSONRPC"]
    assert "securitySchemes" not in card


@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON"])
async def test_send_runs_the_agent_with_its_tools(binding: str) -> None:
    with served(text_agent(), scripted(echo_model)) as url:
        client = await sdk_client(url, streaming=False, bindings=[binding])
        task = await _final_task(client, user_message("weather Oslo"))
        fetched = await client.get_task(GetTaskRequest(id=task.id))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    [artifact] = task.artifacts
    assert get_text_parts(artifact.parts) == ['forecast: {"city": "Oslo", "celsius": 18}']
    assert get_text_parts(task.status.message.parts) == get_text_parts(artifact.parts)
    assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
    assert fetched.artifacts[0].artifact_id == artifact.artifact_id
    said = [get_text_parts(m.parts) for m in fetched.history]
    assert said[0] == ["weather Oslo"]
    assert ["Calling tool weather"] in said
    assert ["Tool weather: done"] in said


async def test_stream_reports_the_lifecycle_and_progress() -> None:
    with served(text_agent(), scripted(echo_model)) as url:
        client = await sdk_client(url, streaming=True)
        events: list[StreamResponse] = [
            e async for e in client.send_message(user_message("weather Rome"))
        ]
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task"
    assert events[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states[0] == TaskState.TASK_STATE_WORKING
    assert states[-1] == TaskState.TASK_STATE_COMPLETED
    assert set(states[:-1]) == {TaskState.TASK_STATE_WORKING}
    progress = [
        e.status_update.metadata["agentkit"]["event"]
        for e in events
        if e.HasField("status_update") and "agentkit" in e.status_update.metadata
    ]
    assert progress == ["turn_start", "tool_call", "tool_result", "turn_start"]
    [artifact] = [e.artifact_update for e in events if e.HasField("artifact_update")]
    assert get_text_parts(artifact.artifact.parts) == ['forecast: {"city": "Rome", "celsius": 18}']
    assert kinds.index("artifact_update") < len(kinds) - 1  # before the final status


async def test_structured_output_is_a_data_artifact() -> None:
    with served(structured_agent(), scripted(plan_model)) as url:
        client = await sdk_client(url, streaming=False)
        task = await _final_task(client, user_message("Lisbon"))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    by_name = {a.name: a for a in task.artifacts}
    assert get_data_parts(by_name["output"].parts) == [{"city": "Lisbon", "days": 3.0}]
    assert by_name["output"].parts[0].media_type == "application/json"
    assert get_text_parts(by_name["response"].parts) == ['{"city": "Lisbon", "days": 3}']


async def test_a_failed_run_is_a_failed_task_with_the_error() -> None:
    with served(structured_agent(), scripted(plan_model)) as url:
        client = await sdk_client(url, streaming=True)
        events = [e async for e in client.send_message(user_message("break"))]
    final = events[-1].status_update.status
    assert final.state == TaskState.TASK_STATE_FAILED
    [text] = get_text_parts(final.message.parts)
    assert text.startswith("OutputValidationError:")


async def test_context_id_carries_the_conversation() -> None:
    with served(text_agent(), scripted(echo_model)) as url:
        client = await sdk_client(url, streaming=False)
        first = await _final_task(client, user_message("my name is Ada"))
        second = await _final_task(
            client, user_message("I live in Oslo", context_id=first.context_id)
        )
        third = await _final_task(client, user_message("recall", context_id=first.context_id))
        other = await _final_task(client, user_message("recall"))
    assert second.context_id == third.context_id == first.context_id
    assert len({first.id, second.id, third.id}) == 3
    assert get_text_parts(third.artifacts[0].parts) == ["earlier: my name is Ada | I live in Oslo"]
    assert get_text_parts(other.artifacts[0].parts) == ["earlier: "]
    assert other.context_id != first.context_id


async def test_cancel_stops_the_running_agent() -> None:
    HANG_STARTED.clear()
    HANG_CANCELLED.clear()
    with served(text_agent(), scripted(echo_model)) as url:
        client = await sdk_client(url, streaming=True)
        seen: list[StreamResponse] = []
        first = anyio.Event()
        async with anyio.create_task_group() as group:

            async def consume() -> None:
                async for event in client.send_message(user_message("hang")):
                    seen.append(event)
                    first.set()

            group.start_soon(consume)
            with anyio.fail_after(10):
                await first.wait()
            # The tool runs in the server's thread: wait there, not by polling.
            assert await anyio.to_thread.run_sync(HANG_STARTED.wait, 10)
            task_id = seen[0].task.id
            canceled = await client.cancel_task(CancelTaskRequest(id=task_id))
            assert await anyio.to_thread.run_sync(HANG_CANCELLED.wait, 10)
            group.cancel_scope.cancel()
        fetched = await client.get_task(GetTaskRequest(id=task_id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    assert fetched.status.state == TaskState.TASK_STATE_CANCELED


async def test_cancel_of_a_finished_task_is_refused() -> None:
    with served(text_agent(), scripted(echo_model)) as url:
        client = await sdk_client(url, streaming=False)
        task = await _final_task(client, user_message("hi"))
        with pytest.raises(TaskNotCancelableError):
            await client.cancel_task(CancelTaskRequest(id=task.id))


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_bearer_token_scheme_is_case_insensitive(scheme: str) -> None:
    with served(text_agent(), scripted(echo_model), token=TOKEN) as url:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                url,
                headers={"Authorization": f"{scheme} {TOKEN}", "A2A-Version": "1.0"},
                json={"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "none"}},
            )
    assert response.status_code == 200
    assert response.json()["error"]["code"] == -32001  # task not found: we got past auth


async def test_bearer_token_guards_every_endpoint() -> None:
    with served(text_agent(), scripted(echo_model), token=TOKEN) as url:
        client = await sdk_client(url, streaming=False, token=TOKEN)
        task = await _final_task(client, user_message("hi"))
        anonymous = await sdk_client(url, streaming=False)
        with pytest.raises(A2AClientError, match="401"):
            await _final_task(anonymous, user_message("hi"))
        wrong = await sdk_client(url, streaming=False, token="sk-test-wrong")
        with pytest.raises(A2AClientError, match="401"):
            await wrong.get_task(GetTaskRequest(id=task.id))
        async with httpx.AsyncClient() as http:
            rest = await http.get(url + "rest/tasks/" + task.id)
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert rest.status_code == 401
    assert rest.headers["www-authenticate"] == 'Bearer error="invalid_request"'


def test_foreign_host_and_origin_are_refused() -> None:
    with served(text_agent(), scripted(echo_model)) as url:
        rebound = httpx.get(url + CARD, headers={"Host": "evil.example:80"})
        cross = httpx.get(url + CARD, headers={"Origin": "http://evil.example"})
        local = httpx.get(url + CARD, headers={"Origin": "http://localhost:3000"})
    assert rebound.status_code == 421
    assert cross.status_code == 403
    assert local.status_code == 200


def test_listening_socket_has_nodelay_and_is_loopback() -> None:
    sock = bind_socket("127.0.0.1", 0)
    with sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"


async def test_serve_a2a_serves_until_cancelled() -> None:
    ready: list[str] = []
    listening = anyio.Event()

    def on_ready(url: str) -> None:
        ready.append(url)
        listening.set()

    async with anyio.create_task_group() as group:
        group.start_soon(
            lambda: serve_a2a(text_agent(), port=0, model=scripted(echo_model), on_ready=on_ready)
        )
        with anyio.fail_after(10):
            await listening.wait()
        client = await sdk_client(ready[0], streaming=False)
        task = await _final_task(client, user_message("hi"))
        group.cancel_scope.cancel()
    assert ready[0].startswith("http://127.0.0.1:")
    assert get_text_parts(task.artifacts[0].parts) == ["echo: hi"]


def test_import_agentkit_does_not_import_a2a() -> None:
    code = (
        "import sys, agentkit, agentkit.a2a; "
        "print(any(m.split('.')[0] == 'a2a' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
