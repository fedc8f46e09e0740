"""``run``, ``run_stream`` and ``run_sync``: the runner loads on the first call.

``from agentkit import Agent, run, tool`` is the first line of most scripts;
the runner behind these three brings pydantic, the message and event models,
anyio and the model call with it (about 100 ms of a 150 ms start-up), which a
script then pays before it has done anything, and which ``--help`` or a
failing argument check never needs. So the public functions live here, with
the runner's exact signatures and their documentation, and hand each call to
``_runner``, imported the first time one is called.
``tests/test_public_api.py`` checks that the signatures stay the runner's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import ModuleType

    from ._agent import Agent
    from ._messages import Message
    from ._model import ModelSettings
    from ._modelcall import OnTruncation
    from ._policy import RetryPolicy
    from ._result import RunResult
    from ._runner import Input, Model, RunStream

__all__ = ["run", "run_stream", "run_sync"]

_loaded: ModuleType | None = None


def _impl() -> ModuleType:
    """The runner module, imported on the first call (cached: an import in the
    function costs about 1.4 microseconds a call on Python 3.11)."""
    global _loaded
    if _loaded is None:
        from . import _runner as module

        _loaded = module
    return _loaded


def run_stream(
    agent: Agent,
    input: Input,
    *,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    stream: bool = True,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
) -> RunStream:
    """Run ``agent`` on ``input``, yielding events as they happen.

    The last event is a ``RunEndEvent`` holding the ``RunResult``, which is
    the fold of the events before it (``fold_events``). Nothing runs until
    the first event is asked for. To stop early, close the iterator
    (``async with contextlib.aclosing(...)``) so the run's connections close
    in the task that opened them; stopping at ``run_end`` needs no closing.

    Args:
        agent: The agent to run.
        input: The user's message (text, a ``Message`` or several).
        model: ``provider:model``, an adapter, or a chain of them tried in
            order (``"ollama:llama3.2,openai:gpt-4.1-mini"``); see
            ``choose_model`` when None.
        history: Earlier messages to continue from.
        settings: Settings overriding the agent's.
        stream: Stream from the model (True) or make whole calls (False);
            the events are the same either way, only their timing differs.
        retry: Retry policy for failed model calls.
        max_cost_usd: Stop before a call that could take the run past this price.
        model_options: Options for the adapter factories of model strings
            (``base_url``, ``api_key``, ``headers``, ``http_client``, or a
            factory's own); they win over environment variables.
        on_truncation: What an answer cut off at ``max_tokens`` does:
            ``"warn"`` (a ``truncated`` warning, the run goes on) or
            ``"error"`` (``TruncatedError``).

    Raises:
        RunError: the run failed; ``messages`` keeps the conversation so far.
        UserError: the agent or model is misconfigured.
    """
    # The runner's own iterator, returned rather than iterated again here: no
    # extra hop per event, and closing it closes the run itself.
    events: RunStream = _impl().run_stream(
        agent,
        input,
        model=model,
        history=history,
        settings=settings,
        stream=stream,
        retry=retry,
        max_cost_usd=max_cost_usd,
        model_options=model_options,
        on_truncation=on_truncation,
    )
    return events


async def run(
    agent: Agent,
    input: Input,
    *,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
) -> RunResult:
    """Run ``agent`` on ``input`` to a final answer.

    The run is ``run_stream``'s, folded the same way; only the deltas of
    whole answers, which the fold does not read, are not built.

    Args:
        agent: The agent to run.
        input: The user's message (text, a ``Message`` or several).
        model: ``provider:model``, an adapter, or a chain tried in order.
        history: Earlier messages to continue from.
        settings: Settings overriding the agent's.
        retry: Retry policy for failed model calls.
        max_cost_usd: Stop before a call that could take the run past this price.
        model_options: Options for the adapter factories of model strings
            (``base_url``, ``api_key``, ``headers``, ``http_client``, or a
            factory's own); they win over environment variables.
        on_truncation: ``"warn"`` (default) or ``"error"`` (``TruncatedError``)
            when an answer is cut off at ``max_tokens``.

    Returns:
        The result: output, messages, usage, cost, turns, warnings, retries
        and the last finish reason.

    Raises:
        RunError: the run failed; ``messages`` keeps the conversation so far.
        UserError: the agent or model is misconfigured.
    """
    result: RunResult = await _impl().run(
        agent,
        input,
        model=model,
        history=history,
        settings=settings,
        retry=retry,
        max_cost_usd=max_cost_usd,
        model_options=model_options,
        on_truncation=on_truncation,
    )
    return result


def run_sync(
    agent: Agent,
    input: Input,
    *,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
) -> RunResult:
    """Run ``agent`` on ``input`` to a final answer, for code without an event loop.

    ``run`` documents the arguments, the result and the errors. Each thread
    keeps its event loop between calls, so its calls reuse the pooled
    connections; the loop is closed at exit, or by a later call once its
    thread has ended. Each call runs in a copy of the caller's context.

    Raises:
        UserError: called where an event loop is running (``await run`` there).
    """
    result: RunResult = _impl().run_sync(
        agent,
        input,
        model=model,
        history=history,
        settings=settings,
        retry=retry,
        max_cost_usd=max_cost_usd,
        model_options=model_options,
        on_truncation=on_truncation,
    )
    return result
