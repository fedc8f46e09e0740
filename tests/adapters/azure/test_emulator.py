"""``AzureOpenAIEmulator`` on a loopback port: Azure's shapes on the wire, read by its adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from agentkit_adapters.azure import create_azure_adapter, create_azure_responses_adapter

from agentkit import Message, ModelRequest, ResponseEndEvent
from agentkit.exceptions import AuthenticationError, ModelNotFoundError
from agentkit.testing import AzureOpenAIEmulator, serve_asgi

pytestmark = pytest.mark.anyio

REQUEST = ModelRequest(messages=[Message.user("hi")])
LOW = {"violence": {"filtered": False, "severity": "low"}}


def _hello(request: ModelRequest) -> str:
    return "Hello there"


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[AzureOpenAIEmulator, str]]:
    app = AzureOpenAIEmulator(
        _hello, api_key="azure-key", token="entra-token", deployments={"prod"}, filter_results=LOW
    )
    with serve_asgi(app) as url:
        yield app, url


@pytest.mark.parametrize("version", [None, "2024-10-21"])
@pytest.mark.parametrize("stream", [False, True])
async def test_chat_on_both_paths_keeps_the_annotation(
    emulator: tuple[AzureOpenAIEmulator, str], version: str | None, stream: bool
) -> None:
    app, url = emulator
    adapter = create_azure_adapter("prod", endpoint=url, api_key="azure-key", api_version=version)
    if stream:
        end = [e async for e in adapter.stream(REQUEST)][-1]
        assert isinstance(end, ResponseEndEvent)
        response = end.response
    else:
        response = await adapter.generate(REQUEST)
    assert response.message.text == "Hello there"
    assert [w.message for w in response.warnings] == [
        "Azure's content filter annotated but did not block the answer: violence (severity low)"
    ]
    path = (
        "/openai/v1/chat/completions"
        if version is None
        else ("/openai/deployments/prod/chat/completions")
    )
    assert app.calls[-1] == (path, version, "prod" if version else None)


async def test_the_stream_opens_with_azure_s_filter_only_chunk(
    emulator: tuple[AzureOpenAIEmulator, str],
) -> None:
    _, url = emulator
    async with httpx2.AsyncClient() as client:
        answer = await client.post(
            f"{url}/openai/v1/chat/completions",
            headers={"api-key": "azure-key"},
            json={"model": "prod", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        )
    chunks: list[dict[str, Any]] = [
        json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: {")
    ]
    first, role = chunks[0], chunks[1]
    assert (first["choices"], first["id"], first["model"]) == ([], "", "")
    assert first["prompt_filter_results"][0]["prompt_index"] == 0
    assert role["choices"][0]["content_filter_results"] == {}
    assert chunks[2]["choices"][0]["content_filter_results"] == LOW
    assert answer.text.rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize("version", [None, "2025-03-01-preview"])
async def test_responses_with_an_entra_token(
    emulator: tuple[AzureOpenAIEmulator, str], version: str | None
) -> None:
    app, url = emulator
    adapter = create_azure_responses_adapter(
        "prod", endpoint=url, token_provider=lambda: "entra-token", api_version=version
    )
    end = [e async for e in adapter.stream(REQUEST)][-1]
    assert isinstance(end, ResponseEndEvent)
    assert end.response.message.text == "Hello there"
    assert len(end.response.warnings) == 1
    path = "/openai/v1/responses" if version is None else "/openai/responses"
    assert app.calls[-1] == (path, version, None)


async def test_a_wrong_key_and_an_unknown_deployment(
    emulator: tuple[AzureOpenAIEmulator, str],
) -> None:
    _, url = emulator
    wrong = create_azure_adapter("prod", endpoint=url, api_key="nope")
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_API_KEY"):
        await wrong.generate(REQUEST)
    missing = create_azure_adapter("staging", endpoint=url, api_key="azure-key")
    with pytest.raises(ModelNotFoundError, match="deployment 'staging' not found"):
        await missing.generate(REQUEST)
    dated = create_azure_adapter("staging", endpoint=url, api_key="k", api_version="2024-10-21")
    with pytest.raises(AuthenticationError):
        await dated.generate(REQUEST)
