"""A durable run: the agent loop as a DBOS workflow, its events handed to whoever waits.

``run_workflow`` is the workflow (registered as ``agentkit.run``); its one
argument is a ``RunSpec``'s JSON and it returns a ``RunOutcome``'s JSON.
``durable_stream`` starts it or resumes it by run id and yields its events
as they happen; ``durable_run`` returns its result.

Events reach the caller through a channel of this process, keyed by run
id, because a resumed workflow runs where DBOS's queue runs it (its own
thread and event loop), not in the caller's task. A run resumed in another
process (a worker) has nobody here to stream to; its outcome is in the
database all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from dbos import DBOS, SetWorkflowID

from .._agent import Agent
from .._agentfile import load_agent
from .._messages import Message
from .._model import ModelSettings
from .._modelcall import OnTruncation
from .._policy import RetryPolicy
from .._result import RunEndEvent, RunEvent, RunResult
from .._runner import Input, Model, _event_stream, _input_messages, _prepare
from ..exceptions import AgentkitError, UserError
from ._engine import launch
from ._io import DurableIO
from ._records import RunOutcome, RunSpec, error_from_record, record_error, result_from_record

__all__ = ["durable_run", "durable_stream", "resolve_agent", "run_workflow"]


@dataclass
class _Caller:
    """The process-local side of a run someone here waits for: objects that are not stored."""

    agent: Agent
    model: Model | None
    model_options: Mapping[str, Any] | None
    retry: RetryPolicy | None
    deltas: bool
    loop: asyncio.AbstractEventLoop
    send: MemoryObjectSendStream[RunEvent]
    error: AgentkitError | None = None
    done: bool = field(default=False)

    def publish(self, event: RunEvent) -> None:
        self._call(self._send, event)

    def _send(self, event: RunEvent) -> None:
        # A caller who stopped reading has closed its end; the run goes on.
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            self.send.send_nowait(event)

    def close(self) -> None:
        self._call(self.send.close)

    def _call(self, function: Any, *args: Any) -> None:
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            here = False
        if here:
            function(*args)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(function, *args)


#: Runs that a caller in this process is waiting for, by run id.
_callers: dict[str, _Caller] = {}


def resolve_agent(spec: RunSpec) -> Agent:
    """The agent a stored run names: an agent file, or ``module:attribute``.

    Raises:
        UserError: the run names no agent another process can load, or it
            cannot be loaded.
    """
    reference = spec.agent
    if reference is None:
        raise UserError(
            f"durable run of agent {spec.agent_name!r} was started with an Agent object and no "
            "agent_ref: only a process that passes the same Agent to durable_run can resume it"
        )
    if Path(reference).exists() or ":" not in reference:
        return load_agent(reference, profile=spec.profile)
    from .._refs import import_object

    found = import_object(reference, f"durable run of {spec.agent_name!r}", "for the agent")
    if not isinstance(found, Agent):
        raise UserError(f"{reference} is a {type(found).__name__}, not an Agent")
    return found


@DBOS.workflow(name="agentkit.run")
async def run_workflow(spec_json: str) -> str:
    """The agent loop as a DBOS workflow: model calls and tool calls are its steps.

    Args:
        spec_json: A ``RunSpec`` as JSON.

    Returns:
        A ``RunOutcome`` as JSON: the result, or the run's error as data.
    """
    spec = RunSpec.model_validate_json(spec_json)
    run_id = DBOS.workflow_id
    assert run_id is not None
    caller = _callers.get(run_id)
    try:
        return (await _drive(run_id, spec, caller)).model_dump_json()
    finally:
        if caller is not None:
            caller.close()


async def _drive(run_id: str, spec: RunSpec, caller: _Caller | None) -> RunOutcome:
    try:
        agent = caller.agent if caller is not None else resolve_agent(spec)
        model = caller.model if caller is not None and caller.model is not None else spec.model
        options: Mapping[str, Any] | None = caller.model_options if caller is not None else None
        if options is None and spec.base_url:
            options = {"base_url": spec.base_url}
        state = _prepare(
            agent,
            [],
            model=model,
            history=spec.input,
            settings=spec.settings,
            retry=caller.retry if caller is not None else None,
            max_cost_usd=spec.max_cost_usd,
            model_options=options,
            on_truncation=spec.on_truncation,
        )
        state.io = DurableIO(run_id)
        deltas = caller.deltas if caller is not None else False
        result: RunResult | None = None
        async with aclosing(_event_stream(state, spec.stream, deltas)) as events:
            async for event in events:
                if caller is not None:
                    caller.publish(event)
                if isinstance(event, RunEndEvent):
                    result = event.result
    except AgentkitError as exc:
        if caller is not None:
            caller.error = exc
        return RunOutcome(error=record_error(exc))
    assert result is not None
    return RunOutcome(result=result.model_dump(mode="json"))


def _spec(
    agent: Agent | str | os.PathLike[str],
    input: Input,
    *,
    model: Model | None,
    history: Sequence[Message] | None,
    settings: ModelSettings | None,
    max_cost_usd: float | None,
    model_options: Mapping[str, Any] | None,
    on_truncation: OnTruncation,
    stream: bool,
    profile: str | None,
    agent_ref: str | None,
) -> tuple[Agent, RunSpec]:
    if isinstance(agent, Agent):
        loaded, reference = agent, agent_ref
    else:
        path = Path(agent).resolve()
        loaded, reference = load_agent(path, profile=profile), str(path)
    base_url = (model_options or {}).get("base_url")
    spec = RunSpec(
        agent=reference,
        agent_name=loaded.name,
        profile=profile,
        model=model if isinstance(model, str) else None,
        base_url=base_url if isinstance(base_url, str) else None,
        input=_input_messages(loaded, input, history),
        settings=settings,
        max_cost_usd=max_cost_usd,
        on_truncation=on_truncation,
        stream=stream,
    )
    return loaded, spec


async def _handle(run_id: str, spec: RunSpec) -> Any:
    """Start the run, resume it if a dead process left it pending, or find its end."""
    status = await DBOS.get_workflow_status_async(run_id)
    if status is None:
        with SetWorkflowID(run_id):
            return await DBOS.start_workflow_async(run_workflow, spec.model_dump_json())
    _check_same_run(run_id, status, spec)
    if status.status == "PENDING":
        # Nobody in this process runs it: its process died. DBOS puts it back
        # on its queue, and the first process to take it replays its steps.
        return await DBOS.resume_workflow_async(run_id)
    return await DBOS.retrieve_workflow_async(run_id)


def _check_same_run(run_id: str, status: Any, spec: RunSpec) -> None:
    """A run id names one run: asking for it with another agent or input is a mistake."""
    if status.name != "agentkit.run":
        raise UserError(f"run id {run_id!r} belongs to another kind of workflow ({status.name})")
    args = (status.input or {}).get("args") or ()
    if not args or not isinstance(args[0], str):
        return  # not readable here: trust the id
    stored = RunSpec.model_validate_json(args[0])
    if (stored.agent_name, stored.input) != (spec.agent_name, spec.input):
        raise UserError(
            f"durable run {run_id!r} was started for agent {stored.agent_name!r} with another "
            "input; give the same agent and input to resume it, or a new run id for a new run"
        )


async def durable_stream(
    agent: Agent | str | os.PathLike[str],
    input: Input,
    *,
    run_id: str | None = None,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    stream: bool = True,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
    profile: str | None = None,
    agent_ref: str | None = None,
    database: str | os.PathLike[str] | None = None,
    _deltas: bool = True,
) -> AsyncIterator[RunEvent]:
    """Run ``agent`` durably, yielding its events; the last is a ``RunEndEvent``.

    Each model call and each tool call is a recorded step. Called again with
    the ``run_id`` of a run whose process died, it resumes that run: steps
    already recorded are not made again, and their events come back first,
    whole (``response_end``, ``tool_result``; no deltas), then the live part
    streams as usual. A run that already finished yields only its end.

    Args:
        agent: An ``Agent``, or the path of an agent file (which any process
            can load to resume the run).
        input: The user's message (text, a ``Message`` or several).
        run_id: The run's id; a new one when None. Reuse it to resume.
        model: ``provider:model`` (or a chain), or adapters; adapters and
            ``model_options`` other than ``base_url`` are not stored, so only
            a process that passes them again can resume such a run.
        history: Earlier messages to continue from.
        settings: Settings overriding the agent's.
        stream: Stream from the model (True) or make whole calls.
        retry: Retry policy for failed model calls (not stored).
        max_cost_usd: Stop before a call that could take the run past this price.
        model_options: Options for the adapter factories (``base_url`` is stored).
        on_truncation: ``"warn"`` or ``"error"`` (``TruncatedError``).
        profile: The agent file's profile.
        agent_ref: For an ``Agent`` object: ``module:attribute`` where other
            processes find it.
        database: Where runs are stored: a ``postgresql://`` or ``sqlite:///``
            URL, a ``.sqlite`` file or a directory (default: the state directory).

    Raises:
        RunError: the run failed (also when resuming a run that had failed).
        ToolNotRepeatableError: the run was resumed where a tool marked
            ``idempotent=False`` was in flight.
        UserError: the agent or model is misconfigured.
    """
    launch(database)
    run_id = run_id or uuid.uuid4().hex
    if run_id in _callers:
        raise UserError(f"durable run {run_id!r} is already being waited for in this process")
    loaded, spec = _spec(
        agent,
        input,
        model=model,
        history=history,
        settings=settings,
        max_cost_usd=max_cost_usd,
        model_options=model_options,
        on_truncation=on_truncation,
        stream=stream,
        profile=profile,
        agent_ref=agent_ref,
    )
    send, receive = anyio.create_memory_object_stream[RunEvent](math.inf)
    caller = _Caller(
        agent=loaded,
        model=model,
        model_options=model_options,
        retry=retry,
        deltas=_deltas,
        loop=asyncio.get_running_loop(),
        send=send,
    )
    _callers[run_id] = caller
    try:
        handle = await _handle(run_id, spec)
        async for event in _events(caller, receive, handle, loaded):
            yield event
    finally:
        _callers.pop(run_id, None)


async def _events(
    caller: _Caller, receive: MemoryObjectReceiveStream[RunEvent], handle: Any, agent: Agent
) -> AsyncIterator[RunEvent]:
    # The workflow closes the channel when it ends here; when it ends
    # elsewhere (already finished, or taken by another process) the
    # handle's result closes it.
    async def watch() -> str:
        try:
            # Shielded: a caller who stops reading leaves the run going on
            # (a handle's result may be the workflow's own task).
            return str(await asyncio.shield(handle.get_result(polling_interval_sec=0.1)))
        finally:
            caller.close()

    watcher = asyncio.ensure_future(watch())
    try:
        ended = False
        async with receive:
            async for event in receive:
                ended = ended or isinstance(event, RunEndEvent)
                yield event
        if caller.error is not None:
            raise caller.error
        outcome = RunOutcome.model_validate_json(await watcher)
    finally:
        watcher.cancel()
    if outcome.error is not None:
        raise error_from_record(outcome.error)
    if not ended:
        assert outcome.result is not None
        yield RunEndEvent(result=result_from_record(outcome.result, agent))


async def durable_run(
    agent: Agent | str | os.PathLike[str],
    input: Input,
    *,
    run_id: str | None = None,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
    profile: str | None = None,
    agent_ref: str | None = None,
    database: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Run ``agent`` durably to a final answer; see ``durable_stream`` for the arguments.

    Model calls are whole (not streamed). With the ``run_id`` of a run whose
    process died, the run resumes after its last recorded step; with the id
    of a finished run, its recorded result comes back without any call.

    Returns:
        The result, equal to what an uninterrupted run would have returned.
    """
    events = durable_stream(
        agent,
        input,
        run_id=run_id,
        model=model,
        history=history,
        settings=settings,
        stream=False,
        retry=retry,
        max_cost_usd=max_cost_usd,
        model_options=model_options,
        on_truncation=on_truncation,
        profile=profile,
        agent_ref=agent_ref,
        database=database,
        _deltas=False,
    )
    result: RunResult | None = None
    # Read to the end, not to run_end: the stream ends once the engine has
    # recorded the run's outcome, and leaving earlier would leave it pending.
    async with aclosing(events) as stream:  # type: ignore[type-var]
        async for event in stream:
            if isinstance(event, RunEndEvent):
                result = event.result
    if result is None:  # pragma: no cover - the stream raises instead
        raise AssertionError("a durable run ends with a RunEndEvent or an error")
    return result
