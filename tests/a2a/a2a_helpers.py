"""Helpers for the A2A tests: agents with scripted models, a loopback server, SDK clients."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.client.client import Client
from a2a.types import Message, Part, Role, SendMessageRequest
from pydantic import BaseModel

from agentkit import Agent, ModelRequest, ToolCallPart, tool
from agentkit.a2a import a2a_app
from agentkit.testing import FunctionAdapter, serve_asgi

TOKEN = "a2a-test-planted-token"


class Forecast(BaseModel):
    city: str
    celsius: int


@tool
def weather(city: str) -> Forecast:
    """Tomorrow's weather for a city.

    Args:
        city: City name.
    """
    return Forecast(city=city, celsius=18)


#: Set by the ``hang`` tool when its run is cancelled; cleared per test.
HANG_STARTED = threading.Event()
HANG_CANCELLED = threading.Event()


@tool
async def hang() -> str:
    """Never finishes unless cancelled."""
    import anyio

    HANG_STARTED.set()
    try:
        await anyio.sleep(60)
    except anyio.get_cancelled_exc_class():
        HANG_CANCELLED.set()
        raise
    return "finished"


def echo_model(request: ModelRequest) -> Any:
    """A model that follows its user's orders, so one agent covers every test.

    ``weather CITY`` calls the weather tool then reports; ``hang`` calls the
    hanging tool; ``fail`` answers with text that breaks the output schema
    forever; ``recall`` lists every earlier user message; anything else is
    echoed back.
    """
    last_user = next(m for m in reversed(request.messages) if m.role == "user")
    asked = last_user.text
    tool_results = [m for m in request.messages if m.role == "tool"]
    if asked.startswith("weather ") and request.messages[-1].role == "user":
        return [ToolCallPart(id="c1", name="weather", arguments={"city": asked[8:]})]
    if asked.startswith("weather "):
        return f"forecast: {tool_results[-1].parts[0].text}"  # type: ignore[union-attr]
    if asked == "hang":
        return [ToolCallPart(id="c2", name="hang", arguments={})]
    if asked == "recall":
        users = [m.text for m in request.messages if m.role == "user"]
        return "earlier: " + " | ".join(users[:-1])
    return f"echo: {asked}"


def text_agent() -> Agent:
    return Agent(
        name="helper",
        description="Answers questions and knows the weather.",
        instructions="You help people.\n\nBe brief.",
        tools=[weather, hang],
        max_turns=4,
    )


class Plan(BaseModel):
    city: str
    days: int


def plan_model(request: ModelRequest) -> str:
    asked = request.messages[-1].text
    if asked == "break":
        return "not json at all"
    return json.dumps({"city": asked, "days": 3})


def structured_agent() -> Agent:
    return Agent(name="planner", description="Plans trips.", output_type=Plan, output_retries=0)


@contextmanager
def served(
    agent: Agent, model: Any, *, token: str | None = None, rest: bool = True
) -> Iterator[str]:
    """``agent`` served over A2A on a free loopback port; yields the root URL."""
    holder: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await holder["app"](scope, receive, send)

    with serve_asgi(app) as url:
        holder["app"] = a2a_app(agent, url=url + "/", model=model, token=token, rest=rest)
        yield url + "/"


def user_message(text: str, *, context_id: str = "", task_id: str = "") -> SendMessageRequest:
    import uuid

    return SendMessageRequest(
        message=Message(
            role=Role.ROLE_USER,
            message_id=str(uuid.uuid4()),
            context_id=context_id,
            task_id=task_id,
            parts=[Part(text=text)],
        )
    )


async def sdk_client(
    url: str, *, streaming: bool, token: str | None = None, bindings: list[str] | None = None
) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx.AsyncClient(headers=headers, timeout=30)
    config = ClientConfig(
        streaming=streaming,
        httpx_client=http,
        supported_protocol_bindings=bindings or ["JSONRPC"],
    )
    return await create_client(url, client_config=config)


def scripted(function: Any) -> FunctionAdapter:
    return FunctionAdapter(function, chunk_size=4)
