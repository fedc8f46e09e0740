"""A clock that moves only when the runner sleeps, so retry tests wait for nothing."""

from __future__ import annotations

from typing import Any

from agentkit import RetryPolicy


class FakeTime:
    """``clock`` and ``sleep`` for a ``RetryPolicy``; ``sleeps`` records each wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def policy(self, **options: Any) -> RetryPolicy:
        """A retry policy on this fake time (jitter off, so waits are exact)."""
        options.setdefault("jitter", 0)
        return RetryPolicy(clock=self.clock, sleep=self.sleep, **options)
