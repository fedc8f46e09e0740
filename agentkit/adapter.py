"""Everything a model adapter needs from agentkit, behind one public name.

Our adapters (``agentkit_adapters``) import from here and nowhere else in the
runtime, exactly like a third party's adapter on any HTTP stack would::

    from agentkit.adapter import (
        Capabilities, ModelRequest, ModelResponse, SSEDecoder, StreamAccumulator,
        compile_schema, map_http_error,
    )

The contract:

- An adapter is any object with ``spec_version = "1"``, ``provider``,
  ``model_id``, ``capabilities`` and the two calls ``generate(request)`` and
  ``stream(request)`` (see ``ModelAdapter``). It turns one ``ModelRequest`` into
  one HTTP exchange and the answer back into neutral parts and events; it never
  retries, loops, runs tools or prices tokens (the runner does, once, for all).
- A factory ``(model_id, *, base_url=None, api_key=None, headers=None,
  http_client=None, **own_options) -> adapter`` is registered in the
  ``agentkit.adapters`` entry-point group. Options win over environment
  variables, which a factory reads only as defaults. A factory that speaks a
  wire protocol the conformance kit can emulate says so with a
  ``wire_protocol`` attribute (``"openai-chat"``, ``"openai-responses"``,
  ``"gemini"`` or ``"ollama"``).
- Schemas go through ``compile_schema`` for the provider's dialect
  (``compile_schema_cached`` remembers the result across turns); every
  change is reported (``changes_to_warnings``), lossy ones raise
  ``SchemaCompileError`` unless the request allows them.
- Requests use the shared wording for what they cannot carry:
  ``tool_result_text`` (a tool result as text, placeholders and warnings
  included), ``resource_text``, ``unsupported_content`` (the error),
  ``reasoning_left_out`` and ``setting_not_sent`` (the warnings).
- Prompt caching is one setting (``ModelSettings.prompt_cache``):
  ``prompt_cache_of`` reads it, ``prefix_key`` gives the key of a request's
  fixed prefix; an adapter that honours it lists ``prompt_cache`` in its
  ``Capabilities.settings``.
- Streams are framed with ``SSEDecoder`` or ``NDJSONDecoder`` and folded with
  ``StreamAccumulator``; a whole answer replays as events with
  ``response_events``. Error statuses go through ``map_http_error``.
- A whole answer whose values the adapter has already coerced to their
  fields' types can be built without validating it again: ``unchecked`` (see
  its docstring for what the caller guarantees; the conformance kit checks it).
"""

from __future__ import annotations

from ._caching import PromptCache, prefix_key, prompt_cache_of
from ._conversion import (
    reasoning_left_out,
    resource_text,
    setting_not_sent,
    tool_result_text,
    unsupported_content,
)
from ._framing import NDJSONDecoder, SSEDecoder, SSEEvent
from ._http_errors import (
    map_error_body,
    map_http_error,
    parse_retry_after,
    scrub,
    scrub_error,
    scrub_value,
)
from ._model import (
    Capabilities,
    FinishReason,
    ModelAdapter,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDeltaEvent,
    RefusalDeltaEvent,
    ResponseEndEvent,
    ResponseStartEvent,
    RunWarning,
    StreamEvent,
    TextDeltaEvent,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
    ToolDefinition,
)
from ._schema_compile import (
    TARGETS,
    ChangeKind,
    CompiledSchema,
    SchemaChange,
    Target,
    changes_to_warnings,
    compile_for_openai,
    compile_schema,
    compile_schema_cached,
    is_strict_compatible,
    strip_added_nulls,
)
from ._stream import StreamAccumulator, parse_tool_arguments, response_events
from ._trusted import unchecked
from .exceptions import SchemaCompileError

__all__ = [
    "TARGETS",
    "Capabilities",
    "ChangeKind",
    "CompiledSchema",
    "FinishReason",
    "ModelAdapter",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "NDJSONDecoder",
    "PromptCache",
    "ReasoningDeltaEvent",
    "RefusalDeltaEvent",
    "ResponseEndEvent",
    "ResponseStartEvent",
    "RunWarning",
    "SSEDecoder",
    "SSEEvent",
    "SchemaChange",
    "SchemaCompileError",
    "StreamAccumulator",
    "StreamEvent",
    "Target",
    "TextDeltaEvent",
    "ToolCallDeltaEvent",
    "ToolCallEndEvent",
    "ToolCallStartEvent",
    "ToolDefinition",
    "changes_to_warnings",
    "compile_for_openai",
    "compile_schema",
    "compile_schema_cached",
    "is_strict_compatible",
    "map_error_body",
    "map_http_error",
    "parse_retry_after",
    "parse_tool_arguments",
    "prefix_key",
    "prompt_cache_of",
    "reasoning_left_out",
    "resource_text",
    "response_events",
    "scrub",
    "scrub_error",
    "scrub_value",
    "setting_not_sent",
    "strip_added_nulls",
    "tool_result_text",
    "unchecked",
    "unsupported_content",
]
