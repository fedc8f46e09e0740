"""``AgentkitExecutor``: the SDK's ``AgentExecutor`` that runs an agentkit agent.

One A2A task is one run. The task is ``submitted`` when the request arrives,
``working`` while the agent runs (each model turn, tool call and warning is
published as a ``working`` status update, so a streaming client sees the run
progress), then ``completed`` with the answer as artifacts (a text artifact
always, a data artifact holding the structured output when the agent has an
output schema), or ``failed`` with the error as the status message.
``canceled`` comes from ``tasks/cancel``: the SDK cancels the asyncio task
running ``execute``, which cancels the run itself, its model call and tools.

Conversations: messages sharing a ``contextId`` are one conversation. The
executor keeps each context's finished messages (bounded, oldest context
dropped first) and hands them to the next run as its history.

Tracing: the run continues the caller's trace when the request carries one
(W3C ``traceparent`` in the HTTP headers or the message's metadata), so its
``invoke_agent`` span is a child of the caller's ``execute_tool`` span.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from a2a.helpers.proto_helpers import new_task_from_user_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import TaskState

from .._messages import Message
from .._model import ToolCallStartEvent
from .._result import (
    RunEndEvent,
    RunResult,
    ToolResultEvent,
    TurnStartEvent,
    WarningEvent,
)
from ..exceptions import AgentkitError
from ._convert import data_part, from_a2a_message, text_part
from ._trace import continue_remote_trace

if TYPE_CHECKING:
    from .._agent import Agent
    from .._runner import Model

__all__ = ["AgentkitExecutor"]

_NOT_ANSWERED = "the agent did not answer"


class AgentkitExecutor(AgentExecutor):
    """Runs ``agent`` for each A2A message.

    Args:
        agent: The agent.
        model: ``provider:model``, an adapter or a chain; None chooses like
            ``agentkit run`` does.
        model_options: Options for the adapter factories (``base_url``, ...).
        max_contexts: Conversations remembered; the least recently used is
            forgotten first.
    """

    def __init__(
        self,
        agent: Agent,
        model: Model | None = None,
        *,
        model_options: Mapping[str, Any] | None = None,
        max_contexts: int = 1000,
    ) -> None:
        self.agent = agent
        self.model = model
        self.model_options = dict(model_options) if model_options else None
        self.max_contexts = max_contexts
        self._histories: OrderedDict[str, list[Message]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    def history(self, context_id: str) -> list[Message]:
        """The messages of conversation ``context_id`` so far (empty when unknown)."""
        return list(self._histories.get(context_id, ()))

    def _remember(self, context_id: str, messages: list[Message]) -> None:
        self._histories[context_id] = messages
        self._histories.move_to_end(context_id)
        while len(self._histories) > self.max_contexts:
            forgotten, _ = self._histories.popitem(last=False)
            self._locks.pop(forgotten, None)

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Run the agent on the request's message, publishing the task's progress."""
        message = context.message
        task_id, context_id = context.task_id, context.context_id
        if message is None or task_id is None or context_id is None:
            raise ValueError("an A2A request without a message")
        if context.current_task is None:
            await event_queue.enqueue_event(new_task_from_user_message(message))
        updater = TaskUpdater(event_queue, task_id, context_id)
        # Two messages of one conversation at once would each miss the other's turn.
        lock = self._locks.setdefault(context_id, asyncio.Lock())
        headers = context.call_context.state.get("headers")
        try:
            async with lock:
                with continue_remote_trace(headers, _metadata(message)):
                    await self._execute(updater, context_id, message.parts)
        finally:
            # A conversation that never finished a run keeps no lock behind.
            if context_id not in self._histories and not lock.locked():
                self._locks.pop(context_id, None)

    async def _execute(self, updater: TaskUpdater, context_id: str, parts: Any) -> None:
        await updater.start_work()
        try:
            result = await self._run(updater, context_id, from_a2a_message(parts))
        except AgentkitError as exc:
            await updater.failed(updater.new_agent_message([text_part(_describe(exc))]))
            return
        self._remember(context_id, list(result.messages))
        artifacts = self._artifacts(result)
        for part_list, name in artifacts:
            await updater.add_artifact(part_list, name=name, last_chunk=True)
        # The answer's text as the final status message too: clients that
        # read only the status (and the task's history) see the answer.
        await updater.complete(updater.new_agent_message(artifacts[-1][0]))

    async def _run(self, updater: TaskUpdater, context_id: str, message: Message) -> RunResult:
        from .._runner import run_stream

        events = run_stream(
            self.agent,
            message,
            model=self.model,
            history=self.history(context_id) or None,
            model_options=self.model_options,
        )
        # Closed here, in the task that opened it, if the run stops early.
        async with aclosing(events) as stream:
            async for event in stream:
                if isinstance(event, RunEndEvent):
                    return event.result
                progress = _progress(event)
                if progress is not None:
                    text, metadata = progress
                    # A turn starting is metadata only: as a message it would
                    # fill the task's history with noise.
                    await updater.update_status(
                        TaskState.TASK_STATE_WORKING,
                        message=None
                        if text is None
                        else updater.new_agent_message([text_part(text)]),
                        metadata={"agentkit": metadata},
                    )
        raise AgentkitError(_NOT_ANSWERED)  # pragma: no cover - a run always ends

    def _artifacts(self, result: RunResult) -> list[tuple[list[Any], str]]:
        output = result.output
        if self.agent.output_json_schema is None:
            text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            return [([text_part(text)], "response")]
        from pydantic import TypeAdapter

        data = TypeAdapter(Any).dump_python(output, mode="json")
        return [
            ([data_part(data)], "output"),
            ([text_part(json.dumps(data, ensure_ascii=False))], "response"),
        ]

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Mark the task canceled; the SDK then cancels the running ``execute``."""
        task_id, context_id = context.task_id, context.context_id
        if task_id is None or context_id is None:
            return
        await TaskUpdater(event_queue, task_id, context_id).cancel()


def _progress(event: object) -> tuple[str | None, dict[str, Any]] | None:
    match event:
        case TurnStartEvent(turn=turn, model=model):
            return None, {"event": "turn_start", "turn": turn, "model": model}
        case ToolCallStartEvent(name=name, id=call_id):
            return f"Calling tool {name}", {"event": "tool_call", "tool": name, "call_id": call_id}
        case ToolResultEvent(call=call, result=result, duration_ms=ms):
            state = "failed" if result.is_error else "done"
            return (
                f"Tool {call.name}: {state}",
                {
                    "event": "tool_result",
                    "tool": call.name,
                    "is_error": result.is_error,
                    "duration_ms": round(ms, 1),
                },
            )
        case WarningEvent(warning=warning):
            return warning.message, {"event": "warning", "kind": warning.kind}
        case _:
            return None


def _metadata(message: Any) -> dict[str, Any] | None:
    return dict(message.metadata.items()) if message.HasField("metadata") else None


def _describe(exc: AgentkitError) -> str:
    return f"{type(exc).__name__}: {exc}"
