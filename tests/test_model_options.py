"""Model strings take options (base URL, key, headers, client) by argument, not environment.

Every factory of ours takes ``base_url``/``api_key``/``headers``/``http_client``;
options win over the variables a factory reads as defaults; a factory that
does not take an option is a ``UserError`` naming it, never a ``TypeError``.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agentkit import Agent, run
from agentkit._registry import register_adapter, resolve_model, wire_protocol
from agentkit.exceptions import UserError
from agentkit.testing import FunctionAdapter, OpenAIChatEmulator, serve_asgi

from .weather_script import weather_script

REPO = Path(__file__).resolve().parents[1]
#: Our HTTP providers: a third party's installed adapter (the Relay example, on
#: aiohttp) takes a client of its own stack, not an httpx2 one.
HTTP_PROVIDERS = sorted(
    ep.name
    for ep in entry_points(group="agentkit.adapters")
    if ep.value.startswith("agentkit_adapters.") and ep.name != "llamacpp"
)
#: The wire protocol each of our providers declares for the conformance kit.
WIRES = {
    "openai": "openai-chat",
    "openai-responses": "openai-responses",
    "gemini": "gemini",
    "anthropic": "anthropic",
    "ollama": "ollama",
    "ollama-openai": "openai-chat",
    "llamacpp-server": "openai-chat",
    "vllm": "openai-chat",
    "groq": "openai-chat",
    "together": "openai-chat",
    "openrouter": "openai-chat",
    "deepseek": "openai-chat",
    "xai": "openai-chat",
    "meta-llama": "openai-chat",
}


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
def test_every_http_factory_takes_base_url_and_key_without_any_variable(provider: str) -> None:
    # conftest clears every provider variable: only the options configure the adapter.
    client = httpx2.AsyncClient()
    adapter = resolve_model(
        f"{provider}:some-model",
        base_url="http://127.0.0.1:9/v1",
        api_key="sk-test-option",
        headers={"x-extra": "1"},
        http_client=client,
    )
    assert adapter.model_id == "some-model"
    assert adapter.client is client  # type: ignore[attr-defined]
    assert "127.0.0.1:9" in repr(adapter)


@pytest.mark.parametrize(("provider", "wire"), sorted(WIRES.items()))
def test_factories_declare_their_wire_protocol(provider: str, wire: str) -> None:
    assert wire_protocol(provider) == wire


def test_the_local_model_declares_no_wire_and_refuses_a_url() -> None:
    assert wire_protocol("llamacpp") is None
    with pytest.raises(UserError, match="takes no base_url"):
        resolve_model("llamacpp:smollm2-135m", base_url="http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("provider", "variable"),
    [
        ("groq", "GROQ_BASE_URL"),
        ("together", "TOGETHER_BASE_URL"),
        ("openrouter", "OPENROUTER_BASE_URL"),
        ("deepseek", "DEEPSEEK_BASE_URL"),
        ("xai", "XAI_BASE_URL"),
        ("meta-llama", "LLAMA_API_BASE_URL"),
    ],
)
def test_every_hosted_preset_honours_a_base_url_variable(
    provider: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:7/v1")
    adapter = resolve_model(f"{provider}:m", api_key="sk-test-option")
    assert getattr(adapter, "base_url", None) == "http://127.0.0.1:7/v1"
    # The option still wins over the variable.
    adapter = resolve_model(f"{provider}:m", api_key="sk-test-option", base_url="http://x:1/v1")
    assert getattr(adapter, "base_url", None) == "http://x:1/v1"


def test_options_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:5/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-env")
    adapter = resolve_model("openai:gpt-4.1-mini", base_url="http://127.0.0.1:6/v1")
    assert getattr(adapter, "base_url", None) == "http://127.0.0.1:6/v1"


def test_a_factory_that_takes_no_options_is_a_user_error() -> None:
    def old_style(model_id: str) -> FunctionAdapter:
        return FunctionAdapter(lambda request: None, model_id=model_id)  # type: ignore[arg-type, return-value]

    register_adapter("old-style-test", old_style)
    assert resolve_model("old-style-test:m").model_id == "m"
    with pytest.raises(UserError, match=r"does not take base_url .*old-style-test"):
        resolve_model("old-style-test:m", base_url="http://127.0.0.1:9")


def test_options_cannot_configure_an_adapter_object() -> None:
    adapter = FunctionAdapter(lambda request: None)  # type: ignore[arg-type, return-value]
    assert resolve_model(adapter) is adapter
    with pytest.raises(UserError, match="configure the adapter itself"):
        resolve_model(adapter, base_url="http://127.0.0.1:9")


@pytest.mark.anyio
async def test_run_passes_model_options_to_the_factory() -> None:
    from agentkit import load_agent

    from .test_every_adapter import EXAMPLE

    agent: Agent = load_agent(EXAMPLE)
    emulator = OpenAIChatEmulator(weather_script)
    with serve_asgi(emulator) as url:
        result = await run(
            agent,
            "What's the weather in Oslo?",
            model="openai:gpt-4.1-mini",
            model_options={"base_url": f"{url}/v1", "api_key": "sk-test-option"},
        )
    assert result.turns == 2
    assert len(emulator.calls) == 2


def _cli(*args: str, env: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def test_the_cli_points_any_preset_at_a_url_with_base_url() -> None:
    # groq has no server here: --base-url sends it to the loopback emulator.
    emulator = OpenAIChatEmulator(weather_script)
    with serve_asgi(emulator) as url:
        done = _cli(
            "run",
            "examples/weather/agent.yaml",
            "--input",
            "What's the weather in Oslo?",
            "--model",
            "groq:llama-3.3-70b-versatile",
            "--base-url",
            f"{url}/v1",
            env={"PATH": "/usr/bin:/bin", "GROQ_API_KEY": "sk-test-planted"},
        )
    assert done.returncode == 0, done.stderr
    assert f"at {url}/v1" in done.stderr
    assert "Oslo" in done.stdout
    assert len(emulator.calls) == 2


def test_the_cli_refuses_base_url_for_a_chain() -> None:
    done = _cli(
        "run",
        "examples/weather/agent.yaml",
        "--input",
        "hi",
        "--model",
        "ollama:a,vllm:b",
        "--base-url",
        "http://127.0.0.1:9",
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "--base-url names one API root" in done.stderr
