"""Pydantic objects from values the runtime made itself, without validating them again.

A stream of small deltas makes one event per delta, and validating an 8-character
string into a frozen model costs several times the rest of handling the delta.
Where agentkit itself builds an event from values it already holds (a ``str``
from parsed JSON, an ``int`` index), ``trusted`` lays the instance out the way
pydantic's own ``model_construct`` does, minus its generic per-field work:
what comes out is equal to, and dumps and compares like, the validated object
(``tests/test_trusted.py`` checks each kind against pydantic's own).

Only for values that are already of the field's type: nothing is checked.
``unchecked`` is the public form for adapters (``agentkit.adapter``): the same
construction, limited to the models a ``ModelResponse`` holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, ParamSpec, TypeVar

from pydantic import BaseModel

__all__ = ["build", "trusted", "unchecked"]

M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")

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
#: Default factories that are called with no arguments.
_PLAIN_FACTORIES = (list, dict, set)
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
            # pydantic's check reads the factory's signature. For a builtin type
            # that means parsing its text signature with tokenize, whose regex
            # took 8 ms to compile on a process's first run: list() and the
            # like take no data, so they skip the check.
            plain = field.default_factory in _PLAIN_FACTORIES
            if not plain and field.default_factory_takes_validated_data:
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


#: The models ``unchecked`` builds: what a ``ModelResponse`` holds. Their validators
#: only check types and bounds and change nothing, so a valid value built without
#: them is the validated object (tests/adapters/test_unchecked_responses.py).
#: Their layouts are worked out once, on the first call (``_unchecked_layouts``):
#: none has private attributes.
_UNCHECKED: dict[type[BaseModel], _Layout] = {}


def _unchecked_layouts() -> dict[type[BaseModel], _Layout]:
    # Imported here: the message module itself builds with ``trusted``.
    from ._messages import Message, ReasoningPart, TextPart, ToolCallPart, Usage
    from ._model import ModelResponse, RunWarning

    for cls in (ModelResponse, Message, TextPart, ToolCallPart, ReasoningPart, Usage, RunWarning):
        _UNCHECKED[cls] = _layout(cls)
    return _UNCHECKED


def unchecked(cls: Callable[P, M], /, *args: P.args, **values: P.kwargs) -> M:
    """``cls(**values)`` without pydantic validation, for a response an adapter built.

    Validating a whole answer costs more than parsing it: each part, the
    message, the usage and the response are checked once more although the
    adapter has just made every value itself. An adapter that coerces what the
    wire sent (a ``str`` is made a ``str``, a count a non-negative ``int``)
    builds the same objects with this, field for field, keyword for keyword::

        part = unchecked(TextPart, text=text)
        response = unchecked(ModelResponse, message=unchecked(Message, ...), ...)

    What comes out equals ``cls(**values)`` (``==``, ``model_fields_set``,
    dumps) when the caller guarantees, for every value given:

    - it is exactly of the field's declared type: ``str`` where the field says
      ``str`` (not a number, not ``None`` unless the field allows it), ``int``
      (not ``bool``, not ``float``) within the field's bounds (``Usage``
      counts are ``>= 0``), one of the words of a ``Literal`` (``finish_reason``
      is a ``FinishReason``, ``role`` a ``Role``), ``dict`` and ``list`` for
      ``dict`` and ``list`` fields (not a tuple or another mapping);
    - nested models are valid instances of the declared class (built by their
      constructor or by ``unchecked``), and ``parts`` holds only parts;
    - lists and dicts are new objects that nothing else holds or changes
      later: they are kept, where validation would copy them (pass
      ``list(warnings)``, not a caller's list).

    Type checkers see ``cls``'s own keywords (mypy reports a misspelt or
    missing field; with pydantic's plugin and ``init_typed`` also a wrong
    type). Nothing else is checked when the value is built: a wrong value shows
    later, far from its cause (a broken JSON dump, a wrong comparison). The
    conformance kit checks every response and stream event an adapter returns
    by validating it again, and fails an adapter that built an invalid one.
    When in doubt, call the constructor.

    Args:
        cls: ``ModelResponse``, ``Message``, ``TextPart``, ``ToolCallPart``,
            ``ReasoningPart``, ``Usage`` or ``RunWarning``.
        *args: Refused: models take keywords only.
        **values: The fields to set, as for ``cls(**values)``; the others get
            their defaults and stay out of ``model_fields_set``.

    Returns:
        The instance, frozen like a validated one where the class is.

    Raises:
        TypeError: ``cls`` is not one of those models, a required field is
            missing, an unknown one is given, or a value is positional.
    """
    # build() inlined: an answer is several of these, every model call.
    layout = (_UNCHECKED or _unchecked_layouts()).get(cls)  # type: ignore[call-overload]
    if layout is None:
        raise TypeError(f"unchecked() builds only the parts of a ModelResponse, not {cls!r}")
    if args:
        raise TypeError("unchecked() takes the model's fields as keywords")
    data = {**layout.template, **values}
    for name, factory in layout.factories:
        if name not in values:
            data[name] = factory()
    if len(data) != len(layout.template) or not layout.required <= values.keys():
        raise TypeError(f"{cls!r}: fields {sorted(values)} do not fit its fields")
    instance: M = _new(cls)  # type: ignore[arg-type]
    _set_dict(instance, data)
    _set_fields_set(instance, set(values))
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance
