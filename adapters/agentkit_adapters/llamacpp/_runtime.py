"""The in-process llama.cpp model: loaded once per process, used by one call at a time.

llama.cpp decodes on the calling thread and holds one KV cache, so calls to
one model take turns (a lock) instead of loading a second copy. Generation
runs in a worker thread and hands chunks to the event loop, so other runs
and tools stay responsive; a consumer that stops listening stops generation
at the next token.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from agentkit.exceptions import UserError

__all__ = ["CONTEXT_TOKENS", "LocalModel", "default_threads", "load"]

_DONE: Any = object()

#: Key of the last item ``chunks`` yields: tokens in the context after the answer.
CONTEXT_TOKENS = "agentkit_context_tokens"


def default_threads() -> int:
    """Threads for generation: ``AGENTKIT_LLAMA_THREADS``, else half the cores.

    Generating one token is too little work to split: on a 2-core machine with
    SmolLM2-135M, two generation threads fell from ~15 to under 1 token/s when
    the other core was busy (OpenMP threads spinning against each other), while
    one thread kept most of its speed. Prompt processing, which batches, still
    uses every core (``n_threads_batch``); bench/local_model.py measures both.
    """
    configured = os.environ.get("AGENTKIT_LLAMA_THREADS")
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            raise UserError(
                f"AGENTKIT_LLAMA_THREADS must be a number, not {configured!r}"
            ) from None
    return max(1, (os.cpu_count() or 2) // 2)


class LocalModel:
    """One loaded GGUF model and the lock that serialises its use."""

    def __init__(self, llama: Any, path: Path, threads: int) -> None:
        self.llama = llama
        self.path = path
        self.threads = threads
        self.lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` under this model's tokenizer."""
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    async def chunks(self, kwargs: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """``create_chat_completion(stream=True, **kwargs)``, run in a worker thread.

        Closing the iterator (or cancelling its consumer) stops generation
        before the next token.
        """
        # The worker never waits on the event loop: it only puts into a
        # thread-safe queue. So it can neither block a loop nor be blocked by a
        # loop that has gone away, and it always lets go of the model's lock.
        items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        stop = threading.Event()
        worker = threading.Thread(target=self._generate, args=(kwargs, items, stop), daemon=True)
        worker.start()
        try:
            while True:
                item = await anyio.to_thread.run_sync(items.get, abandon_on_cancel=True)
                batch = [item]
                while not items.empty():  # take whatever else has arrived, one hop
                    batch.append(items.get_nowait())
                for item in batch:
                    if item is _DONE:
                        return
                    if isinstance(item, BaseException):
                        raise item
                    yield item
        finally:
            stop.set()
            items.put(_DONE)  # wakes a getter abandoned by cancellation

    def _generate(
        self, kwargs: dict[str, Any], items: queue.SimpleQueue[Any], stop: threading.Event
    ) -> None:
        with self.lock:
            stream: Iterator[dict[str, Any]] | None = None
            try:
                stream = self.llama.create_chat_completion(stream=True, **kwargs)
                for chunk in stream:
                    if stop.is_set():
                        break
                    items.put(chunk)
                else:
                    # Streaming reports no usage; the context length after the
                    # answer is prompt plus completion, read under the lock.
                    items.put({CONTEXT_TOKENS: int(self.llama.n_tokens)})
            except Exception as exc:
                items.put(exc)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
                items.put(_DONE)


_models: dict[tuple[str, int, int], LocalModel] = {}
_loading = threading.Lock()


def load(path: Path, *, n_ctx: int = 4096, threads: int | None = None) -> LocalModel:
    """The model at ``path``, loaded on first use and shared by the whole process.

    Raises:
        UserError: llama-cpp-python is not installed or the file does not load.
    """
    threads = threads or default_threads()
    key = (str(path), n_ctx, threads)
    with _loading:
        found = _models.get(key)
        if found is not None:
            return found
        # OpenMP's default is to spin waiting for work; on a busy machine the
        # spinning threads steal the cores that would do the work. Must be set
        # before llama.cpp's OpenMP runtime starts, i.e. before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError:
            raise UserError(
                "the local model needs llama-cpp-python: `uv sync` installs it "
                "(it builds llama.cpp from source once, about 10 minutes on 2 cores)"
            ) from None
        try:
            llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=os.cpu_count() or threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"cannot load the local model {path}: {exc}") from exc
        model = _models[key] = LocalModel(llama, path, threads)
        return model
