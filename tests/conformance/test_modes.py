"""Transport-agnostic modes: emulated, record and replay reach any adapter through base_url.

The adapter under test here (``tests/conformance/foreign.py``) sends its HTTP
with urllib in a worker thread, so nothing but its factory's ``base_url`` and
``api_key`` options can point it anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agentkit import _registry
from agentkit._cli import main
from agentkit.conformance import check_adapter
from agentkit.exceptions import HarnessError, UserError

from . import foreign

LEVELS = ["core", "streaming"]


@pytest.fixture(autouse=True)
def _foreign_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_registry._registered, "foreign", foreign.create_foreign_adapter)
    monkeypatch.setitem(_registry._registered, "unwired", foreign.create_unwired_adapter)


@pytest.fixture
def _environment_is_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kit configures adapters through options: writing os.environ is a bug.
    # (pytest itself keeps PYTEST_CURRENT_TEST up to date; that one may pass.)
    environ = type(os.environ)
    real_set, real_del = environ.__setitem__, environ.__delitem__

    def refuse_set(self: os._Environ[str], key: str, value: str) -> None:
        if key != "PYTEST_CURRENT_TEST":
            raise AssertionError(f"the kit wrote os.environ[{key!r}]")
        real_set(self, key, value)

    def refuse_del(self: os._Environ[str], key: str) -> None:
        if key != "PYTEST_CURRENT_TEST":
            raise AssertionError(f"the kit deleted os.environ[{key!r}]")
        real_del(self, key)

    monkeypatch.setattr(environ, "__setitem__", refuse_set)
    monkeypatch.setattr(environ, "__delitem__", refuse_del)


def _verdicts(report: object) -> dict[str, str]:
    return {r.scenario.id: r.verdict for r in report.results}  # type: ignore[attr-defined]


@pytest.mark.anyio
@pytest.mark.usefixtures("_environment_is_read_only")
async def test_emulated_mode_reaches_an_adapter_with_its_own_http_stack() -> None:
    report = await check_adapter("foreign:m1", mode="emulated", levels=LEVELS)
    assert report.ok, report.summary()
    verdicts = _verdicts(report)
    assert verdicts["core.plain_answer_exact"] == "pass"
    assert verdicts["streaming.text_exact"] == "pass"
    # The emulator saw the hang-up through urllib's socket.
    assert verdicts["streaming.cancel"] == "pass"


@pytest.mark.anyio
@pytest.mark.usefixtures("_environment_is_read_only")
async def test_our_own_adapters_are_configured_by_options_too() -> None:
    gaps = {"core.finish_content_filter": "Ollama has no content filter"}
    for model in ("openai:gpt-4.1-mini", "gemini:gemini-2.5-flash", "ollama:llama3.2"):
        expected = gaps if model.startswith("ollama") else None
        report = await check_adapter(
            model, mode="emulated", levels=["core"], expected_failures=expected
        )
        assert report.ok, report.summary()


def test_the_command_line_takes_the_wire_or_the_factorys_declaration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["conformance", "foreign:m1", "--level", "core"]) == 0
    assert main(["conformance", "unwired:m1", "--wire", "openai-chat", "--level", "core"]) == 0
    capsys.readouterr()
    # Neither a declaration nor --wire: a user error that says what to do.
    assert main(["conformance", "unwired:m1", "--level", "core"]) == 2
    err = capsys.readouterr().err
    assert "--wire" in err
    assert "openai-chat" in err


@pytest.mark.anyio
async def test_a_wrong_wire_is_not_silently_accepted() -> None:
    with pytest.raises(UserError, match="unknown wire protocol 'grpc'"):
        await check_adapter("foreign:m1", mode="emulated", wire="grpc")


@pytest.mark.anyio
@pytest.mark.usefixtures("_environment_is_read_only")
async def test_record_then_replay_an_adapter_with_its_own_http_stack(tmp_path: Path) -> None:
    recorded = await check_adapter(
        "foreign:m1", mode="record", record_from="emulated", cassettes=tmp_path, levels=LEVELS
    )
    assert recorded.ok, recorded.summary()
    files = sorted((tmp_path / "foreign").glob("*.json"))
    assert len(files) == len(recorded.results)
    plain = json.loads((tmp_path / "foreign" / "core.plain_answer.json").read_text())
    [exchange] = plain["interactions"]
    assert exchange["request"]["method"] == "POST"
    assert exchange["request"]["url"] == "/v1/chat/completions"
    assert exchange["request"]["body"]["json"]["model"] == "m1"
    assert exchange["response"]["status"] == 200
    # The placeholder key the kit gave the adapter is never written.
    assert "placeholder" not in json.dumps(plain)
    stream = json.loads((tmp_path / "foreign" / "streaming.text.json").read_text())
    assert len(stream["interactions"][0]["response"]["body"]["text"]) > 1  # chunks kept

    replayed = await check_adapter("foreign:m1", mode="replay", cassettes=tmp_path, levels=LEVELS)
    assert replayed.mode == "replay"
    assert replayed.ok, replayed.summary()
    assert _verdicts(replayed) == _verdicts(recorded)
    assert list(_verdicts(replayed).values()).count("pass") >= 10


@pytest.mark.anyio
async def test_a_replay_the_adapter_does_not_consume_fails(tmp_path: Path) -> None:
    await check_adapter(
        "foreign:m1", mode="record", record_from="emulated", cassettes=tmp_path, levels=["core"]
    )

    def ignores_base_url(model_id: str, *, base_url: str | None = None, api_key: str | None = None):  # type: ignore[no-untyped-def]
        return foreign.create_foreign_adapter(model_id, api_key=api_key)  # a refused port

    report = await check_adapter(
        "foreign:m1", mode="replay", cassettes=tmp_path, levels=["core"], factory=ignores_base_url
    )
    plain = next(r for r in report.results if r.scenario.id == "core.plain_answer")
    assert plain.verdict == "fail"
    assert any("recorded request(s) were never made" in p for p in plain.problems), plain.problems


@pytest.mark.anyio
async def test_a_replayed_request_that_differs_names_the_difference(tmp_path: Path) -> None:
    await check_adapter(
        "foreign:m1", mode="record", record_from="emulated", cassettes=tmp_path, levels=["core"]
    )
    report = await check_adapter(
        "foreign:m2",
        mode="replay",
        cassettes=tmp_path,
        levels=["core"],
        factory=foreign.create_foreign_adapter,
    )
    plain = next(r for r in report.results if r.scenario.id == "core.plain_answer")
    assert plain.verdict == "fail"
    [difference] = [p for p in plain.problems if p.startswith("cassette: request #1")]
    assert "different body than recorded" in difference
    assert '"model": "m2"' in difference
    assert '"model": "m1"' in difference


@pytest.mark.anyio
async def test_a_recording_that_records_nothing_is_an_error(tmp_path: Path) -> None:
    def ignores_base_url(model_id: str, *, base_url: str | None = None, api_key: str | None = None):  # type: ignore[no-untyped-def]
        return foreign.create_foreign_adapter(model_id, api_key=api_key)

    with pytest.raises(HarnessError, match="recorded no HTTP exchange"):
        await check_adapter(
            "foreign:m1",
            mode="record",
            record_from="emulated",
            cassettes=tmp_path,
            levels=["core"],
            factory=ignores_base_url,
            wire="openai-chat",
        )


def _plain_answer_messages() -> object:
    from agentkit.conformance import load_scenarios

    [scenario] = [s for s in load_scenarios() if s.id == "core.plain_answer"]
    return scenario.model_request().messages


@pytest.mark.anyio
async def test_a_live_recording_goes_through_a_loopback_proxy_to_the_upstream(
    tmp_path: Path,
) -> None:
    from agentkit.conformance._script import render_script
    from agentkit.testing import OpenAIChatEmulator, serve_asgi

    # A fixed-answer server stands in for the real upstream of a live run.
    script = {"reply": {"text": "Hello!", "usage": {"input_tokens": 3, "output_tokens": 1}}}
    upstream = OpenAIChatEmulator(render_script(script, "openai-chat"))
    with serve_asgi(upstream) as url:
        report = await check_adapter(
            "foreign:m1",
            mode="record",
            record_from="live",
            upstream=f"{url}/v1",
            cassettes=tmp_path,
            scenarios=["core.plain_answer"],
        )
    assert report.ok, report.summary()
    # The kit's unjudged warm-up (one exchange, one stream) went first; only the
    # scenario's own exchange is in its cassette.
    assert len(upstream.calls) == 3
    assert upstream.calls[-1].messages == _plain_answer_messages()
    saved = json.loads((tmp_path / "foreign" / "core.plain_answer.json").read_text())
    assert len(saved["interactions"]) == 1
    assert saved["recorded_mode"] == "live"
    assert saved["base_path"] == "/v1"
    assert saved["interactions"][0]["request"]["url"] == "/v1/chat/completions"
    # Replayed offline, judged by the live rules it was recorded under.
    replayed = await check_adapter(
        "foreign:m1", mode="replay", cassettes=tmp_path, scenarios=["core.plain_answer"]
    )
    assert _verdicts(replayed) == {"core.plain_answer": "pass"}


@pytest.mark.anyio
async def test_a_live_recording_without_a_known_upstream_asks_for_one(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--upstream"):
        # Ollama's adapter names no base URL the kit could read its default from.
        await check_adapter("ollama:llama3.2", mode="record", cassettes=tmp_path, levels=["core"])


@pytest.mark.anyio
async def test_a_factory_without_an_api_key_option_is_built_with_base_url_alone() -> None:
    def keyless(model_id: str, *, base_url: str | None = None):  # type: ignore[no-untyped-def]
        return foreign.create_foreign_adapter(model_id, base_url=base_url)

    report = await check_adapter(
        "foreign:m1", factory=keyless, wire="openai-chat", scenarios=["core.plain_answer"]
    )
    assert _verdicts(report) == {"core.plain_answer": "pass"}

    def urlless(model_id: str, *, api_key: str | None = None):  # type: ignore[no-untyped-def]
        return foreign.create_foreign_adapter(model_id, api_key=api_key)

    with pytest.raises(UserError, match="does not take base_url"):
        await check_adapter("foreign:m1", factory=urlless, wire="openai-chat")


def test_a_live_recording_defaults_to_the_adapters_own_base_url() -> None:
    from agentkit.conformance import AdapterBuilder

    builder = AdapterBuilder.for_model("foreign:m1")
    assert builder.default_upstream() == foreign.DEFAULT_BASE_URL
