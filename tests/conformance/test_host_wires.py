"""The kit's host wires: Vertex AI, Azure OpenAI and the Open Responses hosts.

Each run is checked at both ends: the host's wrapper saw the host's URL
shapes and credentials (so the adapter really was reached through them), and
an adapter that speaks the wire's protocol at the wrong address, or breaks a
stream behind the host, fails the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentkit import ModelAdapter
from agentkit.conformance import ConformanceReport, build_harness, check_adapter, entered
from agentkit.conformance import run_harness as run_kit
from agentkit.conformance._hosts import PLACEHOLDER_KEY, VERTEX_TOKEN
from agentkit.conformance._wires import cassette_folder, routed_wire
from agentkit.exceptions import UserError

from . import broken

CASSETTES = Path(__file__).parent / "cassettes"
EXPECTED = Path(__file__).parent / "expected_failures"
SOME = ["core.plain_answer", "streaming.text", "tools.single_call"]


async def _run(
    model: str,
    *,
    wire: str | None = None,
    factory: Callable[..., ModelAdapter] | None = None,
    scenarios: list[str] = SOME,
) -> tuple[Any, ConformanceReport]:
    harness, target = build_harness(model, "emulated", wire=wire, factory=factory)
    with entered(harness):
        report = await run_kit(harness, target=target, scenarios=scenarios)
    return harness, report


def _failed(report: ConformanceReport) -> dict[str, list[str]]:
    return {r.scenario.id: r.problems for r in report.results if r.verdict == "fail"}


def test_providers_and_models_route_to_their_hosts_wires() -> None:
    assert routed_wire("vertex", "gemini-2.5-flash") == "vertex-gemini"
    assert routed_wire("vertex", "claude-sonnet-4-5@20250929") == "vertex-claude"
    assert routed_wire("vertex", "anthropic/claude-opus-4-1") == "vertex-claude"
    assert routed_wire("azure", "gpt-4.1-mini") == "azure-chat"
    assert routed_wire("azure-responses", "gpt-4.1-mini") == "azure-v1-responses"
    assert routed_wire("deepseek-responses", "deepseek-v4-flash") == "deepseek-responses"
    assert routed_wire("openai", "gpt-4.1-mini") is None  # its factory's wire, as before


def test_a_host_wire_has_a_cassette_folder_of_its_own() -> None:
    assert cassette_folder("vertex", "vertex-claude") == "vertex.vertex-claude"
    assert cassette_folder("vertex", "vertex-gemini") == "vertex.vertex-gemini"
    assert cassette_folder("openresponses", "openresponses") == "openresponses"
    assert cassette_folder("openai", "openai-chat") == "openai"  # existing folders unchanged
    assert cassette_folder("foreign", None) == "foreign"


@pytest.mark.anyio
async def test_vertex_gemini_runs_on_the_project_url_with_a_bearer_token() -> None:
    harness, report = await _run("vertex:gemini-2.5-flash")
    assert report.ok, _failed(report)
    assert harness.protocol == "vertex-gemini"
    vertex = harness.served
    shape = re.compile(
        r"/v1beta1/projects/agentkit-kit/locations/us-central1/publishers/google/models/"
        r"gemini-2\.5-flash:(generateContent|streamGenerateContent\?alt=sse)"
    )
    assert vertex.paths
    assert all(shape.fullmatch(path) for path in vertex.paths), vertex.paths
    assert {path.split(":")[-1] for path in vertex.paths} == {
        "generateContent",
        "streamGenerateContent?alt=sse",
    }
    assert {h.get("authorization") for h in vertex.headers} == {f"Bearer {VERTEX_TOKEN}"}


@pytest.mark.anyio
async def test_vertex_express_mode_sends_the_key_and_names_no_project() -> None:
    harness, report = await _run("vertex:gemini-2.5-flash", wire="vertex-express")
    assert report.ok, _failed(report)
    vertex = harness.served
    assert all(p.startswith("/v1beta1/publishers/google/models/") for p in vertex.paths)
    assert all("authorization" not in h for h in vertex.headers)
    assert all(
        h.get("x-goog-api-key") == PLACEHOLDER_KEY or f"key={PLACEHOLDER_KEY}" in p
        for h, p in zip(vertex.headers, vertex.paths, strict=True)
    )


@pytest.mark.anyio
async def test_claude_on_vertex_goes_through_raw_predict() -> None:
    harness, report = await _run("vertex:claude-sonnet-4-5@20250929")
    assert report.ok, _failed(report)
    assert harness.protocol == "vertex-claude"
    vertex = harness.served
    root = "/v1/projects/agentkit-kit/locations/us-central1/publishers/anthropic/models/"
    assert {p.removeprefix(root) for p in vertex.paths} == {
        "claude-sonnet-4-5@20250929:rawPredict",
        "claude-sonnet-4-5@20250929:streamRawPredict",
    }
    assert all(body["anthropic_version"] == "vertex-2023-10-16" for body in vertex.requests)
    assert all("model" not in body for body in vertex.requests)


def _gemini_api_factory(model_id: str, **options: Any) -> ModelAdapter:
    """A Gemini API adapter passed off as Vertex's: right protocol, wrong address and auth."""
    from agentkit_adapters.gemini import create_gemini_adapter

    return create_gemini_adapter(model_id, base_url=options["base_url"], api_key="k-planted")


