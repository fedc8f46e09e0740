"""The offline default model: load time, tokens/s, and a full example run.

Measures SmolLM2-135M through ``LlamaCppAdapter`` with the thread setting the
adapter picks (or ``--threads``), idle and with the other cores kept busy by
spinning processes, since a laptop or CI machine is rarely idle.

    uv run python bench/local_model.py [--threads N] [--tokens 128]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from pathlib import Path

import anyio
from agentkit_adapters.llamacpp import LlamaCppAdapter, default_threads

from agentkit import Message, ModelRequest, ModelSettings, load_agent, run

EXAMPLE = Path(__file__).parent.parent / "examples" / "weather" / "agent.yaml"


def _spin() -> None:
    while True:
        pass


async def _tokens_per_second(adapter: LlamaCppAdapter, tokens: int) -> tuple[float, int]:
    request = ModelRequest(
        messages=[Message.user("Tell me a long story about a lighthouse keeper.")],
        settings=ModelSettings(max_tokens=tokens),
    )
    started = time.perf_counter()
    response = await adapter.generate(request)
    elapsed = time.perf_counter() - started
    assert response.usage is not None
    return response.usage.output_tokens / elapsed, response.usage.output_tokens


async def _example_run(adapter: LlamaCppAdapter) -> tuple[float, str]:
    agent = load_agent(EXAMPLE)
    started = time.perf_counter()
    result = await run(agent, "What's the weather in Paris?", model=adapter)
    return time.perf_counter() - started, str(result.output)


async def measure(threads: int, tokens: int, busy: int) -> None:
    started = time.perf_counter()
    adapter = LlamaCppAdapter("smollm2-135m", threads=threads)
    adapter.model()
    load = time.perf_counter() - started
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(busy)]
    for p in spinners:
        p.start()
    try:
        rates = [await _tokens_per_second(adapter, tokens) for _ in range(3)]
        runs = [await _example_run(adapter) for _ in range(3)]
    finally:
        for p in spinners:
            p.terminate()
    rate = statistics.median(r for r, _ in rates)
    seconds = statistics.median(s for s, _ in runs)
    print(
        f"threads={threads} (batch {os.cpu_count()}) busy_cores={busy}: "
        f"load {load:.2f} s, {rate:.1f} tokens/s over {rates[0][1]} tokens, "
        f"example run {seconds:.2f} s"
    )
    print(f"  example answer: {runs[0][1]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    others = max(1, (os.cpu_count() or 2) - args.threads)
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'PASSIVE (set by the adapter)')}")
    for busy in (0, others):
        anyio.run(measure, args.threads, args.tokens, busy)


if __name__ == "__main__":
    main()
