"""Runner policy for model calls: retries, the fallback chain, capability checks, budgets.

All of it lives here, once, so every adapter gets the same behaviour; an
adapter only ever makes one attempt at one call.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

import anyio

from ._messages import ImagePart, Message, Usage
from ._model import Capabilities, ModelAdapter, ModelRequest, ModelSettings, RunWarning
from .exceptions import (
    AdapterError,
    ProviderConnectionError,
    ProviderHTTPError,
    RateLimitError,
    ServerError,
    UnsupportedFeatureError,
)

__all__ = [
    "RetryPolicy",
    "check_capabilities",
    "estimate_cost",
    "is_retryable",
    "parse_model_chain",
    "should_fall_back",
    "spent_usd",
]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the runner retries a failed model call.

    Retried: rate limits (429), server errors (5xx), 408/409 and broken
    connections. The provider's ``Retry-After`` wins over the backoff; a wait
    longer than the time left gives up at once instead of sleeping in vain.

    Attributes:
        max_attempts: Attempts per model, the first included.
        initial_delay: Seconds before the first retry.
        max_delay: Upper bound of one backoff delay.
        max_elapsed: Seconds all attempts at one call may take together.
        jitter: Random fraction added to or removed from each delay, so that
            many clients failing together do not retry together.
        clock: Seconds on a monotonic clock; measures ``max_elapsed``.
        sleep: Waits between attempts. Tests pass a fake clock and sleeper
            so that retries take no real time.
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 60.0
    jitter: float = 0.25
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    sleep: Callable[[float], Awaitable[None]] = field(
        default=anyio.sleep, repr=False, compare=False
    )

    def delay(self, attempt: int, error: AdapterError, elapsed: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to stop retrying."""
        if attempt >= self.max_attempts or not is_retryable(error):
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = float(retry_after)
        else:
            wait = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
            wait *= 1 + random.uniform(-self.jitter, self.jitter)
        if elapsed + wait > self.max_elapsed:
            return None
        return max(0.0, wait)


#: Rate-limit codes that mean the account is out of quota: waiting will not help.
_EXHAUSTED = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


def is_retryable(error: AdapterError) -> bool:
    """Whether trying the same call again may succeed."""
    if isinstance(error, RateLimitError):
        return error.code not in _EXHAUSTED
    if isinstance(error, ServerError | ProviderConnectionError):
        return True
    return isinstance(error, ProviderHTTPError) and error.status_code in (408, 409)


def should_fall_back(error: AdapterError) -> bool:
    """Whether the next model of a chain should be tried after ``error``."""
    # An exhausted quota is not worth retrying, but another provider has its own.
    return is_retryable(error) or isinstance(error, UnsupportedFeatureError | RateLimitError)


def parse_model_chain(models: str | Sequence[str]) -> list[str]:
    """``"a:x,b:y"`` or ``["a:x", "b:y"]`` as a list of model strings."""
    items = models.split(",") if isinstance(models, str) else list(models)
    return [m.strip() for m in items if m.strip()]


_SETTING_NAMES = tuple(ModelSettings.model_fields)


def _has_images(messages: Sequence[Message]) -> bool:
    return any(isinstance(p, ImagePart) for m in messages for p in m.parts)


def check_capabilities(
    request: ModelRequest, adapter: ModelAdapter
) -> tuple[ModelRequest, list[RunWarning]]:
    """Fit ``request`` to what ``adapter`` declares it can do.

    Settings and tool-choice modes it cannot honour are removed with a
    warning each; content it cannot take at all raises, so that a model
    chain can move on to a model that can.

    Raises:
        UnsupportedFeatureError: tools or images that this adapter cannot take.
    """
    caps: Capabilities = adapter.capabilities
    provider, model_id = adapter.provider, adapter.model_id
    if request.tools and not caps.tools:
        raise UnsupportedFeatureError(
            "this model cannot call tools, and the agent has tools",
            provider=provider,
            model_id=model_id,
        )
    if not caps.image_input and _has_images(request.messages):
        raise UnsupportedFeatureError(
            "this model does not take images", provider=provider, model_id=model_id
        )
    warnings: list[RunWarning] = []
    settings = request.settings
    given = settings.model_fields_set
    unsupported = (
        [
            name
            for name in given
            if name != "extra"
            and name not in caps.settings
            and getattr(settings, name) is not None
            # prompt_cache: false asks for nothing, so there is nothing to warn about.
            and not (name == "prompt_cache" and settings.prompt_cache is False)
        ]
        if given
        else []
    )
    if unsupported:
        for name in sorted(unsupported):
            warnings.append(
                RunWarning(
                    kind="unsupported_setting",
                    feature=name,
                    provider=provider,
                    message=f"{provider}:{model_id} does not support the setting {name!r}; "
                    "it was not sent",
                )
            )
        kept = settings.model_dump(exclude_unset=True, exclude=set(unsupported))
        settings = ModelSettings.model_validate(kept)
    tool_choice = request.tool_choice
    if tool_choice is not None:
        mode = tool_choice if tool_choice in ("auto", "none", "required") else "named"
        if mode not in caps.tool_choice:
            warnings.append(
                RunWarning(
                    kind="unsupported_feature",
                    feature="tool_choice",
                    provider=provider,
                    message=f"{provider}:{model_id} cannot force tool choice {tool_choice!r}; "
                    "the model chooses freely",
                )
            )
            tool_choice = None
    if settings is not request.settings or tool_choice != request.tool_choice:
        request = replace(request, settings=settings, tool_choice=tool_choice)
    return request, warnings


def estimate_cost(model: str, request: ModelRequest) -> float | None:
    """A pessimistic price of one call before it is made, or None if unknown.

    Input is estimated at four characters a token over the whole request;
    output at ``max_tokens`` (or 1,024 when unset).
    """
    from ._cost import price_usage

    chars = sum(len(p.model_dump_json()) for m in request.messages for p in m.parts)
    chars += sum(len(t.model_dump_json()) for t in request.tools)
    estimate = Usage(input_tokens=chars // 4 + 1, output_tokens=request.settings.max_tokens or 1024)
    return price_usage(model, estimate).cost_usd


def spent_usd(usage_by_model: dict[str, Usage]) -> float | None:
    """What a run has cost so far, or None if any model's price is unknown."""
    from ._cost import price_usage

    total = 0.0
    for key, usage in usage_by_model.items():
        cost = price_usage(key, usage).cost_usd
        if cost is None:
            return None
        total += cost
    return total
