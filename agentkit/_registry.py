"""From a model string (``provider:model``) to an adapter, through entry points.

Adapters register in the ``agentkit.adapters`` entry-point group as a factory
``(model_id: str, *, base_url=None, api_key=None, headers=None, http_client=None,
**own_options) -> ModelAdapter``, ours exactly like a third party's (ours are
also listed in ``BUILTIN_ADAPTERS`` and ``BUILTIN_TOOLSETS``, so that naming
one reads no metadata).
Tool sets register in ``agentkit.tools``.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from .exceptions import UserError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    # Only named in annotations: looking a tool set up (agentkit serve) need
    # not import the model layer.
    from ._model import ModelAdapter

__all__ = ["ModelChoice", "available_providers", "choose_model", "resolve_model"]

ADAPTER_GROUP = "agentkit.adapters"
TOOLS_GROUP = "agentkit.tools"

#: Providers tried, in order, when no model is named: (provider, key variables, default model).
KEYED_DEFAULTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("openai", ("OPENAI_API_KEY",), "gpt-4.1-mini"),
    ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini-2.5-flash"),
)

_registered: dict[str, Callable[..., ModelAdapter]] = {}

#: Our own adapters' entry points, as agentkit-interop-adapters declares them
#: (adapters/pyproject.toml; a test keeps the two the same). A model string
#: naming one of these loads it without reading any distribution's metadata:
#: finding ``openai`` among the installed distributions' entry points cost a
#: first run about 6M instructions. These names belong to our adapters; any
#: other name is looked up in the entry points as before, and so is one of
#: these whose module is not there (the adapters not installed, or an older
#: release without it).
BUILTIN_ADAPTERS: dict[str, str] = {
    "anthropic": "agentkit_adapters.anthropic:create_anthropic_adapter",
    "azure": "agentkit_adapters.azure:create_azure_adapter",
    "azure-responses": "agentkit_adapters.azure:create_azure_responses_adapter",
    "bedrock-responses": "agentkit_adapters.openresponses:create_bedrock_responses_adapter",
    "deepseek": "agentkit_adapters.openai_compat:create_deepseek_adapter",
    "deepseek-responses": "agentkit_adapters.openresponses:create_deepseek_responses_adapter",
    "gemini": "agentkit_adapters.gemini:create_gemini_adapter",
    "groq": "agentkit_adapters.openai_compat:create_groq_adapter",
    "llamacpp": "agentkit_adapters.llamacpp:create_llamacpp_adapter",
    "llamacpp-server": "agentkit_adapters.openai_compat:create_llamacpp_server_adapter",
    "meta-llama": "agentkit_adapters.openai_compat:create_meta_llama_adapter",
    "ollama": "agentkit_adapters.ollama:create_ollama_adapter",
    "ollama-openai": "agentkit_adapters.openai_compat:create_ollama_openai_adapter",
    "openai": "agentkit_adapters.openai:create_chat_adapter",
    "openai-responses": "agentkit_adapters.openai_responses:create_responses_adapter",
    "openresponses": "agentkit_adapters.openresponses:create_openresponses_adapter",
    "openrouter": "agentkit_adapters.openai_compat:create_openrouter_adapter",
    "openrouter-responses": "agentkit_adapters.openresponses:create_openrouter_responses_adapter",
    "together": "agentkit_adapters.openai_compat:create_together_adapter",
    "vertex": "agentkit_adapters.vertex:create_vertex_adapter",
    "vllm": "agentkit_adapters.openai_compat:create_vllm_adapter",
    "xai": "agentkit_adapters.openai_compat:create_xai_adapter",
}
#: Likewise our tool sets (agentkit-tools, tools/pyproject.toml): ``agentkit
#: serve math`` reads no metadata before its first answer.
BUILTIN_TOOLSETS: dict[str, str] = {
    "files": "agentkit_tools.files:toolset",
    "http": "agentkit_tools.http:toolset",
    "math": "agentkit_tools.math:toolset",
    "time": "agentkit_tools.time:toolset",
}


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    """``{ep.name: ep for ep in entry_points(group=group)}``, parsing only what can hold it.

    ``entry_points()`` parses every installed distribution's
    ``entry_points.txt``: about 6M instructions more for 107 distributions,
    paid before ``agentkit serve math`` answers and by a run's first model
    string. Here only those whose text contains ``[group]`` (which every
    header of the group does) are parsed. Distributions are taken as
    ``entry_points()`` takes them: in path order, each name once, the first
    found.
    """
    # Imported on first use: importlib.metadata costs ~10 ms, a run from an
    # adapter object never needs it.
    from importlib.metadata import distributions, entry_points

    header = f"[{group}]"
    found: dict[str, EntryPoint] = {}
    seen: set[str] = set()
    for dist in distributions():
        name = getattr(dist, "_normalized_name", None)
        if not isinstance(name, str):
            # A Python whose distributions lack the name entry_points() dedupes by.
            return {ep.name: ep for ep in entry_points(group=group)}
        if name in seen:
            continue
        seen.add(name)
        text = dist.read_text("entry_points.txt")
        if text is None or header not in text:
            continue
        for ep in dist.entry_points:
            if ep.group == group:
                found[ep.name] = ep
    return found


def register_adapter(provider: str, factory: Callable[..., ModelAdapter]) -> None:
    """Register an adapter factory in-process (entry points do this for packages)."""
    _registered[provider] = factory
    _adapters.clear()


def available_providers() -> list[str]:
    """Every provider name a model string may start with."""
    return sorted({*_entry_points(ADAPTER_GROUP), *_registered})


def adapter_factory(provider: str) -> Callable[..., ModelAdapter]:
    """The factory registered for ``provider`` (in-process first, then entry points).

    Raises:
        UserError: nothing is registered under that name.
    """
    factory = _registered.get(provider)
    if factory is not None:
        return factory
    builtin = BUILTIN_ADAPTERS.get(provider)
    if builtin is not None:
        factory = _load_builtin(builtin)
        if callable(factory):
            return cast("Callable[..., ModelAdapter]", factory)
    entry = _entry_points(ADAPTER_GROUP).get(provider)
    if entry is None:
        raise UserError(
            f"no adapter for provider {provider!r}; installed: "
            f"{', '.join(available_providers()) or 'none'} "
            "(install agentkit-interop-adapters or the provider's package)"
        )
    loaded: Callable[..., ModelAdapter] = entry.load()
    return loaded


def _load_builtin(value: str) -> Any:
    """The object ``module:attribute`` names, or None when that module or attribute is absent.

    Any other failure (a module that is there but fails to import, say for a
    missing optional dependency) is raised, as loading its entry point would.
    """
    from importlib import import_module

    module_name, _, attribute = value.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise
    return getattr(module, attribute, None)


def wire_protocol(provider: str) -> str | None:
    """The wire protocol ``provider``'s factory declares (its ``wire_protocol`` attribute).

    A factory that speaks a protocol the kit can emulate (``openai-chat``,
    ``openai-responses``, ``gemini``, ``ollama``) says so by carrying that
    attribute, so ``agentkit conformance --mode emulated`` needs no ``--wire``.
    """
    value = getattr(adapter_factory(provider), "wire_protocol", None)
    return value if isinstance(value, str) else None


def resolve_model(model: str | ModelAdapter, **options: Any) -> ModelAdapter:
    """The adapter for ``provider:model`` (an adapter passes through).

    Args:
        model: ``provider:model`` or an adapter.
        **options: Passed to the provider's factory: ``base_url``, ``api_key``,
            ``headers``, ``http_client`` and any option of the factory's own.
            Options always win over environment variables, which factories
            read only as defaults. None values are left out.

    Raises:
        UserError: the string has no provider, no adapter is registered for it,
            or its factory does not take one of the options.
    """
    if not isinstance(model, str):
        if any(value is not None for value in options.values()):
            raise UserError(
                f"options {', '.join(sorted(options))} apply to model strings, "
                f"not to an adapter object ({model!r}): configure the adapter itself"
            )
        return model
    provider, sep, model_id = model.partition(":")
    if not sep or not provider:
        raise UserError(
            f"model {model!r} names no provider: write it as provider:model, "
            f"e.g. openai:gpt-4.1-mini (providers: {', '.join(available_providers())})"
        )
    try:
        factory = adapter_factory(provider)
    except UserError as exc:
        raise UserError(f"{exc} (in model {model!r})") from None
    given = {name: value for name, value in options.items() if value is not None}
    if not given:
        return factory(model_id)
    unknown = _unknown_options(factory, given)
    if unknown:
        raise UserError(
            f"the adapter factory for {provider!r} does not take "
            f"{', '.join(sorted(unknown))} (model {model!r}); "
            "factories take (model_id, *, base_url=..., api_key=..., headers=..., "
            "http_client=...) and their own options"
        )
    return factory(model_id, **given)


#: Adapters the runner built from model strings, newest last: (model, options) -> (env, adapter).
_adapters: OrderedDict[tuple[Any, ...], tuple[dict[Any, Any], ModelAdapter]] = OrderedDict()
#: Different (model string, options) pairs kept; the least recently used goes first.
ADAPTER_CACHE_SIZE = 64


def cached_model(model: str | ModelAdapter, options: Mapping[str, Any]) -> ModelAdapter:
    """``resolve_model(model, **options)``, built once per process for a model string.

    A run names its model as a string; building the adapter (factory lookup,
    option checks, settings per model id) on every run cost about 0.04 ms.
    An entry is reused only while the environment is unchanged, since
    factories read their defaults (keys, base URLs) from it; options that
    cannot be hashed (dicts and lists aside) are never cached.
    ``register_adapter`` empties the cache.
    """
    if not isinstance(model, str):
        # An adapter object without options is itself (resolve_model's answer).
        return resolve_model(model, **options) if options else model
    try:
        key = (model, *sorted((name, _frozen(value)) for name, value in options.items()))
        hash(key)
    except TypeError:
        return resolve_model(model, **options)
    # os.environ's own dict: comparing it is a C-level dict compare (about 1 us).
    environ = os.environ._data  # type: ignore[attr-defined]
    found = _adapters.get(key)
    if found is not None and found[0] == environ:
        _adapters.move_to_end(key)
        return found[1]
    adapter = resolve_model(model, **options)
    _adapters[key] = (dict(environ), adapter)
    if len(_adapters) > ADAPTER_CACHE_SIZE:
        _adapters.popitem(last=False)
    return adapter


def _frozen(value: Any) -> Any:
    # Headers are a dict: the same headers make the same key.
    if isinstance(value, dict):
        return (dict, tuple(sorted((k, _frozen(v)) for k, v in value.items())))
    if isinstance(value, list):
        return (list, tuple(_frozen(v) for v in value))
    return value


def _unknown_options(factory: Callable[..., ModelAdapter], given: dict[str, Any]) -> set[str]:
    import inspect

    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: let the call decide
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return set()
    named = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    return set(given) - named


def load_toolset_entry_point(name: str) -> Any:
    """The object registered as tool set ``name`` in ``agentkit.tools``, or None."""
    builtin = BUILTIN_TOOLSETS.get(name)
    if builtin is not None:
        found = _load_builtin(builtin)
        if found is not None:
            return found
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
