"""Vertex AI's streamed function-call arguments, assembled into whole arguments.

With ``functionCallingConfig.streamFunctionCallArguments`` (Vertex only; the
Gemini API documents the field as unsupported) a call arrives over several
chunks: ``{"name", "willContinue": true}``, then ``partialArgs`` pieces
``{"jsonPath": "$.location", "stringValue": "Bos", "willContinue": true}``,
then an empty ``functionCall: {}`` that closes it (case
``vertex_streamed_partial_function_args``). agentkit declares
``tool_call_streaming=False`` for Gemini, so the pieces are put together here
and the call is reported whole when it closes.
"""

from __future__ import annotations

import re
from typing import Any

from ._wire import PartialArg

__all__ = ["PartialCall"]

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


def _path(json_path: str) -> list[str | int]:
    """``$.a.b[0]['c d']`` as ``["a", "b", 0, "c d"]``."""
    steps: list[str | int] = []
    rest = json_path.removeprefix("$")
    position = 0
    while position < len(rest):
        match = _STEP.match(rest, position)
        if match is None:
            raise ValueError(f"unreadable jsonPath {json_path!r}")
        key, index, single, double = match.groups()
        steps.append(int(index) if index is not None else (key or single or double or ""))
        position = match.end()
    return steps


class PartialCall:
    """A Vertex function call whose arguments arrive as ``partialArgs`` over several chunks."""

    __slots__ = ("args", "continuing", "index")

    def __init__(self, index: int) -> None:
        self.index = index
        self.args: dict[str, Any] = {}
        self.continuing: set[str] = set()  # string paths whose next piece is appended

    def apply(self, piece: PartialArg) -> None:
        path = piece.get("jsonPath") or "$"
        steps = _path(path)
        if not steps:
            return
        if "stringValue" in piece:
            value: Any = piece["stringValue"]
            if path in self.continuing:
                value = str(_get(self.args, steps) or "") + value
        elif "numberValue" in piece:
            value = piece["numberValue"]
        elif "boolValue" in piece:
            value = piece["boolValue"]
        else:
            value = None  # nullValue
        if piece.get("willContinue"):
            self.continuing.add(path)
        else:
            self.continuing.discard(path)
        _set(self.args, steps, value)


def _get(node: Any, steps: list[str | int]) -> Any:
    for step in steps:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _set(root: dict[str, Any], steps: list[str | int], value: Any) -> None:
    node: Any = root
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if following is None:
            if isinstance(node, list) and isinstance(step, int):
                node.extend([None] * (step + 1 - len(node)))
            node[step] = value
            return
        child = _get(node, [step])
        if not isinstance(child, dict | list):
            child = [] if isinstance(following, int) else {}
            if isinstance(node, list) and isinstance(step, int):
                node.extend([None] * (step + 1 - len(node)))
            node[step] = child
        node = child
