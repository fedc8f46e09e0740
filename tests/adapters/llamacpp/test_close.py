"""Closing the local model: explicitly, and at interpreter exit, never used again after.

Left to llama-cpp-python's ``__del__`` during interpreter teardown, freeing
the model can find the ``llama_cpp`` module's functions already gone and
print ``TypeError: 'NoneType' object is not callable``; the adapter closes
every model it loaded from an ``atexit`` hook, while they still exist.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from agentkit_adapters.llamacpp import _runtime
from agentkit_adapters.llamacpp._runtime import LocalModel

from agentkit.exceptions import UserError


class FakeLlama:
    """Counts closes; any use after one would be a use of freed memory in the real one."""

    def __init__(self) -> None:
        self.closes = 0

    def close(self) -> None:
        self.closes += 1

    def tokenize(self, data: bytes, **_: Any) -> list[int]:
        assert not self.closes, "used after close"
        return list(data)

    def create_chat_completion(self, **_: Any) -> Any:
        assert not self.closes, "used after close"
        return iter([{"choices": []}])


def test_close_frees_the_model_once_and_refuses_later_uses() -> None:
    llama = FakeLlama()
    model = LocalModel(llama, Path("m.gguf"), 1)
    assert model.count_tokens("hi") == 2
    assert model.close() is True
    assert model.close() is True  # a second close is a no-op
    assert llama.closes == 1
    with pytest.raises(UserError, match=r"m\.gguf was closed"):
        model.count_tokens("hi")


@pytest.mark.anyio
async def test_a_closed_model_generates_nothing() -> None:
    llama = FakeLlama()
    model = LocalModel(llama, Path("m.gguf"), 1)
    model.close()
    async with aclosing(model.chunks({})) as chunks:
        with pytest.raises(UserError, match="was closed"):
            await chunks.__anext__()


def test_close_waits_for_a_generation_and_gives_up_at_its_timeout() -> None:
    llama = FakeLlama()
    model = LocalModel(llama, Path("m.gguf"), 1)
    busy = threading.Event()
    release = threading.Event()

    def generation() -> None:
        with model.lock:  # what _generate holds while it decodes
            busy.set()
            release.wait()

    worker = threading.Thread(target=generation)
    worker.start()
    try:
        busy.wait()
        assert model.close(timeout=0.05) is False
        assert llama.closes == 0
        assert not model.closed
    finally:
        release.set()
        worker.join()
    assert model.close(timeout=5) is True
    assert llama.closes == 1


def test_load_after_close_loads_the_file_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    made: list[FakeLlama] = []

    def fake_llama(**_: Any) -> FakeLlama:
        made.append(FakeLlama())
        return made[-1]

    monkeypatch.setattr(llama_cpp, "Llama", fake_llama)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # load() sets it where unset
    monkeypatch.setattr(_runtime, "_models", {})
    first = _runtime.load(Path("fake.gguf"), threads=1)
    assert _runtime.load(Path("fake.gguf"), threads=1) is first
    first.close()
    second = _runtime.load(Path("fake.gguf"), threads=1)
    assert second is not first
    assert not second.closed
    assert [m.closes for m in made] == [1, 0]
    second.close()


# Registers its own atexit hook before loading the model, so it runs after
# the adapter's (last in, first out) and sees what that hook left.
_AT_EXIT = """
import atexit, sys
from agentkit_adapters.llamacpp import LlamaCppAdapter

def report():
    sys.stderr.write(f"closed at exit: {model.closed}\\n")

atexit.register(report)
model = LlamaCppAdapter("smollm2-135m").model()
assert model.count_tokens("hello") > 0
"""


def test_the_real_model_is_closed_at_exit_before_teardown() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _AT_EXIT], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "closed at exit: True" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
