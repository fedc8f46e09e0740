"""From a mode and a model string to a harness, configuring the adapter only by options.

The kit builds the adapter under test with its factory,
``factory(model_id, base_url=..., api_key=...)``, and nothing else: no
environment is written and no transport is swapped, so every mode works for
an adapter with any HTTP stack. What ``base_url`` means follows the wire
protocol (``wire_base_path``, from the wire's entry in ``WIRES``): the API
root with ``/v1`` for OpenAI's wires, the root without a version for Gemini
and Anthropic, the server root for Ollama.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .._model import ModelAdapter
from ..exceptions import AgentkitError, HarnessError, UserError
from ._harness import EmulatedHarness, LiveHarness
from ._recording import RecordingHarness, ReplayHarness, wire_base_path
from ._wires import PLACEHOLDER_KEY, WIRES, cassette_folder, routed_wire

__all__ = [
    "ENDPOINT_PROTOCOLS",
    "MODES",
    "PLACEHOLDER_KEY",
    "WIRE_PROTOCOLS",
    "AdapterBuilder",
    "build_harness",
    "endpoint_adapter",
]

#: The wire protocols the kit has an emulator for (one entry each in ``WIRES``).
WIRE_PROTOCOLS = tuple(WIRES)
MODES = ("emulated", "live", "record", "replay", "endpoint")

#: openai-chat presets endpoint mode can check a server against: name -> provider.
#: Each checks the server against the capabilities that preset claims.
_OPENAI_CHAT_PRESETS = {
    "vllm": "vllm",
    "llamacpp-server": "llamacpp-server",
    "ollama-openai": "ollama-openai",
}
#: Protocols the endpoint mode can check: name -> the provider whose adapter speaks it
#: (every wire with an adapter of ours, and the openai-chat presets).
ENDPOINT_PROTOCOLS: dict[str, str] = {
    name: wire.provider for name, wire in WIRES.items() if wire.provider is not None
} | _OPENAI_CHAT_PRESETS
#: Endpoint protocols whose adapter needs a key even for a local server:
#: the variable read for it (else a placeholder is sent, which local servers ignore).
_ENDPOINT_KEYS = {
    name: wire.key_variable for name, wire in WIRES.items() if wire.key_variable is not None
}


@dataclass
class AdapterBuilder:
    """Builds the adapter under test from its factory, given a ``base_url``.

    Attributes:
        provider: The provider name (for messages).
        model_id: The model id passed to the factory.
        factory: ``factory(model_id, *, base_url=None, api_key=None, ...)``.
        api_key: The key option; None leaves the factory to its own default.
        options: More factory options, from the wire's entry (``on_wire``).
    """

    provider: str
    model_id: str
    factory: Callable[..., ModelAdapter]
    api_key: str | None = PLACEHOLDER_KEY
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_model(
        cls, model: str, factory: Callable[..., ModelAdapter] | None = None, **kw: Any
    ) -> AdapterBuilder:
        """The builder for ``provider:model`` (its registered factory unless one is given).

        Raises:
            UserError: the string names no provider, or nothing is registered for it.
        """
        from .._registry import adapter_factory

        provider, sep, model_id = model.partition(":")
        if not sep or not provider:
            raise UserError(f"model {model!r} names no provider: write it as provider:model")
        return cls(provider, model_id, factory or adapter_factory(provider), **kw)

    def __call__(self, base_url: str | None) -> ModelAdapter:
        """The adapter, pointed at ``base_url`` (None: the factory's default).

        Raises:
            UserError: the factory does not take ``base_url``, or refuses the options.
            HarnessError: the factory crashed.
        """
        from .._registry import _unknown_options

        options = {"base_url": base_url, "api_key": self.api_key} | self.options
        given = {name: value for name, value in options.items() if value is not None}
        unknown = _unknown_options(self.factory, given)
        if "base_url" in unknown:
            raise UserError(
                f"the adapter factory for {self.provider!r} does not take base_url: the "
                "conformance kit reaches adapters only through "
                "factory(model_id, *, base_url=..., api_key=...)"
            )
        wanted = sorted(set(unknown) & set(self.options) - {"api_key"})
        if wanted:
            raise UserError(
                f"the adapter factory for {self.provider!r} does not take "
                f"{', '.join(wanted)}, which the wire it is run on needs to reach its "
                "URL shapes: pick another --wire"
            )
        # The kit's key is a placeholder for its own servers: a factory without
        # an api_key option simply does not get one.
        if "api_key" in unknown:
            del given["api_key"]
        try:
            return self.factory(self.model_id, **given)
        except AgentkitError:
            raise
        except Exception as exc:
            raise HarnessError(
                f"the adapter factory for {self.provider!r} raised {type(exc).__name__}: {exc}"
            ) from exc

    def at_root(self, protocol: str) -> Callable[[str], ModelAdapter]:
        """Builds the adapter for a server's root URL, as ``protocol``'s ``base_url`` wants it."""
        return lambda root: self(root + wire_base_path(protocol))

    def on_wire(self, wire: str | None) -> AdapterBuilder:
        """This builder with the factory options ``wire``'s entry needs (none for None)."""
        entry = WIRES.get(wire or "")
        return replace(self, options=entry.options() if entry is not None else {})

    def chosen_wire(self, given: str | None) -> str | None:
        """``given``, else the wire a host's entry routes this model to, else the declared one."""
        declared = getattr(self.factory, "wire_protocol", None)
        routed = routed_wire(self.provider, self.model_id)
        return given or routed or (declared if isinstance(declared, str) else None)

    def cassette_folder(self, wire: str | None) -> str:
        """The folder of this provider's cassettes on ``wire`` (see ``cassette_folder``)."""
        return cassette_folder(self.provider, wire)

    def wire(self, given: str | None) -> str:
        """The wire protocol: ``given``, else the one a host's entry in ``WIRES``
        routes this provider and model to, else the factory's ``wire_protocol``.

        Raises:
            UserError: none names one the kit can emulate.
        """
        wire = self.chosen_wire(given)
        choices = "|".join(WIRE_PROTOCOLS)
        if wire is None:
            raise UserError(
                f"the adapter factory for {self.provider!r} declares no wire protocol: pass "
                f"--wire {choices} (the protocol its base_url speaks), or give the factory "
                "a wire_protocol attribute; an adapter that sends no HTTP runs --mode live"
            )
        if wire not in WIRE_PROTOCOLS:
            raise UserError(f"unknown wire protocol {wire!r}: the kit emulates {choices}")
        return wire

    def default_upstream(self) -> str:
        """The factory's own default base URL, for a live recording without ``--upstream``.

        Raises:
            UserError: the adapter names no ``base_url`` the kit could read.
        """
        adapter = AdapterBuilder(self.provider, self.model_id, self.factory, None)(None)
        url = getattr(adapter, "base_url", None)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UserError(
                f"recording {self.provider!r} live needs the real API's URL: "
                "pass --upstream URL (its base_url, e.g. https://api.openai.com/v1)"
            )
        return url


def endpoint_adapter(url: str, protocol: str, model: str | None = None) -> ModelAdapter:
    """Our adapter for ``protocol``, pointed at the server at ``url`` through its options.

    Keys are read from the environment when set there (``OPENAI_API_KEY``...);
    otherwise a placeholder is sent, which local servers ignore.

    Raises:
        UserError: an unknown protocol.
    """
    provider = ENDPOINT_PROTOCOLS.get(protocol)
    if provider is None:
        raise UserError(
            f"unknown protocol {protocol!r}; known: {', '.join(sorted(ENDPOINT_PROTOCOLS))}"
        )
    root = url.rstrip("/").removesuffix("/v1").removesuffix("/v1beta")
    variable = _ENDPOINT_KEYS.get(protocol)
    key = (os.environ.get(variable) or PLACEHOLDER_KEY) if variable else None
    builder = AdapterBuilder.for_model(f"{provider}:{model or 'default'}", api_key=key)
    wire = protocol if protocol in WIRE_PROTOCOLS else "openai-chat"
    return builder.at_root(wire)(root)


def build_harness(
    model: str | ModelAdapter,
    mode: str,
    *,
    cassettes: str | Path | None = None,
    record_from: str = "live",
    endpoint: str | None = None,
    protocol: str | None = None,
    wire: str | None = None,
    upstream: str | None = None,
    factory: Callable[..., ModelAdapter] | None = None,
) -> tuple[Any, str]:
    """The harness for ``mode``, not yet entered, and the name of what it checks.

    See ``check_adapter`` for the arguments.

    Raises:
        UserError: the mode is unknown or cannot apply to ``model``.
    """
    if mode not in MODES:
        raise UserError(f"unknown mode {mode!r} ({', '.join(MODES)})")
    if mode == "endpoint":
        if not endpoint or not protocol:
            raise UserError("endpoint mode needs --endpoint URL and --protocol NAME")
        name = model if isinstance(model, str) else model.model_id
        return LiveHarness(endpoint_adapter(endpoint, protocol, name or None)), (
            f"{protocol} server at {endpoint}"
        )
    if not isinstance(model, str):
        if mode != "live":
            raise UserError(
                f"{mode} mode needs a model string (provider:model) or a factory: the kit "
                "points the adapter at its loopback server through the factory's base_url"
            )
        return LiveHarness(model), f"{model.provider}:{model.model_id}"
    if mode in ("record", "replay") and cassettes is None:
        raise UserError(f"{mode} mode needs a cassettes directory (--cassettes DIR)")
    builder = AdapterBuilder.for_model(model, factory)
    if mode == "emulated":
        chosen = builder.wire(wire)
        return EmulatedHarness(chosen, builder.on_wire(chosen).at_root(chosen)), model
    if mode == "live":
        live = AdapterBuilder(builder.provider, builder.model_id, builder.factory, None)
        return LiveHarness(live(None)), model
    if mode == "replay":
        # A host's cassettes were recorded with its wire's options: replay with them too.
        routed = builder.chosen_wire(wire)
        folder = builder.cassette_folder(routed)
        return ReplayHarness(str(cassettes), model, builder.on_wire(routed), folder), model
    assert cassettes is not None
    if record_from == "emulated":
        chosen = builder.wire(wire)
        builder = builder.on_wire(chosen)
        inner = EmulatedHarness(chosen, builder.at_root(chosen))
        folder = builder.cassette_folder(chosen)
        return RecordingHarness(builder, cassettes, model, inner, folder), model
    if record_from != "live":
        raise UserError(f"record_from must be live or emulated, not {record_from!r}")
    # Live: the adapter's own key (from its factory's defaults) goes through the proxy.
    live = AdapterBuilder(builder.provider, builder.model_id, builder.factory, None)
    return RecordingHarness(live, cassettes, model, upstream or live.default_upstream()), model
