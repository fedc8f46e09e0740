"""What a Gemini model can do, looked up by its id (a profile, as pydantic-ai's model profiles).

One adapter serves every Gemini model, but the models differ, and the runner
plans from the capabilities the adapter declares (structured output, above
all), so they must be those of the model actually called:

- Gemini 2.x answers 400 "Function calling with a response mime type:
  'application/json' is unsupported" when a request offers tools and asks
  for JSON output; Gemini 3 takes both (its developer guide's "Structured
  Outputs with tools"). pydantic-ai gates the same combination on the model
  version (``google_supports_native_output_with_function_tools``).
- Every model sends whole function calls per chunk
  (``parallel_function_calls_stream_25flash``, ``function_call_gemini3pro``),
  so none streams tool-call fragments.

An id this table cannot place (an alias such as ``gemini-flash-latest``, a
Gemma model) gets the conservative profile: everything it declares works on
every model.
"""

from __future__ import annotations

import re

from agentkit import Capabilities

__all__ = ["GEMINI_SETTINGS", "gemini_capabilities", "gemini_generation"]

#: ``prompt_cache`` is honoured by implicit caching (nothing to send) and, on
#: the Gemini API, explicit cached contents for long fixed prefixes.
GEMINI_SETTINGS = frozenset(
    {
        "max_tokens", "temperature", "top_p", "stop", "seed", "reasoning_effort", "timeout",
        "prompt_cache", "extra",
    }
)  # fmt: skip

# "gemini-2.5-flash", "gemini-3-pro-preview", "gemini-3.1-flash-lite", "models/gemini-2.0-flash"...
_VERSION = re.compile(r"^(?:models/)?gemini-(\d+)(?:\.(\d+))?(?:-|$)")


def gemini_generation(model_id: str) -> tuple[int, int] | None:
    """The model's ``(major, minor)`` version from its id, or None when the id does not say."""
    match = _VERSION.match(model_id)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def gemini_capabilities(model_id: str) -> Capabilities:
    """The capabilities of one Gemini model, by id.

    Args:
        model_id: The model asked, e.g. ``gemini-2.5-flash`` (a ``models/``
            prefix is accepted).

    Returns:
        What the adapter declares for that model.
    """
    generation = gemini_generation(model_id)
    return Capabilities(
        tool_call_streaming=False,
        native_output_with_tools=generation is not None and generation >= (3, 0),
        image_input=True,
        reasoning=True,
        settings=GEMINI_SETTINGS,
    )
