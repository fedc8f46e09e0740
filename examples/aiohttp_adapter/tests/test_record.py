"""Record mode through the pytest plugin: cassettes recorded from the emulated run, then replayed.

The recording goes to a temporary folder (tests write nothing into the
checkout); ``tests/cassettes`` is recorded the same way by the command in
``agentkit_conformance_replay.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.conformance import load_scenarios

RECORD = """
target: relay:relay-1
mode: record
record_from: emulated
cassettes: cassettes
"""
REPLAY = """
target: relay:relay-1
mode: replay
cassettes: cassettes
"""
COMMITTED = Path(__file__).parent / "cassettes" / "relay"


def _requests(path: Path) -> list[tuple[str, str, object]]:
    cassette = json.loads(path.read_text("utf-8"))
    return [
        (i["request"]["method"], i["request"]["url"], i["request"]["body"])
        for i in cassette["interactions"]
    ]


#: Scenarios a cassette cannot hold (a refused connection, a server that never
#: answers): n/a in record and replay, checked in emulated mode only.
UNRECORDABLE = {"errors.connection_refused", "errors.read_timeout"}


def test_recording_through_the_plugin_writes_cassettes_that_replay(
    pytester: pytest.Pytester,
) -> None:
    ids = [s.id for s in load_scenarios() if s.id not in UNRECORDABLE]
    pytester.makefile(".yaml", agentkit_conformance=RECORD)
    recorded = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    recorded.assert_outcomes(passed=len(ids), skipped=len(UNRECORDABLE))
    for scenario_id in UNRECORDABLE:
        recorded.stdout.fnmatch_lines([f"SKIPPED*{scenario_id}: n/a: *emulated mode only*"])

    folder = pytester.path / "cassettes" / "relay"
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted(ids)
    for path in folder.glob("*.json"):
        text = path.read_text("utf-8")
        assert "sk-" not in text  # the placeholder key never reaches a cassette
        assert "aiohttp/" in text  # recorded at the loopback boundary, from aiohttp itself
        # The committed cassettes hold exactly what the adapter sends today.
        assert _requests(path) == _requests(COMMITTED / path.name), path.name

    (pytester.path / "agentkit_conformance.yaml").unlink()
    pytester.makefile(".yaml", agentkit_conformance_replay=REPLAY)
    replayed = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=len(ids), skipped=len(UNRECORDABLE))
