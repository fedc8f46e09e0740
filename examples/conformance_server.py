"""The MCP conformance suite's server fixtures, served by agentkit's serving layer.

Run it, then point the official suite at it::

    uv run python examples/conformance_server.py --port 3001
    npx @modelcontextprotocol/conformance server --url http://127.0.0.1:3001/mcp

The tools are ordinary agentkit tools (``@tool`` functions returning parts,
a raising ``ToolError``, ``report_progress``) plus one hand-written
``Toolset`` for a schema that must pass through untouched; ``build_server``
serves them. What the serving layer does not model (resources, prompts,
completion, and the 2026-07-28 input-required round trips) is added to the
SDK server it returns, the way an application would extend it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import warnings
from typing import Any

import anyio
import mcp_types as mt
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

from agentkit import (
    AudioPart,
    ImagePart,
    ResourcePart,
    TextPart,
    ToolDefinition,
    ToolResultPart,
    tool,
)
from agentkit.exceptions import ToolError
from agentkit.mcp import build_server, current_request, report_progress, serve_http

# The fixtures exercise deprecated 2025-11-25 features (logging, sampling) on purpose.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

IMAGE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
AUDIO = base64.b64decode("UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=")
STATE_KEY = secrets.token_bytes(32)


def _ctx() -> ServerRequestContext[Any]:
    ctx = current_request()
    if ctx is None:
        raise ToolError("this tool only runs inside an MCP server")
    return ctx  # type: ignore[no-any-return]


@tool
def test_simple_text() -> str:
    """Tests simple text content response."""
    return "This is a simple text response for testing."


@tool
def test_image_content() -> ImagePart:
    """Tests image content response."""
    return ImagePart(data=IMAGE, media_type="image/png")


@tool
def test_audio_content() -> ToolResultPart:
    """Tests audio content response."""
    return ToolResultPart(call_id="", content=[AudioPart(data=AUDIO, media_type="audio/wav")])


@tool
def test_embedded_resource() -> ResourcePart:
    """Tests embedded resource content response."""
    return ResourcePart(
        uri="test://embedded-resource",
        media_type="text/plain",
        text="This is an embedded resource content.",
    )


@tool
def test_multiple_content_types() -> ToolResultPart:
    """Tests response with multiple content types (text, image, resource)."""
    return ToolResultPart(
        call_id="",
        content=[
            TextPart(text="Multiple content types test:"),
            ImagePart(data=IMAGE, media_type="image/png"),
            ResourcePart(
                uri="test://mixed-content-resource",
                media_type="application/json",
                text='{"test": "data", "value": 123}',
            ),
        ],
    )


@tool
async def test_tool_with_logging() -> str:
    """Tests tool that emits log messages during execution."""
    ctx = _ctx()
    for i, text in enumerate(
        ("Tool execution started", "Tool processing data", "Tool execution completed")
    ):
        if i:
            await anyio.sleep(0.05)
        await ctx.session.send_log_message(
            "info", text, logger="conformance", related_request_id=ctx.request_id
        )
    return "Tool with logging executed successfully"


@tool
async def test_tool_with_progress() -> str:
    """Tests tool that reports progress notifications."""
    for step in (0, 50, 100):
        report_progress(step, 100, f"Completed step {step} of 100")
        if step < 100:
            await anyio.sleep(0.05)
    meta = _ctx().meta
    return str(meta.get("progress_token") if meta else 0)


@tool
def test_error_handling() -> str:
    """Tests error response handling."""
    raise ToolError("This tool intentionally returns an error for testing")


@tool
async def test_sampling(prompt: str) -> str:
    """Tests server-initiated sampling (LLM completion request).

    Args:
        prompt: The prompt to send to the client's model.
    """
    ctx = _ctx()
    result = await ctx.session.create_message(
        messages=[
            mt.SamplingMessage(role="user", content=mt.TextContent(type="text", text=prompt))
        ],
        max_tokens=100,
        related_request_id=ctx.request_id,
    )
    text = result.content.text if isinstance(result.content, mt.TextContent) else "No response"
    return f"LLM response: {text}"


async def _elicit(message: str, schema: dict[str, Any]) -> mt.ElicitResult:
    ctx = _ctx()
    return await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)  # type: ignore[arg-type]


@tool
async def test_elicitation(message: str) -> str:
    """Tests server-initiated elicitation (user input request).

    Args:
        message: What to ask the user.
    """
    schema = {
        "type": "object",
        "properties": {"response": {"type": "string", "description": "User's response"}},
        "required": ["response"],
    }
    result = await _elicit(message, schema)
    return f"User response: action={result.action}, content={json.dumps(result.content or {})}"


@tool
async def test_elicitation_sep1034_defaults() -> str:
    """Tests elicitation with default values for all primitive types (SEP-1034)."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "description": "Verified", "default": True},
        },
    }
    result = await _elicit("Please provide user information", schema)
    return f"Elicitation result: action={result.action}, content={json.dumps(result.content or {})}"