@pytest.mark.anyio
async def test_the_gemini_api_behind_the_vertex_wire_is_caught() -> None:
    _, report = await _run("vertex:gemini-2.5-flash", factory=_gemini_api_factory)
    failed = _failed(report)
    assert set(failed) == set(SOME)  # every call hit the Vertex host's 404
    assert not report.ok


@pytest.mark.anyio
async def test_a_broken_stream_behind_the_vertex_wire_is_caught() -> None:
    from agentkit_adapters.vertex import create_vertex_adapter

    def factory(model_id: str, **options: Any) -> ModelAdapter:
        return broken.LosesLastTextDelta(create_vertex_adapter(model_id, **options))

    _, report = await _run("vertex:gemini-2.5-flash", factory=factory)
    assert "streaming.text" in _failed(report)
    assert "core.plain_answer" not in _failed(report)


def test_a_factory_without_the_options_a_host_wire_needs_is_told_so() -> None:
    from agentkit_adapters.gemini import create_gemini_adapter

    harness, _ = build_harness(
        "vertex:gemini-2.5-flash", "emulated", wire="vertex-gemini", factory=create_gemini_adapter
    )
    with pytest.raises(UserError, match="credentials, location, project"), entered(harness):
        pass


@pytest.mark.anyio
async def test_azure_runs_on_the_deployments_api_with_its_api_version() -> None:
    harness, report = await _run("azure:gpt-4.1-mini")
    assert report.ok, _failed(report)
    assert harness.protocol == "azure-chat"
    path = "/openai/deployments/gpt-4.1-mini/chat/completions"
    assert set(harness.served.calls) == {(path, "2024-10-21", "gpt-4.1-mini")}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "wire", "path"),
    [
        ("azure:gpt-4.1-mini", "azure-v1-chat", "/openai/v1/chat/completions"),
        ("azure-responses:gpt-4.1-mini", None, "/openai/v1/responses"),
    ],
)
async def test_azure_runs_on_the_v1_api(model: str, wire: str | None, path: str) -> None:
    harness, report = await _run(model, wire=wire)
    assert report.ok, _failed(report)
    assert set(harness.served.calls) == {(path, None, None)}


@pytest.mark.anyio
async def test_openais_chat_adapter_behind_the_azure_wire_is_caught() -> None:
    from agentkit_adapters.openai import create_chat_adapter

    def factory(model_id: str, *, base_url: str, api_key: str, api_version: str) -> ModelAdapter:
        return create_chat_adapter(model_id, base_url=base_url, api_key=api_key)

    harness, report = await _run("azure:gpt-4.1-mini", factory=factory)
    assert set(_failed(report)) == set(SOME)
    assert {call[0] for call in harness.served.calls} == {"/chat/completions"}


