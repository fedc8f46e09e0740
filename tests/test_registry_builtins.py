"""Our own providers resolve from ``BUILTIN_ADAPTERS``, reading no distribution's metadata.

Everything else (third-party entry points, in-process registrations, a
built-in whose module is not installed) resolves as it did before.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from agentkit import _registry
from agentkit._registry import (
    BUILTIN_ADAPTERS,
    BUILTIN_TOOLSETS,
    adapter_factory,
    load_toolset_entry_point,
    register_adapter,
)

#: Run in a fresh process after a look-up: how many entry-point groups the
#: registry read (its cache of them would hide an earlier test's).
GROUPS_READ = (
    "from agentkit._registry import _entry_points\nprint(_entry_points.cache_info().currsize)\n"
)


@pytest.mark.parametrize(
    ("group", "distribution", "table"),
    [
        ("agentkit.adapters", "agentkit-interop-adapters", BUILTIN_ADAPTERS),
        ("agentkit.tools", "agentkit-interop-tools", BUILTIN_TOOLSETS),
    ],
)
def test_a_builtin_table_is_what_its_distribution_declares(
    group: str, distribution: str, table: dict[str, str]
) -> None:
    declared = {
        ep.name: ep.value
        for ep in entry_points(group=group)
        if ep.dist is not None and ep.dist.name == distribution
    }
    assert declared == table


def test_a_builtin_provider_resolves_without_reading_any_metadata() -> None:
    code = (
        "from agentkit._registry import resolve_model\n"
        "adapter = resolve_model('openai:gpt-4.1-mini', api_key='k')\n"
        "print(type(adapter).__module__)\n" + GROUPS_READ
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    module, groups = out.stdout.split()
    assert module.startswith("agentkit_adapters.openai")
    assert groups == "0"


def test_a_builtin_tool_set_loads_without_reading_any_metadata() -> None:
    code = (
        "from agentkit._registry import load_toolset_entry_point\n"
        "import agentkit_tools.math\n"
        "print(load_toolset_entry_point('math') is agentkit_tools.math.toolset)\n" + GROUPS_READ
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "0"]


def test_an_unknown_tool_set_is_still_none_and_a_fallen_back_one_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agentkit_tools.time

    assert load_toolset_entry_point("no-such-tool-set") is None
    monkeypatch.setitem(BUILTIN_TOOLSETS, "time", "agentkit_tools_not_installed:toolset")
    assert load_toolset_entry_point("time") is agentkit_tools.time.toolset


def test_a_builtin_name_loads_the_object_its_entry_point_names() -> None:
    from agentkit_adapters.openai import create_chat_adapter
    from agentkit_adapters.openai_compat import create_vllm_adapter

    assert adapter_factory("openai") is create_chat_adapter
    assert adapter_factory("vllm") is create_vllm_adapter


def test_a_third_party_adapter_is_still_found_through_its_entry_point() -> None:
    from relay_agentkit import create_relay_adapter

    assert "relay" not in BUILTIN_ADAPTERS
    assert adapter_factory("relay") is create_relay_adapter
    assert "relay" in _registry.available_providers()


def test_an_in_process_registration_wins_over_a_builtin() -> None:
    def mine(model_id: str) -> object:
        raise AssertionError("not called")

    register_adapter("openai", mine)  # type: ignore[arg-type]
    try:
        assert adapter_factory("openai") is mine
    finally:
        del _registry._registered["openai"]
        _registry._adapters.clear()


@pytest.mark.parametrize(
    "value",
    ["agentkit_adapters_not_installed.sub:create", "agentkit_adapters.openai:no_such_factory"],
)
def test_a_builtin_whose_module_or_factory_is_absent_falls_back_to_entry_points(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # As with an older adapters release that lacks a module the table names.
    from relay_agentkit import create_relay_adapter

    monkeypatch.setitem(BUILTIN_ADAPTERS, "relay", value)
    assert adapter_factory("relay") is create_relay_adapter


def test_a_builtin_module_that_fails_inside_raises_as_its_entry_point_would(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "agentkit_test_broken_adapter.py").write_text(
        "import agentkit_test_dependency_not_installed\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(BUILTIN_ADAPTERS, "broken", "agentkit_test_broken_adapter:create")
    with pytest.raises(ModuleNotFoundError, match="agentkit_test_dependency_not_installed"):
        adapter_factory("broken")
    sys.modules.pop("agentkit_test_broken_adapter", None)
