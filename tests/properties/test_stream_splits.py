"""Any byte split of a recorded stream parses to the same events as the whole body.

A network hands an adapter its stream in reads of any size: a read may end
inside a ``\\r\\n``, inside a multi-byte UTF-8 character, between the two
newlines that end an event. For every recorded real-traffic stream of every
family, the whole adapter (``stream`` over an ``httpx2.MockTransport``, so
``HTTPExchange`` and ``SSEDecoder``/``NDJSONDecoder`` are on the path) must
yield exactly the events, final response and error it yields for the body in
one read. The decoders are also driven directly, where a caller's HTTP stack
may hand them empty reads, which httpx2 never does.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import ResponseEndEvent, ResponseStartEvent
from agentkit.adapter import NDJSONDecoder, SSEDecoder, SSEEvent

from ._traffic import (
    FIXTURES,
    Outcome,
    StreamCase,
    awkward_points,
    payloads,
    replay,
    split,
    stream_cases,
)

CASES = stream_cases()
BY_ID = {case.id: case for case in CASES}
IDS = sorted(BY_ID)

#: The one recorded stream that ends in an error event instead of an answer.
ERROR_STREAMS = {"openai_responses/stream_error_insufficient_quota/response.chunks.jsonl"}


@cache
def whole(case_id: str) -> Outcome:
    case = BY_ID[case_id]
    return replay(case, [case.body])


def cut_points(body: bytes) -> st.SearchStrategy[list[int]]:
    """Cut points anywhere, mixed with the awkward ones; or a regular slicing."""
    anywhere = st.integers(0, len(body))
    awkward = awkward_points(body)
    point = st.one_of(anywhere, st.sampled_from(awkward)) if awkward else anywhere
    regular = st.integers(1, 97).map(lambda size: list(range(size, len(body), size)))
    return st.one_of(st.lists(point, max_size=40), regular)


EXPECTED_STREAMS = sum(
    1
    for path in FIXTURES.glob("*/*/*")
    if path.name.endswith(("response.sse", "response.chunks.jsonl", "response.ndjson"))
)


def test_every_family_and_every_stream_is_covered() -> None:
    families = {case.family for case in CASES}
    assert families == {
        "openai_chat",
        "openai_compatible",
        "openai_responses",
        "gemini",
        "ollama",
        "anthropic",
        "vertex",
        "azure_openai",
        "open_responses",
    }
    # Every stream body under tests/fixtures/real_traffic: counted, so a new
    # family or case without an adapter here fails loudly instead of being skipped.
    assert len(CASES) == EXPECTED_STREAMS
    for case in CASES:
        events, error = whole(case.id)
        assert isinstance(events[0], ResponseStartEvent)
        if case.id in ERROR_STREAMS:
            assert error is not None
            assert "quota" in error
            continue
        assert error is None, (case.id, error)
        assert len(events) >= 3, case.id
        assert isinstance(events[-1], ResponseEndEvent)
        assert payloads(case), case.id


def test_the_awkward_points_exist_in_the_recordings() -> None:
    # Gemini frames with \r\n, two recordings hold multi-byte characters: the
    # strategy's sampled points do land inside them.
    bodies = [case.body for case in CASES]
    assert any(b"\r\n" in body for body in bodies)
    assert sum(any(byte >= 0x80 for byte in body) for body in bodies) >= 2


@pytest.mark.parametrize("case_id", IDS)
@settings(max_examples=10)
@given(data=st.data())
def test_any_split_gives_the_same_events(case_id: str, data: st.DataObject) -> None:
    case = BY_ID[case_id]
    points = data.draw(cut_points(case.body), label="points")
    assert replay(case, split(case.body, points)) == whole(case_id)


def _with_line_ends(case: StreamCase, end: bytes) -> bytes:
    return case.body.replace(b"\r\n", b"\n").replace(b"\n", end)


@pytest.mark.parametrize("case_id", IDS)
@settings(max_examples=3)
@given(data=st.data())
def test_other_line_ends_give_the_same_events(case_id: str, data: st.DataObject) -> None:
    case = BY_ID[case_id]
    # SSE allows \n, \r\n and \r; NDJSON lines end in \n, with a \r before it tolerated.
    ends = [b"\n", b"\r\n", b"\r"] if case.framing == "sse" else [b"\n", b"\r\n"]
    body = _with_line_ends(case, data.draw(st.sampled_from(ends), label="line end"))
    points = data.draw(cut_points(body), label="points")
    assert replay(case, split(body, points)) == whole(case_id)


def _sse_events(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.flush()


def _ndjson_lines(chunks: list[bytes]) -> list[bytes]:
    decoder = NDJSONDecoder()
    lines = [line for chunk in chunks for line in decoder.feed(chunk)]
    return lines + decoder.flush()


@settings(max_examples=200)
@given(
    case_id=st.sampled_from(IDS),
    end=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    data=st.data(),
)
def test_decoders_take_any_reads_even_empty_ones(
    case_id: str, end: bytes, data: st.DataObject
) -> None:
    case = BY_ID[case_id]
    if case.framing == "ndjson":
        end = end if end != b"\r" else b"\n"
    body = _with_line_ends(case, end)
    points = data.draw(cut_points(body), label="points")
    if points:
        # Repeated points give empty reads, which another HTTP stack may hand over.
        points += data.draw(st.lists(st.sampled_from(points), max_size=10), label="repeats")
    chunks = split(body, points)
    if case.framing == "sse":
        assert _sse_events(chunks) == _sse_events([body])
    else:
        assert _ndjson_lines(chunks) == _ndjson_lines([body])


def test_an_empty_read_after_a_carriage_return_keeps_the_line_break() -> None:
    # Found by the property above: the empty read reset the "ended in \r" state,
    # so the "\n" of a split "\r\n" counted as a second line break and ended the
    # event early, cutting one event in two.
    body = b"data: a\r\ndata: b\r\n\r\n"
    chunks = [b"data: a\r", b"", b"\ndata: b\r\n\r\n"]
    assert _sse_events(chunks) == _sse_events([body]) == [SSEEvent("message", "a\nb")]