@pytest.mark.anyio
async def test_deepseeks_host_serves_responses_without_v1_only() -> None:
    from agentkit_adapters.openresponses import responses_preset_factory

    harness, report = await _run("deepseek-responses:deepseek-v4-flash")
    assert report.ok, _failed(report)
    assert harness.emulator.requests  # the answers came from the emulator behind the host
    preset = responses_preset_factory("deepseek-responses")

    def with_v1(model_id: str, *, base_url: str, api_key: str) -> ModelAdapter:
        return preset(model_id, base_url=base_url + "/v1", api_key=api_key)

    _, report = await _run("deepseek-responses:deepseek-v4-flash", factory=with_v1)
    assert set(_failed(report)) == set(SOME)


def _chunks(folder: Path, scenario: str) -> tuple[list[Any], str]:
    cassette = json.loads((folder / f"{scenario}.json").read_text())
    response = cassette["interactions"][-1]["response"]
    return response["headers"], "".join(response["body"]["text"])


@pytest.mark.anyio
async def test_each_open_responses_host_reshapes_the_answers_as_recorded(tmp_path: Path) -> None:
    only = ["streaming.text", "core.plain_answer", "errors.bad_request", "core.usage_reasoning"]
    for model in (
        "openresponses:gpt-oss-120b",
        "openrouter-responses:openai/gpt-4.1-mini",
        "deepseek-responses:deepseek-v4-flash",
        "bedrock-responses:openai.gpt-oss-120b",
    ):
        report = await check_adapter(
            model, mode="record", record_from="emulated", cassettes=tmp_path, scenarios=only
        )
        assert report.ok, _failed(report)
    _, stream = _chunks(tmp_path / "openresponses", "streaming.text")
    assert stream.startswith(": keep-alive\n\ndata: {")  # a comment, then data before event
    assert "\nevent: response.created\n\n" in stream
    assert stream.endswith("event: response.completed\n\ndata: [DONE]\n\n")
    headers, _ = _chunks(tmp_path / "openresponses", "errors.bad_request")
    assert ["content-type", "application/octet-stream"] in headers
    _, answer = _chunks(tmp_path / "openrouter-responses", "core.plain_answer")
    body = json.loads(answer)
    assert body["id"].startswith("gen-")
    assert body["output"][0]["id"].startswith("msg_tmp_")
    assert {"cost", "cost_details", "is_byok", "cache_write_tokens"} <= set(body["usage"])
    _, answer = _chunks(tmp_path / "deepseek-responses", "core.plain_answer")
    body = json.loads(answer)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", body["id"])
    assert body["output"][-1]["phase"] == "final_answer"
    _, answer = _chunks(tmp_path / "bedrock-responses", "core.plain_answer")
    assert isinstance(json.loads(answer)["created_at"], float)
    # Bedrock's wire carries no reasoning count: that scenario is n/a, saying why.
    assert not (tmp_path / "bedrock-responses" / "core.usage_reasoning.json").exists()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "wire", "expected"),
    [
        ("vertex:gemini-2.5-flash", None, None),
        ("vertex:claude-sonnet-4-5@20250929", None, "vertex-claude.yaml"),
        ("azure:gpt-4.1-mini", None, None),
        ("azure-responses:gpt-4.1-mini", None, None),
        ("openresponses:gpt-oss-120b", None, None),
    ],
)
async def test_the_committed_host_cassettes_replay(  # the rest: .ci/conformance.sh
    model: str, wire: str | None, expected: str | None
) -> None:
    report = await check_adapter(
        model,
        mode="replay",
        cassettes=CASSETTES,
        wire=wire,
        expected_failures=EXPECTED / expected if expected else None,
    )
    assert report.ok, report.summary()
    passed = [r for r in report.results if r.verdict == "pass"]
    assert len(passed) >= 40, report.summary()
