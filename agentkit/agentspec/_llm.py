"""agentkit's ``provider:model`` and settings ↔ Agent Spec LLM configurations.

An agent file names a model as ``provider:model`` and leaves the endpoint to
the adapter (its default URL, its base-URL variable, or ``--base-url``).
Agent Spec puts the endpoint in the configuration, so export writes each
provider's default API root (the same ones the adapters' presets use) and
import keeps a URL only when it is that default; any other URL is reported.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._common import AGENTKIT_KEY, ConversionWarning

if TYPE_CHECKING:
    from pyagentspec.llms import LlmConfig

__all__ = ["llm_config_for", "model_for", "settings_for"]

OLLAMA_ROOT = "http://127.0.0.1:11434"

#: OpenAI-compatible hosts: default API root (matching agentkit_adapters' presets).
OPENAI_COMPATIBLE: dict[str, str] = {
    "llamacpp-server": "http://127.0.0.1:8080/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "groq": "https://api.groq.com/openai/v1",
    "together": "https://api.together.xyz/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "xai": "https://api.x.ai/v1",
    "meta-llama": "https://api.llama.com/compat/v1",
}

#: Settings Agent Spec's generation parameters name themselves.
_NATIVE_SETTINGS = ("max_tokens", "temperature", "top_p")
#: agentkit settings carried as additional generation parameters (which Agent Spec allows).
_EXTRA_SETTINGS = ("stop", "seed", "parallel_tool_calls", "reasoning_effort")

_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
_PLACEHOLDER = "unspecified"


def _generation(settings: dict[str, Any]) -> Any:
    from pyagentspec.llms import LlmGenerationConfig

    values = {k: settings[k] for k in (*_NATIVE_SETTINGS, *_EXTRA_SETTINGS) if k in settings}
    values.update(settings.get("extra") or {})
    return LlmGenerationConfig(**values) if values else None


def llm_config_for(
    model: str | None, settings: dict[str, Any], component_id: str
) -> tuple[LlmConfig, list[ConversionWarning]]:
    """The Agent Spec LLM configuration for one agentkit model string.

    Args:
        model: ``provider:model``, or None when the agent file names no model.
        settings: The agent file's ``settings`` as written (unset keys absent).
        component_id: The id to give the configuration.

    Returns:
        The configuration and what it could not say. The model string itself is
        kept in the configuration's ``metadata.agentkit.model``, so import gives
        back exactly the provider it came from.
    """
    from pyagentspec.llms import (
        GeminiConfig,
        LlmConfig,
        OllamaConfig,
        OpenAiCompatibleConfig,
        OpenAiConfig,
        VllmConfig,
    )
    from pyagentspec.llms.geminiauthconfig import GeminiAIStudioAuthConfig
    from pyagentspec.llms.openaicompatibleconfig import OpenAIAPIType
    from pyagentspec.retrypolicy import RetryPolicy

    warnings: list[ConversionWarning] = []
    common: dict[str, Any] = {
        "id": component_id,
        "metadata": {AGENTKIT_KEY: {"model": model}},
        "default_generation_parameters": _generation(settings),
    }
    if settings.get("timeout") is not None:
        # The per-attempt timeout is the one place Agent Spec has for it.
        common["retry_policy"] = RetryPolicy(request_timeout=settings["timeout"])
    if model is None:
        warnings.append(
            ConversionWarning(
                "model",
                "the agent file names no model (agentkit chooses one at run time) but Agent "
                f"Spec requires an llm_config: wrote a placeholder LlmConfig {_PLACEHOLDER!r}",
            )
        )
        return LlmConfig(name=_PLACEHOLDER, model_id=_PLACEHOLDER, **common), warnings
    provider, _, model_id = model.partition(":")
    name = model
    config: LlmConfig
    if provider in ("openai", "openai-responses"):
        api_type = OpenAIAPIType.RESPONSES if provider != "openai" else None
        extra = {"api_type": api_type} if api_type else {}
        config = OpenAiConfig(name=name, model_id=model_id, **extra, **common)
    elif provider == "gemini":
        auth = GeminiAIStudioAuthConfig(id=f"{component_id}.auth", name="gemini-api-key")
        config = GeminiConfig(name=name, model_id=model_id, auth=auth, **common)
    elif provider in ("ollama", "ollama-openai"):
        config = OllamaConfig(name=name, model_id=model_id, url=OLLAMA_ROOT, **common)
    elif provider == "vllm":
        url = OPENAI_COMPATIBLE["vllm"]
        config = VllmConfig(name=name, model_id=model_id, url=url, **common)
    elif provider in OPENAI_COMPATIBLE:
        url = OPENAI_COMPATIBLE[provider]
        config = OpenAiCompatibleConfig(
            name=name, model_id=model_id, url=url, api_provider=provider, **common
        )
    else:
        # anthropic, the in-process llamacpp model, third-party adapters.
        warnings.append(
            ConversionWarning(
                "model",
                f"Agent Spec has no configuration for provider {provider!r}: wrote a generic "
                f"LlmConfig (api_provider {provider!r}), which other runtimes may not run",
            )
        )
        config = LlmConfig(
            name=name, model_id=model_id, provider=provider, api_provider=provider, **common
        )
    return config, warnings


def _known_model(config: LlmConfig) -> str | None:
    """The model string export kept in metadata, if the document still agrees with it."""
    kept = (config.metadata or {}).get(AGENTKIT_KEY, {}).get("model", _PLACEHOLDER)
    if kept is None:
        return None
    if isinstance(kept, str) and kept.partition(":")[2] == config.model_id:
        return kept
    return _PLACEHOLDER


def _compatible_model(config: Any, path: str) -> tuple[str, list[ConversionWarning]]:
    url = str(config.url).rstrip("/")
    for provider, root in OPENAI_COMPATIBLE.items():
        if url == root:
            return f"{provider}:{config.model_id}", []
    message = (
        f"agent files name no endpoint: run with --base-url {url} (or set OPENAI_BASE_URL) "
        "to reach this OpenAI-compatible server"
    )
    return f"openai:{config.model_id}", [ConversionWarning(f"{path}.url", message)]


def model_for(config: LlmConfig, path: str) -> tuple[str | None, list[ConversionWarning]]:
    """The agentkit model string for an Agent Spec LLM configuration.

    Args:
        config: The deserialized configuration.
        path: Its JSON path in the document, for warnings.

    Returns:
        ``provider:model`` (None when no agentkit provider fits, or when the
        document came from an agent file with no model) and what was left out.
    """
    from pyagentspec.llms import (
        GeminiConfig,
        OllamaConfig,
        OpenAiCompatibleConfig,
        OpenAiConfig,
        VllmConfig,
    )
    from pyagentspec.llms.geminiauthconfig import GeminiVertexAIAuthConfig
    from pyagentspec.llms.openaicompatibleconfig import OpenAIAPIType

    warnings: list[ConversionWarning] = []
    if getattr(config, "api_key", None):
        warnings.append(
            ConversionWarning(
                f"{path}.api_key",
                "agent files hold no keys: set the provider's key variable instead",
            )
        )
    kept = _known_model(config)
    model: str | None
    if kept != _PLACEHOLDER:
        model = kept
    elif isinstance(config, OpenAiConfig):
        responses = config.api_type == OpenAIAPIType.RESPONSES
        model = f"{'openai-responses' if responses else 'openai'}:{config.model_id}"
    elif isinstance(config, GeminiConfig):
        model = f"gemini:{config.model_id}"
        if isinstance(config.auth, GeminiVertexAIAuthConfig):
            warnings.append(
                ConversionWarning(
                    f"{path}.auth",
                    "agentkit's gemini adapter speaks the Gemini API (AI Studio key), not "
                    "Vertex AI: the project, location and credentials are left out",
                )
            )
    elif isinstance(config, OllamaConfig):
        model = f"ollama:{config.model_id}"
        if str(config.url).rstrip("/") not in (OLLAMA_ROOT, "http://localhost:11434"):
            warnings.append(
                ConversionWarning(
                    f"{path}.url", f"set OLLAMA_HOST={config.url} when running the agent"
                )
            )
    elif isinstance(config, VllmConfig):
        model = f"vllm:{config.model_id}"
        if str(config.url).rstrip("/") != OPENAI_COMPATIBLE["vllm"]:
            warnings.append(ConversionWarning(f"{path}.url", f"set VLLM_BASE_URL={config.url}"))
    elif isinstance(config, OpenAiCompatibleConfig):
        model, more = _compatible_model(config, path)
        warnings.extend(more)
    elif type(config).__name__ == "LlmConfig" and _PROVIDER.match(config.api_provider or ""):
        model = f"{config.api_provider}:{config.model_id}"
        _warn_unknown_provider(str(config.api_provider), path, warnings)
    else:
        model = None
        warnings.append(
            ConversionWarning(
                path,
                f"agentkit has no adapter for {type(config).__name__}: the agent file names "
                "no model (pass --model when running it)",
            )
        )
    return model, warnings


def _warn_unknown_provider(provider: str, path: str, warnings: list[ConversionWarning]) -> None:
    from .._registry import available_providers

    if provider not in available_providers():
        warnings.append(
            ConversionWarning(
                f"{path}.api_provider",
                f"no installed agentkit adapter is named {provider!r}: install one before "
                "running the agent",
            )
        )


def settings_for(config: LlmConfig, path: str) -> tuple[dict[str, Any], list[ConversionWarning]]:
    """agentkit ``settings`` from a configuration's generation parameters and retry policy."""
    warnings: list[ConversionWarning] = []
    settings: dict[str, Any] = {}
    generation = config.default_generation_parameters
    if generation is not None:
        values = generation.model_dump(exclude_none=True)
        extra: dict[str, Any] = {}
        for key, value in values.items():
            if key in _NATIVE_SETTINGS or key in _EXTRA_SETTINGS:
                settings[key] = value
            else:
                extra[key] = value
        if extra:
            settings["extra"] = extra
    policy = config.retry_policy
    if policy is not None:
        if policy.request_timeout is not None:
            settings["timeout"] = policy.request_timeout
        others = policy.model_dump(exclude={"request_timeout"}, exclude_defaults=True)
        if others:
            warnings.append(
                ConversionWarning(
                    f"{path}.retry_policy",
                    f"agent files hold no retry policy ({', '.join(sorted(others))}): "
                    "agentkit's runner retries with its own RetryPolicy",
                )
            )
    return settings, warnings
