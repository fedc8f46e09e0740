"""Events built without validation (``_trusted.py``) are the objects pydantic would build."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentkit import (
    ReasoningDeltaEvent,
    RefusalDeltaEvent,
    StreamAccumulator,
    TextDeltaEvent,
    ToolCallDeltaEvent,
)
from agentkit._trusted import trusted


def _same(fast: BaseModel, validated: BaseModel) -> None:
    assert type(fast) is type(validated)
    assert fast == validated
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_dump_json() == validated.model_dump_json()
    assert fast.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert fast.model_fields_set == validated.model_fields_set
    assert repr(fast) == repr(validated)
    assert hash(fast) == hash(validated)  # frozen models hash by value
    assert fast.model_copy(update={}) == validated


def test_the_accumulators_deltas_equal_validated_events() -> None:
    acc = StreamAccumulator("p", "m")
    acc.start()
    (text,) = acc.add_text("Hel")
    (reasoning,) = acc.add_reasoning("think")
    (refusal,) = acc.add_refusal("no")
    acc.start_call(0, "c1", "f")
    (arguments,) = acc.add_arguments(0, '{"a"')
    _same(text, TextDeltaEvent(text="Hel"))
    _same(reasoning, ReasoningDeltaEvent(text="think"))
    _same(refusal, RefusalDeltaEvent(text="no"))
    _same(arguments, ToolCallDeltaEvent(index=0, arguments_delta='{"a"'))


def test_a_trusted_event_is_frozen_like_a_validated_one() -> None:
    event = trusted(TextDeltaEvent, {"type": "text_delta", "text": "x"}, {"text"})
    with pytest.raises(Exception, match="frozen"):
        event.text = "y"  # type: ignore[misc]


def test_text_that_is_not_a_string_is_still_validated() -> None:
    # A host that sends a number as content: pydantic's error, as before.
    acc = StreamAccumulator("p", "m")
    with pytest.raises(ValueError, match="string"):
        acc.add_text(12)  # type: ignore[arg-type]
