"""OpenAI-compatible hosts as presets of ``OpenAIChatAdapter``: no forks, only data.

A preset is a base URL (optionally from an environment variable), a key
variable, the provider name, ``OpenAIQuirks`` and the capabilities the host
really has. The quirks cited below are the ones seen in the real-traffic
cases under ``tests/fixtures/real_traffic/openai_compatible``; the others
follow each host's API reference and are conservative where the hosts differ
by model (a left-out ``strict`` is always accepted, and so on).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar

import httpx2

from agentkit import Capabilities
from agentkit.exceptions import UserError

from ..ollama import resolve_ollama_host
from ..openai import OpenAIChatAdapter, OpenAIQuirks

__all__ = ["PRESETS", "Preset", "preset_adapter", "preset_factory"]

_SETTINGS = frozenset(
    {
        "max_tokens", "temperature", "top_p", "stop", "seed", "parallel_tool_calls",
        "reasoning_effort", "timeout", "extra",
    }
)  # fmt: skip
_ALL_CHOICES = frozenset({"auto", "none", "required", "named"})
_ALL_OUTPUTS = frozenset({"native", "tool", "prompted"})


@dataclass(frozen=True, slots=True)
class Preset:
    """One OpenAI-compatible host.

    Attributes:
        name: The entry-point name, also the provider name in events and errors.
        base_url: The default API root, up to and including the version segment.
        url_variable: An environment variable that overrides ``base_url``.
        ollama_host: ``url_variable`` holds an Ollama host (``OLLAMA_HOST``
            syntax), to which ``/v1`` is added.
        key_variable: The environment variable holding the key, if any.
        key_required: A missing key is an error (hosted APIs) rather than no key.
        key_help: Where to get a key, for the missing-key error.
        quirks: How the host departs from api.openai.com.
        capabilities: What the host can do.
    """

    name: str
    base_url: str
    url_variable: str | None = None
    ollama_host: bool = False
    key_variable: str | None = None
    key_required: bool = False
    key_help: str = ""
    quirks: OpenAIQuirks = field(default_factory=OpenAIQuirks)
    capabilities: Capabilities = field(default_factory=Capabilities)

    def resolve_base_url(self, env: Mapping[str, str]) -> str:
        """The base URL, from ``url_variable`` when it is set."""
        value = env.get(self.url_variable) if self.url_variable else None
        if self.ollama_host:
            return resolve_ollama_host(value) + "/v1"
        return (value or self.base_url).rstrip("/")


def _quirks(
    *,
    strict: bool = False,
    max_tokens: Literal["max_completion_tokens", "max_tokens"] = "max_tokens",
    usage: bool = True,
    unsupported: frozenset[str] = frozenset(),
) -> OpenAIQuirks:
    # Most hosts take "max_tokens", and many reject "strict" on some models:
    # leaving it out is always accepted, so presets only send it when asked.
    return OpenAIQuirks(
        supports_strict=strict,
        max_tokens_field=max_tokens,
        supports_stream_usage=usage,
        unsupported_settings=unsupported,
        # prompt_cache_key is OpenAI's own; the hosts cache (or not) on their own terms.
        prompt_cache_fields=False,
    )


def _caps(quirks: OpenAIQuirks, **changes: Any) -> Capabilities:
    base = Capabilities(
        tool_choice=_ALL_CHOICES,
        structured_output=_ALL_OUTPUTS,
        usage_in_stream=quirks.supports_stream_usage,
        image_input=True,
        reasoning=True,
        settings=_SETTINGS - quirks.unsupported_settings,
    )
    return replace(base, **changes)


_NO_EFFORT = frozenset({"reasoning_effort"})

_OLLAMA = _quirks(unsupported=frozenset({"parallel_tool_calls"}))
_LLAMACPP = _quirks(usage=False, unsupported=_NO_EFFORT)
_VLLM = _quirks()
_GROQ = _quirks(max_tokens="max_completion_tokens")
_TOGETHER = _quirks()
# OpenRouter asks for effort as {"reasoning": {"effort": ...}}: pass that in extra.
_OPENROUTER = _quirks(unsupported=_NO_EFFORT)
# Thinking mode wants its reasoning_content back within a tool loop, or it answers 400.
_DEEPSEEK = replace(_quirks(unsupported=_NO_EFFORT), reasoning_history_field="reasoning_content")
_XAI = _quirks()
_META = _quirks(max_tokens="max_completion_tokens", unsupported=_NO_EFFORT)

#: Every preset, by entry-point name.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        # Ollama's /v1 sends each tool call whole, ids "call_<random>", no index, and
        # reasoning as "reasoning"; it has no tool_choice: "none" would be ignored.
        Preset(
            "ollama-openai",
            "http://127.0.0.1:11434/v1",
            "OLLAMA_HOST",
            ollama_host=True,
            quirks=_OLLAMA,
            capabilities=_caps(
                _OLLAMA,
                tool_choice=frozenset({"auto"}),
                structured_output=frozenset({"native", "prompted"}),
                tool_call_streaming=False,
            ),
        ),
        # llama-server or `python -m llama_cpp.server`: images need a projector file and
        # usage in streams depends on the server, so neither is promised.
        Preset(
            "llamacpp-server",
            "http://127.0.0.1:8080/v1",
            "LLAMACPP_SERVER_URL",
            quirks=_LLAMACPP,
            capabilities=_caps(
                _LLAMACPP,
                tool_choice=frozenset({"auto", "none", "required"}),
                tool_call_streaming=False,
                image_input=False,
            ),
        ),
        Preset(
            "vllm",
            "http://127.0.0.1:8000/v1",
            "VLLM_BASE_URL",
            key_variable="VLLM_API_KEY",
            quirks=_VLLM,
            capabilities=_caps(_VLLM),
        ),
        # Whole tool call in one delta, usage also in x_groq
        # (case groq_tool_call_json_and_stream); json_schema only on some models,
        # so structured output goes through a forced tool.
        Preset(
            "groq",
            "https://api.groq.com/openai/v1",
            "GROQ_BASE_URL",
            key_variable="GROQ_API_KEY",
            key_required=True,
            key_help="https://console.groq.com/keys",
            quirks=_GROQ,
            capabilities=_caps(
                _GROQ, tool_call_streaming=False, structured_output=frozenset({"tool", "prompted"})
            ),
        ),
        # Extra fields: top-level "prompt", choices[].seed, tool_calls: [] on plain
        # text, usage.cached_tokens (case together_text_json_extra_fields).
        Preset(
            "together",
            "https://api.together.xyz/v1",
            "TOGETHER_BASE_URL",
            key_variable="TOGETHER_API_KEY",
            key_required=True,
            key_help="https://api.together.ai/settings/api-keys",
            quirks=_TOGETHER,
            capabilities=_caps(_TOGETHER),
        ),
        Preset(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_BASE_URL",
            key_variable="OPENROUTER_API_KEY",
            key_required=True,
            key_help="https://openrouter.ai/keys",
            quirks=_OPENROUTER,
            capabilities=_caps(_OPENROUTER),
        ),
        # reasoning_content deltas, usage on the finish chunk itself
        # (case deepseek_reasoner_tool_call); response_format takes json_object only.
        Preset(
            "deepseek",
            "https://api.deepseek.com/v1",
            "DEEPSEEK_BASE_URL",
            key_variable="DEEPSEEK_API_KEY",
            key_required=True,
            key_help="https://platform.deepseek.com/api_keys",
            quirks=_DEEPSEEK,
            capabilities=_caps(
                _DEEPSEEK, image_input=False, structured_output=frozenset({"tool", "prompted"})
            ),
        ),
        # Whole tool call in one delta; completion_tokens leave reasoning out
        # (case xai_tool_call).
        Preset(
            "xai",
            "https://api.x.ai/v1",
            "XAI_BASE_URL",
            key_variable="XAI_API_KEY",
            key_required=True,
            key_help="https://console.x.ai",
            quirks=_XAI,
            capabilities=_caps(_XAI, tool_call_streaming=False),
        ),
        # Meta's Llama API, OpenAI-compatible under /compat/v1; the official SDK
        # (meta-llama/llama-api-python) reads LLAMA_API_KEY and talks to api.llama.com.
        Preset(
            "meta-llama",
            "https://api.llama.com/compat/v1",
            "LLAMA_API_BASE_URL",
            key_variable="LLAMA_API_KEY",
            key_required=True,
            key_help="https://llama.developer.meta.com",
            quirks=_META,
            capabilities=_caps(_META, reasoning=False),
        ),
    )
}


class HostKey(Protocol):
    """What a preset says about its key (``Preset`` and the Responses presets alike)."""

    @property
    def key_variable(self) -> str | None: ...
    @property
    def key_required(self) -> bool: ...
    @property
    def key_help(self) -> str: ...


_P = TypeVar("_P")
_A = TypeVar("_A")


def lookup_preset(
    presets: Mapping[str, _P], name: str, kind: str, model_id: str | None = None
) -> _P:
    """Preset ``name`` of ``presets`` (``kind`` names them in the error).

    Raises:
        UserError: unknown preset, or ``model_id`` given but empty.
    """
    preset = presets.get(name)
    if preset is None:
        raise UserError(f"no {kind} preset {name!r}; presets: {', '.join(presets)}")
    if model_id is not None and not model_id:
        raise UserError(f"no model named: write it as {name}:<model>")
    return preset


def preset_key(
    preset: HostKey, name: str, model_id: str, api_key: str | None, env: Mapping[str, str]
) -> str | None:
    """The key to send: ``api_key``, else the preset's variable in ``env``.

    Raises:
        UserError: a hosted API's key variable is not set.
    """
    variable = preset.key_variable
    if api_key is None and variable:
        api_key = env.get(variable) or None
    if api_key is None and preset.key_required:
        where = f" (keys: {preset.key_help})" if preset.key_help else ""
        raise UserError(
            f"{variable} is not set: export it to use {name}:{model_id}{where}, "
            "or choose another provider"
        )
    return api_key


def preset_entry_point(
    name: str, build: Callable[..., _A], wire_protocol: str
) -> Callable[..., _A]:
    """The entry-point factory of preset ``name``: the common options passed to ``build``.

    Args:
        name: The preset, passed to ``build`` first.
        build: ``(name, model_id, *, base_url, api_key, headers, client) -> adapter``.
        wire_protocol: What the conformance kit emulates for it.
    """

    def factory(
        model_id: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> _A:
        return build(
            name, model_id, base_url=base_url, api_key=api_key, headers=headers, client=http_client
        )

    factory.__name__ = f"create_{name.replace('-', '_')}_adapter"
    factory.__qualname__ = factory.__name__
    factory.__module__ = build.__module__  # where the preset's family lives
    factory.__doc__ = (
        f"The ``{name}`` entry point: ``{name}:<model>``; options (``base_url``, "
        "``api_key``, ``headers``, ``http_client``) win over the preset's variables."
    )
    factory.wire_protocol = wire_protocol  # type: ignore[attr-defined]
    return factory


def preset_adapter(
    name: str,
    model_id: str,
    *,
    env: Mapping[str, str] | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    client: httpx2.AsyncClient | None = None,
) -> OpenAIChatAdapter:
    """An ``OpenAIChatAdapter`` configured by preset ``name``.

    Args:
        name: A key of ``PRESETS``, e.g. ``"groq"``.
        model_id: The model to ask, as the host names it.
        env: Where to read variables (default ``os.environ``).
        api_key: The key, instead of the preset's variable.
        base_url: The API root, instead of the preset's default or variable.
        headers: Extra request headers.
        client: An ``httpx2.AsyncClient`` to use instead of the shared pool.

    Returns:
        The adapter.

    Raises:
        UserError: unknown preset, no model named, or the key variable of a
            hosted API is not set.
    """
    preset = lookup_preset(PRESETS, name, "OpenAI-compatible", model_id)
    variables = os.environ if env is None else env
    return OpenAIChatAdapter(
        model_id,
        api_key=preset_key(preset, name, model_id, api_key, variables),
        base_url=base_url or preset.resolve_base_url(variables),
        provider=preset.name,
        key_variable=preset.key_variable,
        headers=headers,
        quirks=preset.quirks,
        capabilities=preset.capabilities,
        client=client,
    )


def preset_factory(name: str) -> Callable[..., OpenAIChatAdapter]:
    """The entry-point factory ``(model_id, **options) -> adapter`` for preset ``name``."""
    lookup_preset(PRESETS, name, "OpenAI-compatible")
    return preset_entry_point(name, preset_adapter, "openai-chat")
