"""The check that a model built without validation equals the validated one."""

from __future__ import annotations

import pytest
from pydantic import BaseModel


def assert_same_model(fast: BaseModel, validated: BaseModel) -> None:
    """Assert ``fast`` (built by a shortcut) is indistinguishable from ``validated``.

    Equality alone would miss a shortcut that leaves the set-fields record or
    the serialised form different, which is what a reader of the result sees.
    """
    assert type(fast) is type(validated)
    assert fast == validated
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_dump_json() == validated.model_dump_json()
    assert fast.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert fast.model_fields_set == validated.model_fields_set
    assert repr(fast) == repr(validated)
    assert fast.model_copy(update={}) == validated
    if type(fast).model_config.get("frozen"):  # frozen models hash by value...
        try:
            expected = hash(validated)
        except TypeError:  # ...unless they hold a list
            with pytest.raises(TypeError):
                hash(fast)
        else:
            assert hash(fast) == expected
