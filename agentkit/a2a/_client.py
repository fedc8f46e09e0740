"""``A2AToolset``: a remote A2A agent, as one tool of an agentkit agent.

One tool per remote agent, not per skill: in A2A a message goes to the
agent, which decides which of its skills to use; skills are descriptions,
with no input schema and no way to address one. So the tool's input is the
message (``{"input": "..."}``) and its description is the card's
description followed by the skills, which is what tells the model when to
call it.

Within one run the tool set keeps the remote conversation: the second call
sends the ``contextId`` the first got back (and the ``taskId`` of a task
waiting for input), so the remote agent sees the earlier exchange. A new
run starts a new conversation.

A remote agent that cannot be reached, answers with an error, or fails its
task never crashes the run: the model gets an error result it can act on,
and a warning goes to the run's result (``drain_warnings``). Progress the
remote agent streams (status messages) is forwarded with
``agentkit.mcp.report_progress``, so it reaches an MCP client when this
agent is itself served over MCP, and is logged (logger ``agentkit.a2a``).

In a traced run the call carries the trace (W3C ``traceparent``) in its HTTP
headers and in the message's metadata, so the remote agent's spans join the
caller's trace under the call's ``execute_tool`` span (``_trace.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.client import Client
from a2a.types import (
    AgentCard,
    Artifact,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    Task,
    TaskState,
)

from .._messages import TextPart, ToolResultPart
from .._model import RunWarning, ToolDefinition
from .._tools import error_result
from ..exceptions import UserError
from ..mcp._context import report_progress
from ..mcp._names import safe_tool_name
from ._convert import from_artifacts
from ._trace import current_trace_fields, inject_trace_headers

__all__ = ["A2AAgentError", "A2AToolset"]

logger = logging.getLogger("agentkit.a2a")

_TERMINAL = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_CANCELED,
    TaskState.TASK_STATE_REJECTED,
}
_WAITING = {TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED}

_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The message for the agent."}},
    "required": ["input"],
    "additionalProperties": False,
}


class A2AAgentError(UserError):
    """A remote A2A agent could not be reached or understood."""


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    return safe_tool_name(f"{parts.hostname or 'a2a'}_{parts.port}" if parts.port else "a2a")


def _why(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _why(exc.exceptions[0])
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _text(parts: Any) -> str:
    return "\n".join(p.text for p in parts if p.WhichOneof("content") == "text")


class _Tracker:
    """Folds a stream of A2A events into the task they describe."""

    def __init__(self) -> None:
        self.task: Task | None = None
        self.message: Message | None = None
        self.artifacts: dict[str, Artifact] = {}

    def add(self, event: StreamResponse) -> str | None:
        """Take one event; returns a progress text to report, if it has one."""
        kind = event.WhichOneof("payload")
        if kind == "task":
            self.task = Task()
            self.task.CopyFrom(event.task)
            for artifact in event.task.artifacts:
                self.artifacts[artifact.artifact_id] = artifact
        elif kind == "message":
            self.message = event.message
        elif kind == "status_update":
            update = event.status_update
            if self.task is None:
                self.task = Task(id=update.task_id, context_id=update.context_id)
            self.task.status.CopyFrom(update.status)
            if update.status.state == TaskState.TASK_STATE_WORKING:
                return _text(update.status.message.parts) or None
        elif kind == "artifact_update":
            chunk = event.artifact_update
            known = self.artifacts.get(chunk.artifact.artifact_id)
            if chunk.append and known is not None:
                known.parts.extend(chunk.artifact.parts)
            else:
                self.artifacts[chunk.artifact.artifact_id] = chunk.artifact
        return None


class A2AToolset:
    """A remote A2A agent, read from its Agent Card, offered as one tool.

    Args:
        url: The agent's root URL; its card is read from
            ``/.well-known/agent-card.json`` there.
        name: The tool's name; defaults to the card's agent name.
        token: Sent as ``Authorization: Bearer <token>``.
        headers: More HTTP headers sent with every request.
        timeout: Seconds allowed for reading the card.
        call_timeout: Seconds one call (the remote task) may take.
        streaming: Use ``message/stream`` when the card offers it, so
            progress arrives while the remote agent works.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        call_timeout: float = 300.0,
        streaming: bool = True,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise UserError(f"an A2A agent needs an http(s) URL, not {url!r}")
        self.url = url
        self.name = safe_tool_name(name) if name else None
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.streaming = streaming
        self.card: AgentCard | None = None
        self._http: httpx.AsyncClient | None = None
        self._client: Client | None = None
        self._depth = 0
        self._unreachable: str | None = None
        self._context_id = ""
        self._waiting_task_id = ""
        self._warnings: list[RunWarning] = []

    def __repr__(self) -> str:
        return f"A2AToolset({self.url!r})"

    @property
    def tool_name(self) -> str:
        """The tool's name: given, else the card's agent name, else host and port."""
        if self.name:
            return self.name
        if self.card is not None and self.card.name:
            return safe_tool_name(self.card.name)
        return _default_name(self.url)

    async def __aenter__(self) -> A2AToolset:
        self._depth += 1
        if self._depth > 1:
            return self
        # A new run, a new conversation with the remote agent.
        self._context_id = self._waiting_task_id = ""
        self._http = httpx.AsyncClient(
            headers=self.headers,
            timeout=self.call_timeout,
            event_hooks={"request": [inject_trace_headers]},
        )
        try:
            self.card = await A2ACardResolver(self._http, self.url).get_agent_card(
                http_kwargs={"timeout": self.timeout}
            )
            config = ClientConfig(
                streaming=self.streaming,
                httpx_client=self._http,
                supported_protocol_bindings=["JSONRPC", "HTTP+JSON"],
            )
            self._client = ClientFactory(config).create(self.card)
            self._unreachable = None
        except Exception as exc:
            # Not raised: the model is told when it calls, the user by a warning.
            self._unreachable = _why(exc)
            self._client = None
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.aclose()

    def _description(self) -> str:
        card = self.card
        if card is None:
            return f"Ask the remote A2A agent at {self.url}."
        lines = [card.description or f"Ask the {card.name} agent."]
        skills = [s for s in card.skills if s.name or s.description]
        if skills:
            lines.append("Skills:")
            lines.extend(f"- {s.name}: {s.description}".rstrip(": ") for s in skills)
        return "\n".join(lines)

    async def list_tools(self) -> list[ToolDefinition]:
        """The remote agent as one tool (offered even when unreachable, so calls can say so)."""
        if self._depth == 0:
            async with self:
                return await self.list_tools()
        if self._unreachable is not None:
            self._warn(f"A2A agent at {self.url} is unreachable ({self._unreachable})")
        return [
            ToolDefinition(
                name=self.tool_name,
                title=self.card.name if self.card is not None else None,
                description=self._description(),
                input_schema=_INPUT_SCHEMA,
            )
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        """Send ``arguments["input"]`` to the remote agent; every failure is an error result."""
        if self._depth == 0:
            async with self:
                return await self.call_tool(name, arguments)
        message = arguments.get("input")
        if not isinstance(message, str) or not message.strip():
            return error_result(f"Tool {name} needs a non-empty string 'input'")
        if self._client is None:
            return error_result(
                f"The remote agent {self.tool_name!r} cannot be reached "
                f"({self._unreachable or 'not connected'}); do without it."
            )
        request = SendMessageRequest(
            message=Message(
                role=Role.ROLE_USER,
                message_id=str(uuid.uuid4()),
                context_id=self._context_id,
                task_id=self._waiting_task_id,
                parts=[Part(text=message)],
                # The trace travels with the message too (see _trace.py).
                metadata=current_trace_fields() or None,
            )
        )
        tracker = _Tracker()
        try:
            steps = 0
            async for event in self._client.send_message(request):
                progress = tracker.add(event)
                if progress is not None:
                    steps += 1
                    report_progress(steps, None, progress)
                    logger.info("A2A agent %r: %s", self.tool_name, progress)
        except Exception as exc:
            return self._failed(f"the call failed ({_why(exc)})")
        return self._result(tracker)

    def _result(self, tracker: _Tracker) -> ToolResultPart:
        name = self.tool_name
        if tracker.message is not None:
            self._context_id = tracker.message.context_id or self._context_id
            return from_artifacts([Artifact(parts=tracker.message.parts)], name)
        task = tracker.task
        if task is None:
            return self._failed("it answered with neither a task nor a message")
        self._context_id = task.context_id or self._context_id
        state = task.status.state
        said = _text(task.status.message.parts)
        self._waiting_task_id = task.id if state in _WAITING else ""
        if state == TaskState.TASK_STATE_COMPLETED:
            artifacts = list(tracker.artifacts.values()) or [
                Artifact(parts=task.status.message.parts)
            ]
            return from_artifacts(artifacts, name)
        if state in _WAITING:
            what = "input" if state == TaskState.TASK_STATE_INPUT_REQUIRED else "authorization"
            text = f"The {name} agent needs more {what}: {said or '(no details)'}"
            return ToolResultPart(call_id="", name=name, content=[TextPart(text=text)])
        label = TaskState.Name(state).removeprefix("TASK_STATE_").lower()
        return self._failed(f"its task ended {label}" + (f": {said}" if said else ""))

    def _failed(self, why: str) -> ToolResultPart:
        self._warn(f"A2A agent {self.tool_name!r} at {self.url}: {why}")
        return error_result(f"The remote agent {self.tool_name!r} failed: {why}")

    def _warn(self, text: str) -> None:
        logger.warning("%s", text)
        self._warnings.append(RunWarning(kind="tool", feature=self.tool_name, message=text))

    def drain_warnings(self) -> list[RunWarning]:
        """Warnings for the run's result since the last call (the runner collects them)."""
        warnings, self._warnings = self._warnings, []
        return warnings
