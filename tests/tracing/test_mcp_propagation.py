"""A traced run calling an MCP tool: the server's span continues the caller's trace (SEP-414).

The MCP spans and the ``_meta`` context are the official SDK's (``mcp`` 2.3+,
with the global tracer provider); what agentkit adds is that the call's
``execute_tool`` span is current while the tool runs, so they land under it.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from agentkit import Agent, ModelRequest, ToolCallPart, run
from agentkit import tool as make_tool
from agentkit.mcp import MCPToolset, build_server
from agentkit.testing import FunctionAdapter
from agentkit.tracing import extract_trace_context, inject_trace_context
from tests.mcp.http_serving import serving

from .conftest import Spans

pytestmark = pytest.mark.anyio

seen_meta: list[str | None] = []


@make_tool
def forecast(city: str) -> str:
    """Tomorrow's forecast.

    Args:
        city: City name.
    """
    # The span the server made for this call is current while the tool runs.
    seen_meta.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))
    return f"{city}: 18C"


@make_tool
def fail(city: str) -> str:
    """Always fails.

    Args:
        city: City name.
    """
    raise RuntimeError("no data")


def calls(tool_name: str) -> Any:
    def model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            return [ToolCallPart(id="c1", name=tool_name, arguments={"city": "Lima"})]
        return "done"

    return model


@pytest.mark.parametrize("tool_name", ["forecast", "fail"])
async def test_the_server_span_is_a_child_of_the_client_call_in_the_same_trace(
    global_spans: Spans, tool_name: str
) -> None:
    spans = global_spans
    seen_meta.clear()
    server_object = build_server([forecast, fail], name="weather-mcp")
    async with serving(server_object) as url:
        agent = Agent(name="caller", tools=[MCPToolset(url=url, name="remote")])
        await run(agent, "Lima?", model=FunctionAdapter(calls(tool_name)))

    root = spans.one("invoke_agent caller")
    client = spans.one(f"MCP send tools/call {tool_name}")
    server = spans.one(f"tools/call {tool_name}")
    assert client.kind is SpanKind.CLIENT
    assert server.kind is SpanKind.SERVER
    trace_id = root.context.trace_id
    assert client.context.trace_id == trace_id
    assert server.context.trace_id == trace_id
    tool_span = spans.one(f"execute_tool {tool_name}")
    assert client.parent is not None
    # The MCP request is made by the tool call: its span is the call's child.
    assert client.parent.span_id == tool_span.context.span_id
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id
    assert server.parent.is_remote  # it came over the wire, in params._meta
    assert (client.attributes or {})["mcp.method.name"] == "tools/call"
    attributes = server.attributes or {}
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == tool_name
    assert tool_span.parent is not None
    assert tool_span.parent.span_id == root.context.span_id
    if tool_name == "forecast":
        assert seen_meta == [format(trace_id, "032x")]
        assert server.status.status_code is StatusCode.UNSET
    else:
        assert server.status.status_code is StatusCode.ERROR
        assert (server.attributes or {})["error.type"] == "tool_error"
        assert tool_span.status.status_code is StatusCode.ERROR


async def test_a2a_helpers_carry_the_context_through_a_dict(spans: Spans, provider: Any) -> None:
    tracer = provider[0].get_tracer("test")
    with tracer.start_as_current_span("caller") as caller:
        carrier = inject_trace_context({"other": "kept"})
    assert carrier["other"] == "kept"
    assert carrier["traceparent"].split("-")[1] == format(
        caller.get_span_context().trace_id, "032x"
    )
    with tracer.start_as_current_span("callee", context=extract_trace_context(carrier)) as callee:
        assert callee.get_span_context().trace_id == caller.get_span_context().trace_id
    assert spans.one("callee").parent.span_id == caller.get_span_context().span_id  # type: ignore[union-attr]
    # Without a current span nothing is written, and an empty carrier gives a fresh root.
    assert inject_trace_context({}) == {}
    assert not trace.get_current_span(extract_trace_context(None)).get_span_context().is_valid
