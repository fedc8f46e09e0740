"""``create_vertex_adapter``: URLs per location, options over variables, express mode, blocks."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from agentkit_adapters.vertex import (
    SERVICE_TIER_HEADER,
    VertexClaudeAdapter,
    VertexGeminiAdapter,
    create_vertex_adapter,
    split_publisher,
    vertex_host,
)
from google.oauth2.credentials import Credentials

from agentkit import Message, ModelRequest, Usage
from agentkit._cost import price_usage
from agentkit._registry import resolve_model, wire_protocol
from agentkit.exceptions import ContentFilterError, UserError

pytestmark = pytest.mark.anyio

CREDENTIALS = Credentials(token="ya29.test-planted")
GEMINI = "publishers/google/models/gemini-2.5-flash"


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
        (None, "https://aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
    ],
)
def test_hosts_per_location(location: str | None, host: str) -> None:
    assert vertex_host(location) == host


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("gemini-2.5-flash", ("google", "gemini-2.5-flash")),
        ("claude-sonnet-4-5@20250929", ("anthropic", "claude-sonnet-4-5@20250929")),
        ("anthropic/claude-opus-4-1", ("anthropic", "claude-opus-4-1")),
        ("publishers/google/models/gemma-3-27b-it", ("google", "gemma-3-27b-it")),
    ],
)
def test_the_publisher_comes_from_the_model_id(model_id: str, expected: tuple[str, str]) -> None:
    assert split_publisher(model_id) == expected


async def test_options_make_a_regional_url() -> None:
    adapter = create_vertex_adapter(
        "gemini-2.5-flash", project="p1", location="us-east5", credentials=CREDENTIALS
    )
    assert isinstance(adapter, VertexGeminiAdapter)
    root = "https://us-east5-aiplatform.googleapis.com/v1beta1/projects/p1/locations/us-east5"
    assert await adapter.urls() == (
        f"{root}/{GEMINI}:generateContent",
        f"{root}/{GEMINI}:streamGenerateContent?alt=sse",
    )


async def test_the_variables_are_defaults_and_options_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "asia-northeast1")
    adapter = create_vertex_adapter("gemini-2.5-flash", credentials=CREDENTIALS)
    whole, _ = await adapter.urls()
    assert whole.startswith(
        "https://asia-northeast1-aiplatform.googleapis.com/v1beta1/projects/env-project/"
        "locations/asia-northeast1/"
    )
    adapter = create_vertex_adapter(
        "gemini-2.5-flash", project="p2", location="global", credentials=CREDENTIALS
    )
    whole, _ = await adapter.urls()
    assert whole.startswith(
        "https://aiplatform.googleapis.com/v1beta1/projects/p2/locations/global/"
    )


async def test_claude_goes_to_raw_predict_on_v1_in_the_global_location_by_default() -> None:
    adapter = create_vertex_adapter(
        "claude-sonnet-4-5@20250929", project="p3", credentials=CREDENTIALS
    )
    assert isinstance(adapter, VertexClaudeAdapter)
    model = "https://aiplatform.googleapis.com/v1/projects/p3/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929"
    assert await adapter.urls() == (f"{model}:rawPredict", f"{model}:streamRawPredict")
    assert adapter.capabilities.structured_output >= {"native"}  # Claude 4.5's profile


async def test_a_base_url_replaces_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", "http://127.0.0.1:7")
    adapter = create_vertex_adapter("gemini-2.5-flash", project="p", credentials=CREDENTIALS)
    whole, _ = await adapter.urls()
    assert (
        whole == f"http://127.0.0.1:7/v1beta1/projects/p/locations/global/{GEMINI}:generateContent"
    )
    adapter = create_vertex_adapter(
        "gemini-2.5-flash", project="p", credentials=CREDENTIALS, base_url="http://proxy:8/v1"
    )
    whole, _ = await adapter.urls()  # a versioned base keeps its version
    assert whole == f"http://proxy:8/v1/projects/p/locations/global/{GEMINI}:generateContent"


async def test_an_api_key_is_express_mode() -> None:
    adapter = create_vertex_adapter("gemini-2.5-flash", api_key="AQ.planted")
    assert adapter.auth is None
    whole, _ = await adapter.urls()
    assert whole == f"https://aiplatform.googleapis.com/v1beta1/{GEMINI}:generateContent"


async def test_the_environment_gives_a_key_only_in_vertex_express_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.env-planted")
    # GOOGLE_API_KEY alone is a Gemini API key: not used, credentials are.
    assert create_vertex_adapter("gemini-2.5-flash", project="p").auth is not None
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "True")
    express = create_vertex_adapter("gemini-2.5-flash")
    assert express.auth is None
    assert express.key_variable == "GOOGLE_API_KEY"
    # A project (option or variable) wins over a key from the environment.
    assert create_vertex_adapter("gemini-2.5-flash", project="p").auth is not None
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    assert create_vertex_adapter("gemini-2.5-flash").auth is not None


@pytest.mark.parametrize(
    ("model_id", "options", "message"),
    [
        ("", {}, "no Vertex AI model named"),
        ("claude-sonnet-4-5", {"api_key": "AQ.k"}, "express-mode API keys serve Gemini"),
        ("gemini-2.5-flash", {"api_key": "AQ.k", "project": "p"}, "takes no project"),
        ("gemini-2.5-flash", {"api_key": "AQ.k", "credentials": CREDENTIALS}, "not both"),
    ],
)
def test_contradictions_are_user_errors(
    model_id: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        create_vertex_adapter(model_id, **options)


def test_the_registry_finds_it_and_it_declares_no_emulated_wire() -> None:
    # The kit's Gemini emulator serves /v1beta/models/...; Vertex's paths differ.
    assert wire_protocol("vertex") is None
    adapter = resolve_model("vertex:gemini-2.5-flash", api_key="AQ.k")
    assert isinstance(adapter, VertexGeminiAdapter)


class Recorder:
    """A MockTransport answering one scripted JSON body, keeping the requests."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.requests: list[httpx2.Request] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(request)
            return httpx2.Response(200, json=body)

        self.client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


