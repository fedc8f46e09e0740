"""The request side sends, byte for byte, what it sent before it was made faster.

``_request_bytes.py`` builds the conversations (every recorded real-traffic
answer of every family, three turns each, plus rich Chat Completions
conversations under each host's quirks); ``REFERENCE`` holds the SHA-256 of
each body main's code sent for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from agentkit_adapters.openai import _convert

from . import _request_bytes

REFERENCE: dict[str, list[str]] = json.loads(_request_bytes.REFERENCE.read_text())


@pytest.fixture(scope="module")
def sent() -> dict[str, list[str]]:
    return _request_bytes.scenarios()


@pytest.fixture(scope="module")
def sent_remembering() -> Iterator[dict[str, list[str]]]:
    """The same, with every message's form remembered however short the conversation."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_convert, "REMEMBER_FROM", 0)
        yield _request_bytes.scenarios()


def test_every_case_is_covered(sent: dict[str, list[str]]) -> None:
    assert sorted(sent) == sorted(REFERENCE)
    # Most cases run all their turns; only error answers stop after the first.
    assert sum(len(digests) for digests in sent.values()) > 350


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_bodies_are_the_bytes_main_sent(case: str, sent: dict[str, list[str]]) -> None:
    assert sent[case] == REFERENCE[case]


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_remembered_forms_send_the_same_bytes(
    case: str, sent_remembering: dict[str, list[str]]
) -> None:
    assert sent_remembering[case] == REFERENCE[case]
