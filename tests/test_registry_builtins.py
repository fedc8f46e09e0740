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
from agentkit._registry import BUILTIN_ADAPTERS, adapter_factory, register_adapter


def test_the_builtin_table_is_what_the_adapters_distribution_declares() -> None:
    declared = {
        ep.name: ep.value
        for ep in entry_points(group="agentkit.adapters")
        if ep.dist is not None and ep.dist.name == "agentkit-interop-adapters"
    }
    assert declared == BUILTIN_ADAPTERS


def test_a_builtin_provider_resolves_without_reading_any_metadata() -> None:
    # Counted in a fresh process: the registry's entry-point cache would hide
    # a scan made by an earlier test.
    code = (
        "import importlib.metadata as m\n"
        "calls = []\n"
        "for name in ('distributions', 'entry_points'):\n"
        "    real = getattr(m, name)\n"
        "    def counted(*a, _real=real, _name=name, **k):\n"
        "        calls.append(_name)\n"
        "        return _real(*a, **k)\n"
        "    setattr(m, name, counted)\n"
        "from agentkit._registry import resolve_model\n"
        "adapter = resolve_model('openai:gpt-4.1-mini', api_key='k')\n"
        "print(type(adapter).__module__, calls)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    module, calls = out.stdout.strip().split(" ", 1)
    assert module.startswith("agentkit_adapters.openai")
    assert calls == "[]"


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
