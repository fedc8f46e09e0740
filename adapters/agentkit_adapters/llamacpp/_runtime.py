"""The in-process llama.cpp model: loaded once per process, used by one call at a time.

llama.cpp decodes on the calling thread and holds one KV cache, so calls to
one model take turns (a lock) instead of loading a second copy. Generation
runs in a worker thread and hands chunks to the event loop, so other runs
and tools stay responsive; a consumer that stops listening stops generation
at the next token.
"""

from __future__ import annotations

import atexit
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
    """One loaded GGUF model and the lock that serialises its use.

    ``close`` frees it; every later use raises ``UserError``, and ``load``
    loads the file again.
    """

    def __init__(self, llama: Any, path: Path, threads: int) -> None:
        self.llama = llama
        self.path = path
        self.threads = threads
        self.lock = threading.Lock()
        self.closed = False

    def close(self, timeout: float = -1) -> bool:
        """Free llama.cpp's model, context and batch now, after any generation in progress.

        Args:
            timeout: Seconds to wait for a generation in progress; -1 waits for it.

        Returns:
            Whether the model is closed; False when the wait ran out (the model
            is then left as it was, still in use).
        """
        if not self.lock.acquire(timeout=timeout):
            return False
        try:
            if not self.closed:
                self.closed = True
                self.llama.close()
        finally:
            self.lock.release()
        with _loading:
            for key, model in list(_models.items()):
                if model is self:
                    del _models[key]
        return True

    def _refuse_if_closed(self) -> None:
        if self.closed:
            raise UserError(f"the local model {self.path.name} was closed; load it again to use it")

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` under this model's tokenizer.

        Raises:
            UserError: The model was closed.
        """
        self._refuse_if_closed()
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    async def chunks(self, kwargs: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """``create_chat_completion(stream=True, **kwargs)``, run in a worker thread.

        Closing the iterator (or cancelling its consumer) stops generation
        before the next token.

        Raises:
            UserError: The model was closed.
        """
        self._refuse_if_closed()
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
                self._refuse_if_closed()  # again under the lock: closed while it waited
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
_exit_hook = False  # whether _close_at_exit is registered


def _close_at_exit() -> None:
    """Close every loaded model while the interpreter can still run llama.cpp's cleanup.

    Left to ``Llama.__del__`` at interpreter teardown, the cleanup finds the
    ``llama_cpp`` module's functions already set to None and prints
    ``TypeError: 'NoneType' object is not callable`` from ``free_model``. A
    generation still running in a daemon thread gets a few seconds to stop;
    a model still busy after that is left as before.
    """
    for model in list(_models.values()):
        model.close(timeout=5.0)


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
        global _exit_hook
        if not _exit_hook:
            # Registered after llama_cpp's import, so it runs before anything
            # that import registered (atexit runs last-in, first-out).
            atexit.register(_close_at_exit)
            _exit_hook = True
        model = _models[key] = LocalModel(llama, path, threads)
        return model
