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

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

__all__ = ["build", "trusted"]

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


class _Layout(NamedTuple):
    """What ``build`` needs to know of a class, worked out once per class."""

    template: dict[str, Any]  # every field in declaration order, defaults filled in
    factories: tuple[tuple[str, Callable[[], Any]], ...]
    required: frozenset[str]
    private: dict[str, Any] | None


_layouts: dict[type[BaseModel], _Layout] = {}
#: Defaults that can be shared between instances (pydantic copies the others).
_IMMUTABLE = (type(None), str, int, float, bool, tuple, frozenset)


def _layout(cls: type[BaseModel]) -> _Layout:
    template: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    required: set[str] = set()
    for name, field in cls.model_fields.items():
        template[name] = None
        if field.is_required():
            required.add(name)
        elif field.default_factory is not None:
            if field.default_factory_takes_validated_data:
                raise TypeError(f"{cls.__name__}.{name}: a factory that takes data")
            factories.append((name, field.default_factory))  # type: ignore[arg-type]
        elif isinstance(field.default, _IMMUTABLE):
            template[name] = field.default
        else:
            raise TypeError(f"{cls.__name__}.{name}: a mutable default")
    private = None
    if cls.__private_attributes__:
        private = {}
        for name, attribute in cls.__private_attributes__.items():
            value = attribute.get_default()
            if not isinstance(value, _IMMUTABLE):
                raise TypeError(f"{cls.__name__}.{name}: a mutable private default")
            private[name] = value
    layout = _Layout(template, tuple(factories), frozenset(required), private)
    _layouts[cls] = layout
    return layout


def build(cls: type[M], /, **values: Any) -> M:
    """``cls(**values)`` without validation: defaults filled in, nothing checked.

    For models the runtime builds from values it made itself, already of
    their fields' types (a ``str``, a ``Message``, a ``Usage``). Lists and
    dicts are kept as given, not copied as validation would: pass a copy
    when the caller goes on changing the original. Only for classes whose
    validators change nothing (``tests/test_trusted.py`` compares each class
    used against pydantic's own construction).

    Raises:
        TypeError: a required field is missing or an unknown one is given.
    """
    layout = _layouts.get(cls) or _layout(cls)
    data = layout.template.copy()
    for name, factory in layout.factories:
        if name not in values:
            data[name] = factory()
    data.update(values)
    if len(data) != len(layout.template) or not layout.required <= values.keys():
        raise TypeError(f"{cls.__name__}: fields {sorted(values)} do not fit its fields")
    instance = trusted(cls, data, set(values))
    if layout.private is not None:
        _set_private(instance, layout.private.copy())
    return instance
