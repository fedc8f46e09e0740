"""From a model string (``provider:model``) to an adapter, through entry points.

Adapters register in the ``agentkit.adapters`` entry-point group as a factory
``(model_id: str) -> ModelAdapter``, ours exactly like a third party's.
Tool sets register in ``agentkit.tools``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ._model import ModelAdapter
from .exceptions import UserError

__all__ = ["ModelChoice", "available_providers", "choose_model", "resolve_model"]

ADAPTER_GROUP = "agentkit.adapters"
TOOLS_GROUP = "agentkit.tools"

#: Providers tried, in order, when no model is named: (provider, key variables, default model).
KEYED_DEFAULTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("openai", ("OPENAI_API_KEY",), "gpt-4.1-mini"),
    ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini-2.5-flash"),
)

_registered: dict[str, Callable[[str], ModelAdapter]] = {}


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def register_adapter(provider: str, factory: Callable[[str], ModelAdapter]) -> None:
    """Register an adapter factory in-process (entry points do this for packages)."""
    _registered[provider] = factory


def available_providers() -> list[str]:
    """Every provider name a model string may start with."""
    return sorted({*_entry_points(ADAPTER_GROUP), *_registered})


def resolve_model(model: str | ModelAdapter) -> ModelAdapter:
    """The adapter for ``provider:model`` (an adapter passes through).

    Raises:
        UserError: the string has no provider, or no adapter is registered for it.
    """
    if not isinstance(model, str):
        return model
    provider, sep, model_id = model.partition(":")
    if not sep or not provider:
        raise UserError(
            f"model {model!r} names no provider: write it as provider:model, "
            f"e.g. openai:gpt-4.1-mini (providers: {', '.join(available_providers())})"
        )
    factory = _registered.get(provider)
    if factory is None:
        entry = _entry_points(ADAPTER_GROUP).get(provider)
        if entry is None:
            raise UserError(
                f"no adapter for provider {provider!r} in model {model!r}; installed: "
                f"{', '.join(available_providers()) or 'none'} "
                "(install agentkit-interop-adapters or the provider's package)"
            )
        factory = entry.load()
    return factory(model_id)


def load_toolset_entry_point(name: str) -> Any:
    """The object registered as tool set ``name`` in ``agentkit.tools``, or None."""
    entry = _entry_points(TOOLS_GROUP).get(name)
    return None if entry is None else entry.load()


class ModelChoice:
    """Which model a run uses, and why (for the one line ``agentkit run`` prints)."""

    __slots__ = ("model", "reason")

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason

    def __repr__(self) -> str:
        return f"ModelChoice({self.model!r}, {self.reason!r})"


#: The offline default: a small model run in-process, no key and no network.
LOCAL_DEFAULT = "llamacpp:smollm2-135m"


def choose_model(explicit: str | None, file_default: str | None) -> ModelChoice:
    """Pick the model: the flag, then ``AGENTKIT_MODEL``, then the agent file's
    default, then the first provider whose key is set, then the local model.

    Raises:
        UserError: nothing names a model, no key is set and the local model's
            adapter is not installed.
    """
    if explicit:
        return ModelChoice(explicit, "given with --model")
    env = os.environ.get("AGENTKIT_MODEL")
    if env:
        return ModelChoice(env, "from AGENTKIT_MODEL")
    if file_default:
        return ModelChoice(file_default, "the agent file's default")
    for provider, variables, model_id in KEYED_DEFAULTS:
        for variable in variables:
            if os.environ.get(variable):
                return ModelChoice(f"{provider}:{model_id}", f"{variable} is set")
    if "llamacpp" in _entry_points(ADAPTER_GROUP) or "llamacpp" in _registered:
        return ModelChoice(LOCAL_DEFAULT, "no provider key is set: the offline local model")
    raise UserError(
        "no model chosen: pass --model provider:model (e.g. openai:gpt-4.1-mini), "
        "set AGENTKIT_MODEL, set a provider key such as OPENAI_API_KEY, or install "
        "agentkit-interop-adapters[local] for the offline local model"
    )
