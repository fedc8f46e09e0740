"""The run loop's I/O as DBOS steps: each model call and each tool call is recorded.

``DurableIO`` is the runner's ``RunIO`` for a run inside a DBOS workflow.
A step whose outcome is recorded is not made again: DBOS hands back the
record (our JSON), and the loop, fed the same events and results, reaches
the same state. A step cut off by a dead process has no record and runs
again, except the call of a tool marked ``idempotent=False``: that is
noted as not repeatable, and the run stops with ``ToolNotRepeatableError``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio
from dbos import DBOS, StepOptions

from .._messages import ToolCallPart, ToolResultPart
from .._model import ToolDefinition
from .._runio import ToolRound
from ..exceptions import AgentkitError, ToolNotRepeatableError
from ._records import KEPT_EVENTS, ModelStep, ToolStep, error_from_record, record_error

if TYPE_CHECKING:
    from .._result import RunEvent
    from .._runner import _Run

__all__ = ["DurableIO", "repeat_safe"]

_MODEL_STEP: StepOptions = {"name": "agentkit.model_call", "retries_allowed": False}
_ROUND_STEP: StepOptions = {"name": "agentkit.tool_round", "retries_allowed": False}


def repeat_safe(definition: ToolDefinition | None) -> bool:
    """Whether a tool may be called again after a crash cut off its call.

    Only a tool that says so is unsafe: MCP's ``idempotentHint`` set to
    false (``@tool(idempotent=False)`` sets it) on a tool that is not
    ``readOnlyHint`` (reading twice changes nothing). MCP's own default for
    an unsaid hint is false, but treating every unmarked tool as unsafe
    would stop every resumed run that crashed during a tool call.
    """
    hints = (definition.annotations if definition is not None else None) or {}
    return hints.get("readOnlyHint") is True or hints.get("idempotentHint") is not False


async def _call(body: Callable[[], Awaitable[str]]) -> str:
    return await body()


class DurableIO:
    """Model calls and tool calls of one run, each a DBOS step of its workflow.

    Steps are numbered by DBOS in the order they start, so the loop must
    start them in the same order on every replay: model calls are one at a
    time, and a round's tool calls start in the calls' order before any
    awaits (``_Run.tool_round``).
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._definitions: dict[str, ToolDefinition] | None = None

    async def call_model(
        self, run: _Run, stream: bool, deltas: bool
    ) -> AsyncGenerator[RunEvent, None]:
        """The model call's events: live while the step runs, else its record's."""
        # The call runs inside the step, in a task, and hands each event over
        # and waits until the loop has folded it (the next pull): the call
        # reads the fold (warnings already sent, usage for the budget), so it
        # must see it as it would outside a step.
        send, receive = anyio.create_memory_object_stream[Any](0)
        ack_send, ack_receive = anyio.create_memory_object_stream[None](0)
        ran = False
        failed: AgentkitError | None = None
        outcome: dict[str, str] = {}

        async def body() -> str:
            nonlocal ran, failed
            ran = True
            known = set(run.rejected)
            kept: list[Any] = []
            try:
                async with aclosing(run.model_call(stream, deltas)) as events:
                    async for event in events:
                        if isinstance(event, KEPT_EVENTS):
                            kept.append(event)
                        await send.send(event)
                        await ack_receive.receive()
            except AgentkitError as exc:
                # The run's own failure (the chain ran out, the budget...): kept
                # as data, so the step succeeds and no exception is pickled.
                failed = exc
                return ModelStep(events=kept, error=record_error(exc)).model_dump_json()
            step = ModelStep(
                events=kept,
                answered_by=run.answered_by,
                mode=run.mode,
                rejected={k: v for k, v in run.rejected.items() if k not in known},
            )
            return step.model_dump_json()

        async def step() -> None:
            try:
                outcome["record"] = await DBOS.run_step_async(_MODEL_STEP, _call, body)
            finally:
                send.close()

        async with anyio.create_task_group() as group:
            group.start_soon(step)
            async with receive:
                async for event in receive:
                    yield event
                    await ack_send.send(None)
        if failed is not None:
            raise failed
        if ran:
            return
        record = ModelStep.model_validate_json(outcome["record"])
        for event in record.events:
            yield event
        if record.error is not None:
            raise error_from_record(record.error)
        run.answered_by, run.mode = record.answered_by, record.mode
        run.rejected.update(record.rejected)

    async def call_tools(self, run: _Run, calls: list[ToolCallPart]) -> ToolRound:
        """One round of tool calls, each its own step; unsafe ones noted first."""
        unsafe = {c.id for c in calls if not repeat_safe(self._definition(run, c.name))}
        replayed = False
        if unsafe:
            # A step before the round: found recorded on a resume, it says the
            # round had begun, so an unsafe call without a record was in flight.
            ran = False

            async def begin() -> str:
                nonlocal ran
                ran = True
                return ",".join(sorted(unsafe))

            await DBOS.run_step_async(_ROUND_STEP, _call, begin)
            replayed = not ran

        async def execute(call: ToolCallPart) -> ToolResultPart:
            async def body() -> str:
                if call.id in unsafe and replayed:
                    return ToolStep(not_repeatable=True).model_dump_json()
                return ToolStep(result=await run.execute(call)).model_dump_json()

            options: StepOptions = {"name": f"agentkit.tool:{call.name}", "retries_allowed": False}
            record = ToolStep.model_validate_json(await DBOS.run_step_async(options, _call, body))
            if record.result is None:
                raise ToolNotRepeatableError(
                    f"durable run {self.run_id!r} was resumed where the process had died during "
                    f"a call of tool {call.name!r} (call {call.id}), which is marked "
                    "idempotent=False: it may or may not have taken effect, so it was not called "
                    "again and the run stops here. Check whether the call took effect, then "
                    "start a new run (another run id) with what you know",
                    tool=call.name,
                    call_id=call.id,
                    arguments=call.arguments,
                    run_id=self.run_id,
                    messages=run.fold.messages,
                    usage=run.fold.usage,
                )
            return record.result

        try:
            return await run.tool_round(calls, execute)
        except BaseExceptionGroup as group:
            # Concurrent calls: the first not-repeatable one is the run's error.
            match, _ = group.split(ToolNotRepeatableError)
            if match is None:
                raise
            raise _first(match) from None

    def _definition(self, run: _Run, name: str) -> ToolDefinition | None:
        if self._definitions is None:
            self._definitions = {d.name: d for d in run.index.definitions}
        return self._definitions.get(name)


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error
