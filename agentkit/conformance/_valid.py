"""Whether the values an adapter handed back are what validation would have built.

An adapter may build its responses without validation
(``agentkit.adapter.unchecked``), promising values of exactly their fields'
types. The kit holds it to that: every response and stream event goes
through pydantic again (dumped, then validated strictly: nothing may need
coercing), and must come back equal and dump as JSON. A value that fails (a
number where a ``str`` belongs, a word that is no ``FinishReason``, a tuple
for a list) fails the scenario with what was wrong and where.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from .._model import ModelResponse, ResponseEndEvent, StreamEvent

__all__ = ["invalid_values"]

_HINT = "built without validation (unchecked()?) from a value that is not of its field's type"


def _problem(value: object) -> str | None:
    """What is wrong with ``value``, or None when validating it again changes nothing."""
    if not isinstance(value, BaseModel):
        return f"a {type(value).__name__}, not one of agentkit's models"
    cls = type(value)
    try:
        # Strict: what a validating constructor built holds exactly its fields' types,
        # so nothing needs coercing; a value that does is the adapter's mistake.
        again = cls.model_validate(value.model_dump(warnings=False), strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(step) for step in first["loc"]) or "(the object)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where}: {first['msg']}, got {first.get('input')!r}{more}"
    if again != value:
        return "validating it again changes it (a field holds another type than declared)"
    try:
        value.model_dump_json(warnings="error")
    except PydanticSerializationError as exc:
        return f"it cannot be dumped as JSON: {exc}"
    return None


def invalid_values(response: ModelResponse | None, events: list[StreamEvent]) -> list[str]:
    """Problems with the response and the first invalid stream event (empty: all valid).

    Args:
        response: The final response, if any.
        events: The stream events as received (a ``ResponseEndEvent`` holding
            ``response`` itself is judged once, with the response).
    """
    problems: list[str] = []
    if response is not None:
        problem = _problem(response)
        if problem is not None:
            problems.append(f"validity: the ModelResponse is invalid, {_HINT}: {problem}")
    for position, event in enumerate(events):
        if isinstance(event, ResponseEndEvent) and event.response is response:
            continue
        problem = _problem(event)
        if problem is not None:
            problems.append(
                f"validity: stream event {position} ({type(event).__name__}) is invalid, "
                f"{_HINT}: {problem}"
            )
            break  # the first is enough to find the bug; the rest are usually alike
    return problems
