"""Every attribute we emit is a name the semantic conventions register.

The registry is read from ``opentelemetry-semantic-conventions`` (the PyPI
package's attribute constants for the namespaces we use), not typed here: a
misspelt or invented name fails this test.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
from opentelemetry.semconv._incubating.attributes import (
    gen_ai_attributes,
    mcp_attributes,
)
from opentelemetry.semconv._incubating.attributes import network_attributes as network_incubating
from opentelemetry.semconv.attributes import (
    error_attributes,
    exception_attributes,
    http_attributes,
    network_attributes,
    server_attributes,
)

from agentkit import Agent, RetryPolicy, run, run_stream
from agentkit.exceptions import AuthenticationError, ModelCallError, RateLimitError
from agentkit.mcp import MCPToolset, build_server
from agentkit.testing import FunctionAdapter, OpenAIChatEmulator, serve_asgi
from agentkit.tracing import instrument
from tests.mcp.http_serving import serving

from . import test_emulated_spans as emulated
from . import test_mcp_propagation as mcp_case
from . import test_run_spans as run_case
from .conftest import Spans

pytestmark = pytest.mark.anyio

MODULES = [
    gen_ai_attributes,
    mcp_attributes,
    error_attributes,
    exception_attributes,
    http_attributes,
    network_attributes,
    network_incubating,
    server_attributes,
]


def registered_names(*modules: types.ModuleType) -> set[str]:
    return {
        value
        for module in modules
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and "." in value
    }


REGISTRY = registered_names(*MODULES)
OPERATIONS = {v.value for v in gen_ai_attributes.GenAiOperationNameValues}
TOOL_TYPES = {"function", "extension", "datastore"}


async def every_kind_of_run(provider: Any) -> None:
    instrument(tracer_provider=provider[0], capture_content=True)
    # A tool round and contents.
    await run(run_case.AGENT, "Paris?", model=FunctionAdapter(run_case.weather_model()))
    await run(run_case.AGENT, "Paris?", model=FunctionAdapter(run_case.weather_model("broken")))

    # A wire provider with cached tokens, streamed.
    with serve_asgi(OpenAIChatEmulator(emulated.cached_model)) as url:
        options = {"base_url": f"{url}/v1", "api_key": "sk-test-planted"}
        async for _ in run_stream(emulated.AGENT, "Oslo?", model="openai:m", model_options=options):
            pass

    # A retry, then a failed run.
    failures = [RateLimitError("slow down", provider="function", status_code=429)]

    def flaky(request: Any) -> Any:
        if failures:
            raise failures.pop()
        raise AuthenticationError("bad key", provider="function", status_code=401)

    async def no_wait(seconds: float) -> None:
        return None

    with pytest.raises(ModelCallError):
        await run(
            run_case.AGENT,
            "hi",
            model=FunctionAdapter(flaky),
            retry=RetryPolicy(initial_delay=0.01, jitter=0.0, sleep=no_wait),
        )

    # MCP on both sides.
    server = build_server([mcp_case.forecast, mcp_case.fail])
    async with serving(server) as url:
        agent = Agent(name="caller", tools=[MCPToolset(url=url, name="remote")])
        for name in ("forecast", "fail"):
            await run(agent, "Lima?", model=FunctionAdapter(mcp_case.calls(name)))


async def test_every_emitted_attribute_name_is_registered(spans: Spans, provider: Any) -> None:
    await every_kind_of_run(provider)
    emitted: dict[str, set[str]] = {}
    for span in spans.all():
        for key in span.attributes or {}:
            emitted.setdefault(key, set()).add(span.name)
        for event in span.events:
            for key in event.attributes or {}:
                emitted.setdefault(key, set()).add(f"{span.name} / event {event.name}")
    unknown = {key: sorted(where) for key, where in emitted.items() if key not in REGISTRY}
    assert unknown == {}
    # The run covered what the conventions name for each span, not a few names only.
    for expected in (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.response.id",
        "gen_ai.tool.call.id",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "error.type",
        "http.response.status_code",
    ):
        assert expected in emitted, expected


async def test_operation_names_tool_types_and_span_names_follow_the_conventions(
    spans: Spans, provider: Any
) -> None:
    await every_kind_of_run(provider)
    for span in spans.all():
        attributes = span.attributes or {}
        operation = attributes["gen_ai.operation.name"]
        assert operation in OPERATIONS
        if "mcp.method.name" in attributes:
            # MCP: "{mcp.method.name} {target}", the target being the tool.
            assert span.name == f"{attributes['mcp.method.name']} {attributes['gen_ai.tool.name']}"
        elif operation == "execute_tool":
            assert span.name == f"execute_tool {attributes['gen_ai.tool.name']}"
            assert attributes["gen_ai.tool.type"] in TOOL_TYPES
        elif operation == "invoke_agent":
            assert span.name == f"invoke_agent {attributes['gen_ai.agent.name']}"
        else:
            assert span.name == f"{operation} {attributes['gen_ai.request.model']}"
