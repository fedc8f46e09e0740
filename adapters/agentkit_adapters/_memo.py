"""A memo for the tool-list converters: a run offers the same tools on every call.

Turning tool definitions into a provider's JSON compiles each schema (or
looks it up by its JSON text in the compiler's memo, which still serialises
the schema) and builds a warning per schema change: tens of microseconds a
call, for a result that only depends on the definitions. The runner hands
every call of a run, and every run of an agent, the very same
``ToolDefinition`` objects, so the converters remember their result by the
identity of those objects. Definitions are frozen models; their schemas are
treated as the values they were when first offered.

An entry holds its definitions, so no id in a key can be reused by another
object while the entry lives. Results are shared between callers: the lists
handed back are fresh copies, what is inside them must be treated as read-only
(as the compiler's memo already asks of compiled schemas).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, ParamSpec, TypeVar

from agentkit import ToolDefinition

__all__ = ["SIZE", "memo_by_tools"]

#: Tool lists remembered per converter (least recently used go first).
SIZE = 64

P = ParamSpec("P")
R = TypeVar("R")


def memo_by_tools(fn: Callable[P, R]) -> Callable[P, R]:
    """Remember ``fn(tools, **options)`` by the identity of ``tools``' items and the options.

    ``fn`` takes the definitions as its only positional argument and hashable
    keyword options. A result that is a list, a dict or a tuple of them is
    handed out as fresh shallow copies, so a caller that extends the list it
    got does not change what the next caller gets. Exceptions are not
    remembered (a schema that cannot be compiled fails afresh each time).
    """
    entries: OrderedDict[Hashable, tuple[tuple[ToolDefinition, ...], Any]] = OrderedDict()
    # Adapters may be called from worker threads (the local model's is). A hit
    # takes no lock: get and move_to_end are single C calls on keys of ints,
    # strings and booleans (no Python code runs inside them), so the GIL makes
    # each atomic; the lock keeps a miss's insert and evictions together.
    lock = threading.Lock()

    @functools.wraps(fn)
    def memoized(*args: P.args, **kwargs: P.kwargs) -> R:
        (tools,) = args
        # The options in the caller's order, not sorted: a call site always
        # passes them alike, and another order only costs a second entry.
        key = (*map(id, tools), *kwargs.items())  # type: ignore[call-overload]
        entry = entries.get(key)
        if entry is not None:
            # Not contextlib.suppress: a context manager on every hit costs more.
            try:  # noqa: SIM105
                entries.move_to_end(key)
            except KeyError:  # evicted by another thread meanwhile: still valid here
                pass
        else:
            assert isinstance(tools, Sequence)
            entry = (tuple(tools), fn(*args, **kwargs))
            with lock:
                entries[key] = entry
                while len(entries) > SIZE:
                    entries.popitem(last=False)
        return _copy(entry[1])  # type: ignore[no-any-return]

    return memoized


def _copy(value: Any) -> Any:
    # Exact types first: the results are plain tuples, lists and dicts, and
    # this runs on every hit.
    kind = type(value)
    if kind is tuple:
        return tuple([_copy(item) for item in value])
    if kind is list or kind is dict:
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(item) for item in value)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
