"""A traced agent calling an agentkit A2A server: one trace across the A2A boundary.

The server runs in its own thread and event loop on a loopback port (no
context leaks through memory); both sides export into the same in-memory
exporter, so the test can check the tree the two halves make.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from a2a.client import ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest
from opentelemetry.sdk.trace import ReadableSpan

from agentkit import Agent, ModelRequest, ToolCallPart, run
from agentkit.a2a import A2AToolset, a2a_app
from agentkit.testing import FunctionAdapter, serve_asgi

from .conftest import Spans

pytestmark = pytest.mark.anyio

#: A W3C traceparent of the test's own: version, trace id, parent span id, sampled.
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


#: The ``traceparent`` header of each POST the remote agent received.
RECEIVED: list[str | None] = []


@pytest.fixture
def remote() -> Iterator[str]:
    """An agentkit agent served over A2A (JSON-RPC), on a scripted model."""
    holder: dict[str, Any] = {}
    RECEIVED.clear()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            RECEIVED.append(headers[b"traceparent"].decode() if b"traceparent" in headers else None)
        await holder["app"](scope, receive, send)

    agent = Agent(name="oracle", description="Answers questions.")
    model = FunctionAdapter(
        lambda request: f"oracle says: {request.messages[-1].text}", model_id="oracle-model"
    )
    with serve_asgi(app) as url:
        holder["app"] = a2a_app(agent, url=url + "/", model=model, rest=False)
        yield url + "/"


def asks_the_oracle(request: ModelRequest) -> Any:
    if request.messages[-1].role == "user":
        return [ToolCallPart(id="o1", name="oracle", arguments={"input": "why?"})]
    return "done"


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@pytest.mark.parametrize("streaming", [False, True])
async def test_the_remote_run_is_a_child_of_the_callers_tool_call(
    spans: Spans, remote: str, streaming: bool
) -> None:
    caller = Agent(name="caller", tools=[A2AToolset(remote, name="oracle", streaming=streaming)])
    result = await run(
        caller, "Ask.", model=FunctionAdapter(asks_the_oracle, model_id="caller-model")
    )
    assert result.output == "done"
    root = spans.one("invoke_agent caller")
    tool_span = spans.one("execute_tool oracle")
    remote_run = spans.one("invoke_agent oracle")
    trace_id = root.context.trace_id
    assert {s.context.trace_id for s in spans.all()} == {trace_id}
    assert parent_of(tool_span) == root.context.span_id
    assert parent_of(remote_run) == tool_span.context.span_id
    assert remote_run.parent is not None
    assert remote_run.parent.is_remote  # it came over HTTP
    # The spec's carrier, the W3C header, named the tool call's span.
    tool_context = tool_span.context
    assert [h.rsplit("-", 1)[0] if h else h for h in RECEIVED] == [
        f"00-{tool_context.trace_id:032x}-{tool_context.span_id:016x}"
    ]
    assert parent_of(spans.one("chat oracle-model")) == remote_run.context.span_id
    assert {parent_of(s) for s in spans.named("chat caller-model")} == {root.context.span_id}


async def send(url: str, *, headers: dict[str, str], metadata: dict[str, str] | None) -> None:
    http = httpx.AsyncClient(headers=headers, timeout=30)
    config = ClientConfig(
        streaming=False, httpx_client=http, supported_protocol_bindings=["JSONRPC"]
    )
    client = await create_client(url, client_config=config)
    message = Message(
        role=Role.ROLE_USER,
        message_id=str(uuid.uuid4()),
        parts=[Part(text="hello")],
        metadata=metadata,
    )
    try:
        [_ async for _ in client.send_message(SendMessageRequest(message=message))]
    finally:
        await http.aclose()


@pytest.mark.parametrize(
    ("headers", "metadata"),
    [
        ({"traceparent": TRACEPARENT}, None),  # the spec's way: W3C headers
        ({}, {"traceparent": TRACEPARENT}),  # through a gateway that drops headers
        # Both: the header wins (a traced proxy rewrites it to its own, closer span).
        ({"traceparent": TRACEPARENT}, {"traceparent": f"00-{'1' * 32}-{'2' * 16}-01"}),
    ],
    ids=["header", "metadata", "both"],
)
async def test_a_plain_sdk_client_s_trace_context_is_continued(
    spans: Spans, remote: str, headers: dict[str, str], metadata: dict[str, str] | None
) -> None:
    await send(remote, headers=headers, metadata=metadata)
    remote_run = spans.one("invoke_agent oracle")
    assert format(remote_run.context.trace_id, "032x") == TRACE_ID
    assert parent_of(remote_run) == int(PARENT_ID, 16)


async def test_without_a_trace_context_the_remote_run_starts_its_own_trace(
    spans: Spans, remote: str
) -> None:
    await send(remote, headers={}, metadata={"other": "kept"})
    remote_run = spans.one("invoke_agent oracle")
    assert remote_run.parent is None
