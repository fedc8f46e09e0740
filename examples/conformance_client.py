"""An MCP client for the conformance suite, built on agentkit's consuming layer.

The suite starts a mock server for one scenario and runs::

    python examples/conformance_client.py SERVER_URL

with ``MCP_CONFORMANCE_SCENARIO`` (and sometimes ``MCP_CONFORMANCE_CONTEXT``
and ``MCP_CONFORMANCE_PROTOCOL_VERSION``) set. The client connects with an
``MCPToolset``, lists the tools and calls them the way an agent would: with
the calls the scenario asks for, or with arguments made from each tool's
input schema. Server-initiated requests are answered by callbacks: an
elicitation is accepted with each field's ``default``, sampling answers a
fixed text, and the roots are one test folder.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anyio
import mcp_types as mt

from agentkit.mcp import MCPToolset

HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")


def example_value(schema: dict[str, Any]) -> Any:
    """A value that fits ``schema``: its default or example, else one of its type."""
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return {
        "string": "test",
        "number": 1,
        "integer": 1,
        "boolean": True,
        "array": [],
        "object": {},
    }.get(kind or "string", "test")


def example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments for every required property of an input schema."""
    properties: dict[str, Any] = schema.get("properties") or {}
    required = schema.get("required") or []
    return {name: example_value(properties.get(name) or {}) for name in required}


async def on_elicit(context: Any, params: Any) -> mt.ElicitResult:
    """Accept the form, filling each field with its default (SEP-1034)."""
    schema = getattr(params, "requested_schema", None) or {}
    if not isinstance(schema, dict):
        schema = schema.model_dump(by_alias=True, exclude_none=True)
    content = {
        name: example_value(field) for name, field in (schema.get("properties") or {}).items()
    }
    return mt.ElicitResult(action="accept", content=content)


async def on_sample(context: Any, params: Any) -> mt.CreateMessageResult:
    """A fixed answer: the conformance scenarios check the round trip, not the text."""
    return mt.CreateMessageResult(
        role="assistant",
        content=mt.TextContent(type="text", text="Paris"),
        model="agentkit-conformance",
        stop_reason="endTurn",
    )


async def on_roots(context: Any) -> mt.ListRootsResult:
    """One root folder."""
    return mt.ListRootsResult(roots=[mt.Root(uri="file:///test/root", name="Test Root")])


def protocol_for(version: str | None) -> str:
    """The ``MCPToolset`` protocol for the revision the suite asks for."""
    if not version:
        return "auto"
    # Newer revisions: probe server/discover, so a rejected version is retried with one
    # the server supports (SEP-2575).
    return "legacy" if version in HANDSHAKE_VERSIONS else "auto"


async def run(url: str) -> int:
    """Drive one scenario against ``url``; returns the exit code."""
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    toolset = MCPToolset(
        url=url,
        name="conformance",
        timeout=20,
        call_timeout=20,
        protocol=protocol_for(os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION")),
        client_options={
            "elicitation_callback": on_elicit,
            "sampling_callback": on_sample,
            "list_roots_callback": on_roots,
        },
    )
    async with toolset:
        definitions = {d.name: d for d in await toolset.list_tools()}
        calls: list[tuple[str, dict[str, Any]]]
        if context.get("toolCalls"):
            calls = [(c["name"], c.get("arguments") or {}) for c in context["toolCalls"]]
        elif scenario == "json-schema-2020-12-preservation":
            # Echo the rich schema back exactly as it arrived (SEP-1613, SEP-2106).
            focal = definitions["json_schema_2020_12_tool"].input_schema
            echo = next(n for n in definitions if n != "json_schema_2020_12_tool")
            calls = [(echo, {"schema": focal})]
        else:
            calls = [(name, example_arguments(d.input_schema)) for name, d in definitions.items()]
        for name, arguments in calls:
            result = await toolset.call_tool(name, arguments)
            shown = result.text or json.dumps(result.structured_content)
            print(f"{name}: {'error: ' if result.is_error else ''}{shown[:200]}")
    return 0


def main() -> None:
    """Entry point: the server URL is the last argument."""
    if len(sys.argv) < 2:
        sys.exit("usage: conformance_client.py SERVER_URL")
    sys.exit(anyio.run(run, sys.argv[-1]))


if __name__ == "__main__":
    main()
