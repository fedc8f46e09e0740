"""OpenAI-compatible hosts as presets of the OpenAI Chat adapter.

Each preset is a base URL, a key variable, a provider name, quirk flags and
the capabilities the host really has (see ``PRESETS``); each has an entry
point in ``agentkit.adapters``, so ``groq:llama-3.3-70b-versatile`` or
``ollama-openai:llama3.2`` resolve like any other model string.
"""

from ._presets import PRESETS, Preset, preset_adapter, preset_factory

__all__ = [
    "PRESETS",
    "Preset",
    "create_deepseek_adapter",
    "create_groq_adapter",
    "create_llamacpp_server_adapter",
    "create_meta_llama_adapter",
    "create_ollama_openai_adapter",
    "create_openrouter_adapter",
    "create_together_adapter",
    "create_vllm_adapter",
    "create_xai_adapter",
    "preset_adapter",
    "preset_factory",
]

# One callable per entry point (adapters/pyproject.toml names them).
create_ollama_openai_adapter = preset_factory("ollama-openai")
create_llamacpp_server_adapter = preset_factory("llamacpp-server")
create_vllm_adapter = preset_factory("vllm")
create_groq_adapter = preset_factory("groq")
create_together_adapter = preset_factory("together")
create_openrouter_adapter = preset_factory("openrouter")
create_deepseek_adapter = preset_factory("deepseek")
create_xai_adapter = preset_factory("xai")
create_meta_llama_adapter = preset_factory("meta-llama")