@tool
async def test_elicitation_sep1330_enums() -> str:
    """Tests elicitation with enum schema variations per SEP-1330."""
    titled = [("low", "Low Priority"), ("medium", "Medium Priority"), ("high", "High Priority")]
    multi = [("feature", "New Feature"), ("bug", "Bug Fix"), ("docs", "Documentation")]
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {
                "type": "string",
                "oneOf": [{"const": c, "title": t} for c, t in titled],
            },
            "legacyEnum": {
                "type": "string",
                "enum": ["small", "medium", "large"],
                "enumNames": ["Small", "Medium", "Large"],
            },
            "untitledMulti": {
                "type": "array",
                "items": {"type": "string", "enum": ["read", "write", "execute"]},
            },
            "titledMulti": {
                "type": "array",
                "items": {"anyOf": [{"const": c, "title": t} for c, t in multi]},
            },
        },
    }
    result = await _elicit("Please select values using different enum schema types", schema)
    return (
        f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"
    )


@tool
async def test_reconnection() -> str:
    """Tests SSE polling by closing the stream mid-call (SEP-1699)."""
    ctx = _ctx()
    if ctx.close_sse_stream is not None:
        await ctx.close_sse_stream()
    await anyio.sleep(0.2)
    return "Reconnection test completed"


@tool
async def test_logging_tool() -> str:
    """Logs one message; on 2026-07-28 it reaches only clients that opted in with a logLevel."""
    ctx = _ctx()
    await ctx.session.send_log_message("info", "test_logging_tool ran", logger="conformance")
    return "logged"


JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


#: Tools answered by the raw SDK handler in ``add_extras`` (protocol-level behaviour:
#: input-required round trips, capability errors); listed here so clients see them.
PROTOCOL_TOOLS = (
    "test_missing_capability",
    "test_streaming_elicitation",
    "test_input_required_result_elicitation",
    "test_input_required_result_sampling",
    "test_input_required_result_list_roots",
    "test_input_required_result_request_state",
    "test_input_required_result_tampered_state",
    "test_input_required_result_multiple_inputs",
    "test_input_required_result_multi_round",
    "test_input_required_result_capabilities",
)


