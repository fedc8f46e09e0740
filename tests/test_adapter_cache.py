"""A run builds the adapter of a model string once per process (agentkit._registry.cached_model)."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, run
from agentkit._registry import ADAPTER_CACHE_SIZE, _adapters, register_adapter
from agentkit.testing import FunctionAdapter

pytestmark = pytest.mark.anyio

BUILT: list[tuple[str, dict[str, Any]]] = []


def counting_factory(model_id: str, **options: Any) -> FunctionAdapter:
    BUILT.append((model_id, options))
    return FunctionAdapter(lambda request: "hi", model_id=model_id)


@pytest.fixture(autouse=True)
def _registered() -> None:
    BUILT.clear()
    register_adapter("cache-test", counting_factory)


async def test_runs_with_the_same_model_string_share_one_adapter() -> None:
    agent = Agent(name="a")
    for _ in range(3):
        assert (await run(agent, "x", model="cache-test:m")).output == "hi"
    assert BUILT == [("m", {})]


async def test_other_options_or_another_model_build_another_adapter() -> None:
    agent = Agent(name="a")
    await run(agent, "x", model="cache-test:m")
    await run(agent, "x", model="cache-test:m", model_options={"base_url": "http://127.0.0.1:9"})
    await run(agent, "x", model="cache-test:n")
    await run(agent, "x", model="cache-test:m", model_options={"base_url": "http://127.0.0.1:9"})
    assert BUILT == [("m", {}), ("m", {"base_url": "http://127.0.0.1:9"}), ("n", {})]


async def test_a_changed_environment_builds_the_adapter_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Factories read keys and base URLs from the environment as defaults.
    agent = Agent(name="a")
    await run(agent, "x", model="cache-test:m")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-planted")
    await run(agent, "x", model="cache-test:m")
    await run(agent, "x", model="cache-test:m")
    assert len(BUILT) == 2


async def test_registering_a_factory_empties_the_cache_and_the_cache_is_bounded() -> None:
    agent = Agent(name="a")
    await run(agent, "x", model="cache-test:m")
    register_adapter("cache-test", counting_factory)
    await run(agent, "x", model="cache-test:m")
    assert len(BUILT) == 2
    for i in range(ADAPTER_CACHE_SIZE + 5):
        await run(agent, "x", model=f"cache-test:m{i}")
    assert len(_adapters) == ADAPTER_CACHE_SIZE


async def test_equal_headers_share_an_adapter_and_unhashable_options_are_built_each_run() -> None:
    agent = Agent(name="a")
    await run(agent, "x", model="cache-test:m", model_options={"headers": {"x-team": "a"}})
    await run(agent, "x", model="cache-test:m", model_options={"headers": {"x-team": "a"}})
    await run(agent, "x", model="cache-test:m", model_options={"headers": {"x-team": "b"}})
    assert len(BUILT) == 2
    options = {"own": bytearray(b"unhashable")}
    await run(agent, "x", model="cache-test:m", model_options=options)
    await run(agent, "x", model="cache-test:m", model_options=options)
    assert len(BUILT) == 4
