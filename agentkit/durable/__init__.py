"""Durable runs: an agent run that survives its process, on DBOS Transact.

::

    from agentkit.durable import durable_run
    result = await durable_run("agent.yaml", "Book the flight", run_id="trip-42",
                               model="openai:gpt-4.1-mini")

The agent loop is a DBOS workflow and every model call and every tool call
is a step whose outcome is recorded (as JSON) in SQLite (a file under the
state directory, by default) or Postgres (``database="postgresql://..."``).
Kill the process at any point and call again with the same ``run_id``: the
run replays its recorded steps without calling the model or the tools again
and goes on from the first step that had not finished. A step cut off by
the crash runs again, unless its tool is marked ``@tool(idempotent=False)``:
then the run stops with ``ToolNotRepeatableError``.

For workers: ``run_workflow`` is the workflow (DBOS name ``agentkit.run``),
its argument a ``RunSpec`` as JSON naming the agent by file path (or
``module:attribute``) and the model by its string; ``launch(database)``
starts the engine in a process before it takes work.

Needs the ``durable`` extra (``pip install 'agentkit-interop[durable]'``);
``import agentkit`` never imports DBOS.
"""

from __future__ import annotations

try:
    import dbos as _dbos  # noqa: F401
except ImportError as exc:  # pragma: no cover - the dev environment has it
    raise ImportError(
        "agentkit.durable needs DBOS: install the extra with "
        "`pip install 'agentkit-interop[durable]'` (or `uv add 'agentkit-interop[durable]'`)"
    ) from exc

from ._engine import APPLICATION_VERSION, database_url, launch, shutdown
from ._io import DurableIO, repeat_safe
from ._records import RunOutcome, RunSpec
from ._workflow import durable_run, durable_stream, resolve_agent, run_workflow

__all__ = [
    "APPLICATION_VERSION",
    "DurableIO",
    "RunOutcome",
    "RunSpec",
    "database_url",
    "durable_run",
    "durable_stream",
    "launch",
    "repeat_safe",
    "resolve_agent",
    "run_workflow",
    "shutdown",
]