class RawToolset:
    """A hand-written tool set: schemas given verbatim, calls answered elsewhere."""

    name = "raw"

    async def list_tools(self) -> list[ToolDefinition]:
        empty = {"type": "object", "properties": {}}
        return [
            ToolDefinition(
                name="json_schema_2020_12_tool",
                description="Tool with JSON Schema 2020-12 features",
                input_schema=JSON_SCHEMA_2020_12,
            ),
            *(
                ToolDefinition(name=n, description=f"Conformance fixture {n}", input_schema=empty)
                for n in PROTOCOL_TOOLS
            ),
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        return ToolResultPart(call_id="", content=[TextPart(text=json.dumps(arguments))])


TOOLS = [
    test_simple_text,
    test_image_content,
    test_audio_content,
    test_embedded_resource,
    test_multiple_content_types,
    test_tool_with_logging,
    test_tool_with_progress,
    test_error_handling,
    test_sampling,
    test_elicitation,
    test_elicitation_sep1034_defaults,
    test_elicitation_sep1330_enums,
    test_reconnection,
    test_logging_tool,
]


def seal(payload: dict[str, Any]) -> str:
    """``payload`` as an HMAC-signed token: a requestState the client echoes must be untouched."""
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    mac = hmac.new(STATE_KEY, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unseal(token: str | None) -> dict[str, Any] | None:
    """The payload of a token made by ``seal``; a JSON-RPC error when it was altered."""
    if token is None:
        return None
    body, _, mac = token.rpartition(".")
    good = hmac.new(STATE_KEY, body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, good):
        raise MCPError(mt.INVALID_PARAMS, "requestState failed its integrity check")
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
    return payload


def _ask(message: str, field: str, kind: str = "string") -> dict[str, Any]:
    return {
        "method": "elicitation/create",
        "params": {
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": {field: {"type": kind}},
                "required": [field],
            },
        },
    }


def _sample(text: str, max_tokens: int) -> dict[str, Any]:
    content = {"type": "text", "text": text}
    return {
        "method": "sampling/createMessage",
        "params": {"messages": [{"role": "user", "content": content}], "maxTokens": max_tokens},
    }


ROOTS = {"method": "roots/list", "params": {}}


def _need(requests: dict[str, Any], state: dict[str, Any] | None = None) -> mt.InputRequiredResult:
    return mt.InputRequiredResult.model_validate(
        {
            "resultType": "input_required",
            "inputRequests": requests,
            **({"requestState": seal(state)} if state is not None else {}),
        }
    )


def _text(text: str) -> mt.CallToolResult:
    return mt.CallToolResult(content=[mt.TextContent(type="text", text=text)])


def _answer(response: Any, key: str) -> Any:
    dumped = response.model_dump(mode="json", by_alias=True, exclude_none=True) if response else {}
    if key == "content":
        return (dumped.get("content") or {}) if isinstance(dumped, dict) else {}
    return dumped


async def input_required_tool(
    ctx: ServerRequestContext[Any], params: mt.CallToolRequestParams
) -> mt.CallToolResult | mt.InputRequiredResult | None:
    """The SEP-2322 fixtures; None for every other tool."""
    answers = params.input_responses or {}
    state = unseal(params.request_state)
    name = params.name
    if name == "test_missing_capability":
        # A protocol error, not a tool error: the client must declare sampling per request.
        caps = ctx.session.client_capabilities
        if caps is None or caps.sampling is None:
            raise MCPError(
                mt.MISSING_REQUIRED_CLIENT_CAPABILITY,
                "this tool needs the sampling capability",
                {"requiredCapabilities": {"sampling": {}}},
            )
        return _text("sampling capability present")
    if name == "test_streaming_elicitation":
        # On 2026-07-28 a question to the user travels in the result, never as a request.
        if "answer" not in answers:
            return _need({"answer": _ask("Anything to add?", "answer")})
        return _text("thanks")
    if name == "test_input_required_result_elicitation":
        if "user_name" not in answers:
            return _need({"user_name": _ask("What is your name?", "name")})
        return _text(f"Hello, {_answer(answers['user_name'], 'content').get('name', '')}!")
    if name == "test_input_required_result_sampling":
        if "capital_question" not in answers:
            return _need({"capital_question": _sample("What is the capital of France?", 100)})
        content = _answer(answers["capital_question"], "all").get("content", {})
        return _text(f"Sampling response: {content.get('text', '')}")
    if name == "test_input_required_result_list_roots":
        if "client_roots" not in answers:
            return _need({"client_roots": ROOTS})
        roots = _answer(answers["client_roots"], "all").get("roots", [])
        return _text("Roots: " + ", ".join(r.get("uri", "") for r in roots))
    if name in (
        "test_input_required_result_request_state",
        "test_input_required_result_tampered_state",
    ):
        if state is None or "confirm" not in answers:
            return _need({"confirm": _ask("Please confirm", "ok", "boolean")}, {"tool": name})
        return _text("state-ok: confirmed")
    if name == "test_input_required_result_multiple_inputs":
        wanted = {
            "user_name": _ask("What is your name?", "name"),
            "greeting": _sample("Generate a greeting", 50),
            "client_roots": ROOTS,
        }
        missing = {k: v for k, v in wanted.items() if k not in answers}
        if missing or state is None:
            return _need(missing or wanted, {"tool": name})
        return _text("All inputs received: user_name, greeting, client_roots")
    if name == "test_input_required_result_multi_round":
        round_ = (state or {}).get("round", 0)
        if round_ == 0 or ("step1" not in answers and round_ == 1):
            return _need({"step1": _ask("Step 1: What is your name?", "name")}, {"round": 1})
        if round_ == 1:
            who = _answer(answers["step1"], "content").get("name", "")
            step2 = _ask("Step 2: What is your favorite color?", "color")
            return _need({"step2": step2}, {"round": 2, "name": who})
        if "step2" not in answers:
            step2 = _ask("Step 2: What is your favorite color?", "color")
            return _need({"step2": step2}, state)
        color = _answer(answers["step2"], "content").get("color", "")
        return _text(f"Done: {(state or {}).get('name', '')} likes {color}")
    if name == "test_input_required_result_capabilities":
        caps = ctx.session.client_capabilities or mt.ClientCapabilities()
        offered: dict[str, Any] = {}
        if caps.sampling is not None:
            offered["sample"] = _sample("Say hello", 20)
        if caps.elicitation is not None:
            offered["ask"] = _ask("Your name?", "name")
        if caps.roots is not None:
            offered["roots"] = ROOTS
        if offered and not answers:
            return _need(offered)
        return _text("capabilities respected")
    return None


def add_extras(server: Any) -> None:
    """Resources, prompts, completion, subscriptions and the input-required tools."""
    served = server.get_request_handler("tools/call").handler
    subscriptions: set[str] = set()

    async def call_tool(ctx: ServerRequestContext[Any], params: mt.CallToolRequestParams) -> Any:
        special = await input_required_tool(ctx, params)
        return special if special is not None else await served(ctx, params)

    async def list_resources(ctx: Any, params: Any) -> mt.ListResourcesResult:
        return mt.ListResourcesResult(resources=list(RESOURCES.values()))

    async def list_templates(ctx: Any, params: Any) -> mt.ListResourceTemplatesResult:
        template = mt.ResourceTemplate(
            name="template", uri_template="test://template/{id}/data", mime_type="application/json"
        )
        return mt.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(
        ctx: Any, params: mt.ReadResourceRequestParams
    ) -> mt.ReadResourceResult:
        uri = str(params.uri)
        contents: Any
        if uri == "test://static-binary":
            blob = base64.b64encode(IMAGE).decode()
            contents = mt.BlobResourceContents(uri=uri, mime_type="image/png", blob=blob)
        elif uri in RESOURCES:
            text = TEXTS[uri]
            contents = mt.TextResourceContents(uri=uri, mime_type="text/plain", text=text)
        elif uri.startswith("test://template/") and uri.endswith("/data"):
            id_ = uri.removeprefix("test://template/").removesuffix("/data")
            text = json.dumps({"id": id_, "templateTest": True, "data": f"Data for ID: {id_}"})
            contents = mt.TextResourceContents(uri=uri, mime_type="application/json", text=text)
        else:
            raise MCPError(mt.INVALID_PARAMS, "Resource not found", {"uri": uri})
        return mt.ReadResourceResult(contents=[contents])

    async def subscribe(ctx: Any, params: mt.SubscribeRequestParams) -> mt.EmptyResult:
        subscriptions.add(str(params.uri))
        return mt.EmptyResult()

    async def unsubscribe(ctx: Any, params: mt.UnsubscribeRequestParams) -> mt.EmptyResult:
        subscriptions.discard(str(params.uri))
        return mt.EmptyResult()

    async def set_level(ctx: Any, params: mt.SetLevelRequestParams) -> mt.EmptyResult:
        return mt.EmptyResult()

    async def complete(ctx: Any, params: mt.CompleteRequestParams) -> mt.CompleteResult:
        return mt.CompleteResult(completion=mt.Completion(values=[], total=0, has_more=False))

    async def list_prompts(ctx: Any, params: Any) -> mt.ListPromptsResult:
        return mt.ListPromptsResult(prompts=PROMPTS)

    async def get_prompt(ctx: Any, params: mt.GetPromptRequestParams) -> Any:
        return prompt_result(params)

    handlers: list[tuple[str, Any, Any]] = [
        ("tools/call", mt.CallToolRequestParams, call_tool),
        ("resources/list", mt.PaginatedRequestParams, list_resources),
        ("resources/templates/list", mt.PaginatedRequestParams, list_templates),
        ("resources/read", mt.ReadResourceRequestParams, read_resource),
        ("resources/subscribe", mt.SubscribeRequestParams, subscribe),
        ("resources/unsubscribe", mt.UnsubscribeRequestParams, unsubscribe),
        ("logging/setLevel", mt.SetLevelRequestParams, set_level),
        ("completion/complete", mt.CompleteRequestParams, complete),
        ("prompts/list", mt.PaginatedRequestParams, list_prompts),
        ("prompts/get", mt.GetPromptRequestParams, get_prompt),
    ]
    for method, params_type, handler in handlers:
        server.add_request_handler(method, params_type, handler)


TEXTS = {
    "test://static-text": "This is the content of the static text resource.",
    "test://watched-resource": "Watched resource content",
}
RESOURCES = {
    f"test://{name}": mt.Resource(name=name, uri=f"test://{name}", mime_type=kind)
    for name, kind in (
        ("static-text", "text/plain"),
        ("static-binary", "image/png"),
        ("watched-resource", "text/plain"),
    )
}
PROMPTS = [
    mt.Prompt(name="test_simple_prompt", description="A simple prompt without arguments"),
    mt.Prompt(
        name="test_prompt_with_arguments",
        description="A prompt with required arguments",
        arguments=[
            mt.PromptArgument(name="arg1", description="First argument", required=True),
            mt.PromptArgument(name="arg2", description="Second argument", required=True),
        ],
    ),
    mt.Prompt(
        name="test_prompt_with_embedded_resource",
        description="A prompt that includes an embedded resource",
        arguments=[mt.PromptArgument(name="resourceUri", required=True)],
    ),
    mt.Prompt(name="test_prompt_with_image", description="A prompt that includes image content"),
    mt.Prompt(name="test_input_required_result_prompt", description="Needs user context"),
]


def _user(content: Any) -> mt.PromptMessage:
    return mt.PromptMessage(role="user", content=content)


def prompt_result(params: mt.GetPromptRequestParams) -> mt.GetPromptResult | mt.InputRequiredResult:
    """The prompt fixtures."""
    args = params.arguments or {}
    name = params.name
    text = mt.TextContent
    if name == "test_simple_prompt":
        messages = [_user(text(type="text", text="This is a simple prompt for testing."))]
    elif name == "test_prompt_with_arguments":
        said = f"Prompt with arguments: arg1='{args.get('arg1')}', arg2='{args.get('arg2')}'"
        messages = [_user(text(type="text", text=said))]
    elif name == "test_prompt_with_embedded_resource":
        resource = mt.TextResourceContents(
            uri=args.get("resourceUri", "test://example-resource"),
            mime_type="text/plain",
            text="Embedded resource content for testing.",
        )
        messages = [
            _user(mt.EmbeddedResource(type="resource", resource=resource)),
            _user(text(type="text", text="Please process the embedded resource above.")),
        ]
    elif name == "test_prompt_with_image":
        data = base64.b64encode(IMAGE).decode()
        messages = [
            _user(mt.ImageContent(type="image", data=data, mime_type="image/png")),
            _user(text(type="text", text="Please analyze the image above.")),
        ]
    elif name == "test_input_required_result_prompt":
        answer = (params.input_responses or {}).get("user_context")
        if answer is None:
            return _need({"user_context": _ask("What context should the prompt use?", "context")})
        context = _answer(answer, "content").get("context", "")
        messages = [_user(text(type="text", text=f"Use this context: {context}"))]
    else:
        raise MCPError(mt.INVALID_PARAMS, f"Unknown prompt: {name}")
    return mt.GetPromptResult(messages=messages)


def make_server() -> Any:
    """The conformance server: agentkit tools, plus SDK handlers for the rest."""
    server = build_server([*TOOLS, RawToolset()], name="agentkit-conformance")
    add_extras(server)
    return server


def main() -> None:
    """Serve the fixtures over streamable HTTP on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3001)
    args = parser.parse_args()
    anyio.run(lambda: serve_http(make_server(), port=args.port))


if __name__ == "__main__":
    main()
