"""The kit's Anthropic wire: its emulator against the real recordings, and its script rendering.

The kit judges the Anthropic adapter on what ``AnthropicEmulator`` writes and
refuses, so the emulator is checked here against what the real API did in
``tests/fixtures/real_traffic/anthropic``: every request the API accepted, it
accepts; every recorded answer, written again by it, reads back the same and
streams the same sequence of events.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from agentkit_adapters.anthropic import AnthropicStreamReader, from_anthropic_response

from agentkit import ModelResponse, ResponseEndEvent
from agentkit.adapter import SSEDecoder
from agentkit.conformance._scenarios import Scenario
from agentkit.conformance._script import ScriptNotRenderable, render_script, wire_facts
from agentkit.conformance._wires import WIRES
from agentkit.testing import AnthropicEmulator, ScriptedHTTPError
from agentkit.testing._anthropic_emulator import _frame, refused_by_the_api

RECORDED = Path(__file__).parents[1] / "fixtures" / "real_traffic" / "anthropic"


def _exchanges(suffix: str) -> list[tuple[str, Path]]:
    """(case/prefix, response path) of every recorded 200 answer with this file suffix."""
    found = []
    for meta in sorted(RECORDED.glob("*/*meta.json")):
        info = json.loads(meta.read_text())
        prefix = meta.name.removesuffix("meta.json")
        response = meta.parent / info["response_file"]
        if info["status"] == 200 and response.name.endswith(suffix):
            found.append((f"{meta.parent.name}/{prefix or '-'}", response))
    return found


def _requests() -> list[tuple[str, Path]]:
    found = []
    for meta in sorted(RECORDED.glob("*/*meta.json")):
        prefix = meta.name.removesuffix("meta.json")
        if json.loads(meta.read_text())["status"] == 200:
            found.append(
                (f"{meta.parent.name}/{prefix or '-'}", meta.parent / f"{prefix}request.json")
            )
    return found


@pytest.mark.parametrize(("case", "path"), _requests(), ids=[c for c, _ in _requests()])
def test_every_request_the_api_accepted_is_accepted(case: str, path: Path) -> None:
    assert refused_by_the_api(json.loads(path.read_text())) is None, case


def test_requests_the_api_refuses_are_refused() -> None:
    base = {"max_tokens": 2048, "messages": [{"role": "user", "content": "hi"}]}
    both = {"temperature": 0.2, "top_p": 0.9}
    assert "cannot both be specified" in str(
        refused_by_the_api(base | both | {"model": "claude-sonnet-4-5"})
    )
    # Claude Sonnet 4 takes both; so does an id the emulator cannot read.
    assert refused_by_the_api(base | both | {"model": "claude-sonnet-4-20250514"}) is None
    assert refused_by_the_api(base | both | {"model": "my-alias"}) is None
    thinking = {
        "model": "claude-sonnet-4-5",
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    assert "budget_tokens" in str(refused_by_the_api(base | thinking | {"max_tokens": 1024}))
    forced = {"tool_choice": {"type": "any"}}
    assert "forces tool use" in str(refused_by_the_api(base | thinking | forced))
    assert "temperature" in str(refused_by_the_api(base | thinking | {"temperature": 0}))
    assert refused_by_the_api(base | thinking | {"temperature": 1}) is None


def _read_stream(chunks: list[bytes]) -> tuple[ModelResponse, list[str]]:
    reader = AnthropicStreamReader("anthropic", "recorded")
    decoder = SSEDecoder()
    names: list[str] = []
    end = None
    for event in itertools.chain.from_iterable(
        [*(decoder.feed(c) for c in chunks), decoder.flush()]
    ):
        payload = json.loads(event.data)
        names.append(str(payload["type"]))
        reader.feed(payload)
    for item in reader.finish():
        if isinstance(item, ResponseEndEvent):
            end = item.response
    assert end is not None
    return end, names


def _grammar(names: list[str]) -> list[str]:
    # Pings may come anywhere and deltas are as many as the chunking makes.
    kept = [n for n in names if n != "ping"]
    return [n for n, _ in itertools.groupby(kept)]


def _same(got: ModelResponse, want: ModelResponse) -> None:
    assert got.message.parts == want.message.parts
    assert (got.finish_reason, got.raw_finish_reason) == (
        want.finish_reason,
        want.raw_finish_reason,
    )
    assert got.usage == want.usage


@pytest.mark.parametrize(
    ("case", "path"), _exchanges(".sse"), ids=[c for c, _ in _exchanges(".sse")]
)
def test_recorded_streams_are_streamed_again_the_same(case: str, path: Path) -> None:
    recorded, names = _read_stream([path.read_bytes()])
    emulator = AnthropicEmulator(lambda request: "", chunk_size=5)
    frames = [
        _frame(name, payload, i)
        for i, (name, payload) in enumerate(emulator._events(recorded, "recorded"))
    ]
    again, emulated = _read_stream(frames)
    _same(again, recorded)
    assert _grammar(emulated) == _grammar(names)
    # The emulator's tool_use ids are the wire's own (toolu_...), kept as they came.
    assert emulator.call_ids == [c.id for c in recorded.message.tool_calls]


@pytest.mark.parametrize(
    ("case", "path"), _exchanges(".json"), ids=[c for c, _ in _exchanges(".json")]
)
def test_recorded_answers_are_written_again_the_same(case: str, path: Path) -> None:
    body = json.loads(path.read_text())
    recorded = from_anthropic_response(body, provider="anthropic", model_id="recorded")
    emulator = AnthropicEmulator(lambda request: "")
    written = emulator._whole(recorded, str(body["model"]))
    _same(from_anthropic_response(written, provider="anthropic", model_id="recorded"), recorded)
    assert [b["type"] for b in written["content"]] == [b["type"] for b in body["content"]]
    assert set(body["usage"]) - set(written["usage"]) <= {"cache_creation", "server_tool_use"}


def _scenario(script: dict[str, Any], *, stream: bool = False) -> Scenario:
    return Scenario(
        id="errors.overloaded",
        title="a 529 overloaded",
        level="errors",
        request={"messages": [{"role": "user", "parts": [{"type": "text", "text": "Hi."}]}]},
        checks={"raises": "ServerError"},
        live=False,
        stream=stream,
        script=script,
    )


def test_scripts_render_in_anthropic_shapes() -> None:
    calls = {"reply": {"tool_calls": [{"id": "call_Zx81aQ", "name": "f"}, {"name": "g"}]}}
    assert wire_facts(calls, "anthropic").tool_call_ids == ["toolu_Zx81aQ", "toolu_2"]  # type: ignore[union-attr]
    overloaded = render_script({"error": {"status": 529, "message": "Overloaded"}}, "anthropic")
    with pytest.raises(ScriptedHTTPError) as raised:
        overloaded(None)
    assert raised.value.status == 529
    assert raised.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    for usage in ({"input_tokens": 1, "output_tokens": 9, "reasoning_output_tokens": 4}, None):
        with pytest.raises(ScriptNotRenderable, match="Anthropic's wire has no"):
            render_script({"reply": {"text": "x", "usage": usage}}, "anthropic")


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_529_overloaded_raises_server_error(stream: bool, tmp_path: Path) -> None:
    from agentkit.conformance import EmulatedHarness, run_scenarios
    from agentkit.conformance._modes import AdapterBuilder

    builder = AdapterBuilder.for_model("anthropic:claude-sonnet-4-5")
    scenario = _scenario({"error": {"status": 529, "message": "Overloaded"}}, stream=stream)
    with EmulatedHarness("anthropic", builder.at_root("anthropic")) as harness:
        [result] = await run_scenarios(harness, [scenario], warm=False)
    assert result.verdict == "pass", result.problems


def test_the_anthropic_wire_is_one_entry() -> None:
    wire = WIRES["anthropic"]
    assert (wire.base_path, wire.call_id_prefix, wire.provider) == ("", "toolu_", "anthropic")
    assert wire.emulator is AnthropicEmulator
