"""Memos for the request converters: a run offers the same tools, and resends the same
messages, on every call.

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
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar

from agentkit import Message, ToolDefinition

__all__ = ["SIZE", "MessageForms", "memo_by_tools"]

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
    # this runs on every hit. A tuple's plain lists and dicts are copied in
    # its own loop, without a call (or a comprehension's frame) for each.
    kind = type(value)
    if kind is tuple:
        items = []
        for item in value:
            inner = type(item)
            items.append(item.copy() if inner is list or inner is dict else _copy(item))
        return tuple(items)
    if kind is list or kind is dict:
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(item) for item in value)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


F = TypeVar("F")


class MessageForms(Generic[F]):
    """Each message's wire form, remembered for as long as the message lives.

    A run sends its whole conversation on every call, so converting every
    message on every call costs O(N²) conversions over N turns; the runner
    hands each call the very same ``Message`` objects, so their forms can be
    remembered by identity. An entry is keyed by ``id(message)`` and holds a
    weak reference to it: when the message is collected, a callback removes
    the entry (so nothing outlives its message, and no id is reused while its
    entry lives), and a lookup checks the reference, so an entry can only
    ever answer for its own message. Messages are frozen, but their ``parts``
    is a list: the entry keeps the parts it was made from, and a message
    whose parts were replaced since is converted afresh. The parts themselves
    are frozen models, treated as the values they were when first sent.

    Forms are shared between the calls that send the same message: they must
    be treated as read-only. Exceptions are not remembered.
    """

    __slots__ = ("__weakref__", "_entries")

    def __init__(self) -> None:
        self._entries: dict[
            int, tuple[weakref.ref[Message], tuple[Any, ...], dict[Hashable, F]]
        ] = {}

    def get(self, message: Message, options: Hashable, build: Callable[[Message], F]) -> F:
        """The form of ``message`` under ``options``: remembered, or ``build(message)`` now."""
        key = id(message)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is message and entry[1] == tuple(message.parts):
            form = entry[2].get(options)
            if form is None:
                form = entry[2][options] = build(message)
            return form
        form = build(message)
        entries = self._entries

        def forget(ref: weakref.ref[Message]) -> None:
            # Only the entry of this very reference: a stale check in get() may
            # already have replaced it with a fresh one for a new message.
            current = entries.get(key)
            if current is not None and current[0] is ref:
                entries.pop(key, None)

        try:
            ref = weakref.ref(message, forget)
        except TypeError:  # an object that takes no weak reference: not remembered
            return form
        entries[key] = (ref, tuple(message.parts), {options: form})
        return form

    def __len__(self) -> int:
        return len(self._entries)