HI = ModelRequest(messages=[Message.user("hi")])


async def test_a_service_tier_is_a_header_and_the_token_a_bearer() -> None:
    answer = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "OK"}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {
            "promptTokenCount": 5,
            "candidatesTokenCount": 1,
            "trafficType": "ON_DEMAND_FLEX",
        },
    }
    recorder = Recorder(answer)
    adapter = create_vertex_adapter(
        "gemini-3-flash-preview",
        project="p",
        credentials=CREDENTIALS,
        service_tier="flex",
        http_client=recorder.client,
        headers={"x-extra": "1"},
    )
    response = await adapter.generate(HI)
    assert response.message.text == "OK"
    (sent,) = recorder.requests
    assert sent.headers[SERVICE_TIER_HEADER] == "flex"
    assert sent.headers["authorization"] == "Bearer ya29.test-planted"
    assert sent.headers["x-extra"] == "1"
    assert json.loads(sent.content)["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


@pytest.mark.parametrize("reason", ["MODEL_ARMOR", "JAILBREAK", "PROHIBITED_CONTENT"])
async def test_a_blocked_prompt_is_a_content_filter_error(reason: str) -> None:
    recorder = Recorder(
        {"promptFeedback": {"blockReason": reason, "blockReasonMessage": "blocked by policy"}}
    )
    adapter = create_vertex_adapter(
        "gemini-2.5-flash", project="p", credentials=CREDENTIALS, http_client=recorder.client
    )
    with pytest.raises(ContentFilterError, match=reason) as caught:
        await adapter.generate(HI)
    assert caught.value.code == reason
    assert caught.value.status_code == 200


@pytest.mark.parametrize(
    "reason", ["MODEL_ARMOR", "SAFETY", "SPII", "PROHIBITED_CONTENT", "BLOCKLIST"]
)
async def test_a_blocked_answer_is_a_content_filter_error(reason: str) -> None:
    candidate = {"content": {"role": "model", "parts": []}, "finishReason": reason}
    recorder = Recorder({"candidates": [candidate]})
    adapter = create_vertex_adapter(
        "gemini-2.5-flash", project="p", credentials=CREDENTIALS, http_client=recorder.client
    )
    with pytest.raises(ContentFilterError) as caught:
        await adapter.generate(HI)
    assert caught.value.code == reason
    assert f"finishReason {reason}" in str(caught.value)


@pytest.mark.parametrize(
    "model",
    [
        "vertex:gemini-2.5-flash",
        "vertex:claude-sonnet-4-5@20250929",
        "vertex:claude-3-7-sonnet@20250219",
    ],
)
def test_vertex_models_are_priced_from_genai_prices_google_table(model: str) -> None:
    usage = price_usage(model, Usage(input_tokens=1000, output_tokens=100))
    assert usage.cost_usd is not None
    assert usage.cost_usd > 0


def test_an_unknown_vertex_model_keeps_an_unknown_price() -> None:
    assert price_usage("vertex:no-such-model-planted", Usage(input_tokens=1000)).cost_usd is None
