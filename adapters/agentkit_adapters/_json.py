"""``json.dumps`` with its default options, for the request side's hot path.

Each ``json.dumps(value)`` call goes through ``JSONEncoder.encode`` and
``iterencode``, which build a new C encoder every time: for a small value
(a tool call's arguments, most request bodies) that setup costs more than
the encoding. ``dumps`` keeps one C encoder with the very options
``json.dumps`` uses, so its text is the same character for character.

The one option it leaves out is the check for circular references (which
needs a fresh ``markers`` dict per call, shared state otherwise): a value that
cannot be encoded, circular or not, is handed to ``json.dumps`` itself, so
whatever it raises is what the caller sees, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["dumps"]


def _fast_encoder() -> Callable[[Any, int], Any] | None:
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the _json accelerator
        return None
    default = json.JSONEncoder()  # the options json.dumps() uses when given none
    return make(  # type: ignore[no-any-return]
        None,  # markers: no circular-reference check (see the module's docstring)
        default.default,
        encoder.encode_basestring_ascii,  # ensure_ascii=True
        default.indent,
        default.key_separator,
        default.item_separator,
        default.sort_keys,
        default.skipkeys,
        default.allow_nan,
    )


_ENCODE = _fast_encoder()


def dumps(value: Any) -> str:
    """``json.dumps(value)``: the same text, or the same exception."""
    if _ENCODE is None or type(value) is str:
        return json.dumps(value)
    try:
        return "".join(_ENCODE(value, 0))
    except Exception:
        # RecursionError for a circular value (json.dumps says ValueError),
        # TypeError for an object JSON has no form for: let json.dumps decide.
        return json.dumps(value)
