"""Record and replay: cassettes of a run's HTTP, recorded and replayed at the loopback boundary."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from agentkit.conformance import check_adapter
from agentkit.conformance._command import main
from agentkit.conformance._loopback import CassetteServer, RecordingProxy
from agentkit.exceptions import UserError
from agentkit.testing import serve_asgi

CASSETTES = Path(__file__).parent / "cassettes"
MODEL = "openai:gpt-4.1-mini"


def _verdicts(report: object) -> dict[str, str]:
    return {r.scenario.id: r.verdict for r in report.results}  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_a_recorded_emulated_run_replays_to_the_same_verdicts(tmp_path: Path) -> None:
    recorded = await check_adapter(MODEL, mode="record", record_from="emulated", cassettes=tmp_path)
    assert recorded.ok, recorded.summary()
    files = sorted((tmp_path / "openai").glob("*.json"))
    # A refused connection leaves no exchange to record: it is n/a in both runs.
    assert len(files) == len([r for r in recorded.results if r.verdict != "n/a"])
    # No emulator runs now: the adapter points at a closed port and every answer
    # comes from the cassettes.
    replayed = await check_adapter(MODEL, mode="replay", cassettes=tmp_path)
    assert replayed.mode == "replay"
    assert replayed.ok, replayed.summary()
    assert _verdicts(replayed) == _verdicts(recorded)
    assert "pass" in _verdicts(replayed).values()


@pytest.mark.anyio
async def test_the_committed_openai_cassettes_replay() -> None:
    report = await check_adapter(MODEL, mode="replay", cassettes=CASSETTES)
    assert report.ok, report.summary()
    verdicts = _verdicts(report)
    recorded = {p.stem for p in (CASSETTES / "openai").glob("*.json")}
    assert recorded, "no committed cassettes"
    for scenario_id, verdict in verdicts.items():
        # Levels without cassettes are n/a; every recorded scenario passes.
        assert verdict == ("pass" if scenario_id in recorded else "n/a"), scenario_id
    for path in (CASSETTES / "openai").glob("*.json"):
        text = path.read_text("utf-8").lower()
        assert "authorization" not in text
        assert "bearer" not in text


@pytest.mark.anyio
async def test_a_request_that_differs_from_the_cassette_fails_clearly() -> None:
    # Another model id changes every request body.
    report = await check_adapter("openai:gpt-4o", mode="replay", cassettes=CASSETTES)
    assert not report.ok
    plain = next(r for r in report.results if r.scenario.id == "core.plain_answer")
    assert plain.verdict == "fail"
    assert any("different body than recorded" in p for p in plain.problems), plain.problems


@pytest.mark.anyio
async def test_replay_needs_cassettes(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no cassettes"):
        await check_adapter(MODEL, mode="replay", cassettes=tmp_path)
    with pytest.raises(UserError, match="--cassettes"):
        await check_adapter(MODEL, mode="replay")


async def _echo(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    # An upstream that echoes the key it was sent, in a header and in the body.
    secret = dict(scope["headers"])[b"authorization"].decode()[7:]
    headers = [(b"set-cookie", b"session=1"), (b"x-echo", secret.encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
    body = f'{{"echo": "{secret}"}}'.encode()
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


@pytest.mark.anyio
async def test_recording_scrubs_keys_everywhere() -> None:
    secret = "sk-test-0123456789abcdef"
    with serve_asgi(_echo) as upstream:
        proxy = RecordingProxy(upstream)
        with serve_asgi(proxy) as url:
            async with httpx2.AsyncClient() as client:
                response = await client.post(
                    f"{url}/v1/x?key={secret}&alt=sse",
                    headers={"Authorization": f"Bearer {secret}", "x-goog-api-key": secret},
                    json={"note": f"my key is {secret}"},
                )
            assert response.json() == {"echo": secret}  # the caller sees the real answer
    [item] = proxy.take()
    text = json.dumps(item)
    assert secret not in text
    assert "set-cookie" not in text
    assert "authorization" not in text
    assert item["request"]["url"] == "/v1/x?key=<redacted>&alt=sse"
    assert item["request"]["body"] == {"json": {"note": "my key is <redacted>"}}
    assert item["response"]["body"] == {"text": ['{"echo": "<redacted>"}']}
    assert ["x-echo", "<redacted>"] in item["response"]["headers"]
    assert item["response"]["complete"] is True


@pytest.mark.anyio
async def test_replay_serves_streams_in_their_chunks_and_rejects_extra_requests() -> None:
    server = CassetteServer()
    server.load(
        [
            {
                "request": {"method": "GET", "url": "/s", "body": {"text": ""}},
                "response": {
                    "status": 200,
                    "headers": [["content-type", "text/plain"]],
                    "body": {"text": ["a", "b", "c"]},
                    "complete": True,
                },
            }
        ]
    )
    with serve_asgi(server) as url:
        async with httpx2.AsyncClient() as client:
            async with client.stream("GET", f"{url}/s") as response:
                assert [c async for c in response.aiter_bytes()] == [b"a", b"b", b"c"]
            extra = await client.get(f"{url}/s")
    assert extra.status_code == 500
    assert "request #2 (GET /s) was not recorded" in extra.text
    assert server.problems == [
        "cassette: request #2 (GET /s) was not recorded (the cassette has 1)"
    ]
    assert server.requests == 2
    assert server.leftover() == 0


def test_the_command_line_replays(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([MODEL, "--mode", "replay", "--cassettes", str(CASSETTES), "--level", "core"])
    assert code == 0
    assert "(replay)" in capsys.readouterr().err


@pytest.mark.anyio
@pytest.mark.parametrize(
    "model",
    [
        "openai-responses:gpt-4.1-mini",
        "gemini:gemini-2.5-flash",
        "ollama:llama3.2",
        "vllm:meta-llama/Llama-3.1-8B-Instruct",
        "llamacpp-server:qwen2.5",
        "ollama-openai:llama3.2",
        "anthropic:claude-sonnet-4-5",
    ],
)
async def test_every_adapters_committed_cassettes_replay(model: str) -> None:
    provider = model.split(":", 1)[0]
    expected = Path(__file__).parent / "expected_failures" / f"{provider}.yaml"
    report = await check_adapter(
        model,
        mode="replay",
        cassettes=CASSETTES,
        expected_failures=expected if expected.exists() else None,
    )
    assert report.ok, report.summary()
    recorded = {p.stem for p in (CASSETTES / provider).glob("*.json")}
    assert len(recorded) >= 30  # every level was recorded
    passed = {sid for sid, verdict in _verdicts(report).items() if verdict == "pass"}
    assert len(passed) >= 30
