"""Pydantic objects from values the runtime made itself, without validating them again.

A stream of small deltas makes one event per delta, and validating an 8-character
string into a frozen model costs several times the rest of handling the delta.
Where agentkit itself builds an event from values it already holds (a ``str``
from parsed JSON, an ``int`` index), ``trusted`` lays the instance out the way
pydantic's own ``model_construct`` does, minus its generic per-field work:
what comes out is equal to, and dumps and compares like, the validated object
(``tests/test_trusted.py`` checks each kind against pydantic's own).

Only for values that are already of the field's type: nothing is checked.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["trusted"]

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
# The slots every BaseModel instance has (pydantic's model_construct sets the same).
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def trusted(cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """An instance of ``cls`` holding ``values``, which must be valid and complete.

    Args:
        cls: A pydantic model without private attributes or extra fields.
        values: Every field's value, defaults included, in declaration order.
        fields_set: The fields the caller gave (what ``model_fields_set`` reports).
    """
    instance = _new(cls)
    _set_dict(instance, values)
    _set_fields_set(instance, fields_set)
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance
