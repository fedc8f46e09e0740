"""The adapter contract: what the runner asks a model and what comes back.

An adapter is anything with this shape (a structural ``Protocol``), so a
third party's adapter plugs in exactly as ours do. It turns one
``ModelRequest`` into one provider call and the answer back into neutral
parts and stream events. It never loops, retries, runs tools or prices tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ._caching import PromptCache
from ._messages import Message, ToolCallPart, Usage

__all__ = [
    "Capabilities",
    "FinishReason",
    "ModelAdapter",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ReasoningDeltaEvent",
    "RefusalDeltaEvent",
    "ResponseEndEvent",
    "ResponseStartEvent",
    "RunWarning",
    "StreamEvent",
    "TextDeltaEvent",
    "ToolCallDeltaEvent",
    "ToolCallEndEvent",
    "ToolCallStartEvent",
    "ToolChoice",
    "ToolDefinition",
]

#: Why the model stopped, normalised across providers.
FinishReason = Literal[
    "stop", "length", "tool_calls", "content_filter", "refusal", "error", "other"
]

#: ``auto``, ``none``, ``required`` (some tool), or the name of one tool to force.
ToolChoice = str


class ToolDefinition(BaseModel):
    """A tool as the model sees it, in MCP's shape.

    Serialised with MCP's field names (``inputSchema``, ``outputSchema``) so a
    definition can be handed to an MCP client unchanged.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", defer_build=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")
    title: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] = Field(
        alias="inputSchema", description="JSON Schema 2020-12 of the arguments object"
    )
    output_schema: dict[str, Any] | None = Field(
        default=None, alias="outputSchema", description="JSON Schema 2020-12 of structuredContent"
    )
    annotations: dict[str, Any] | None = Field(
        default=None, description="MCP tool annotations (readOnlyHint, destructiveHint, ...)"
    )


class ModelSettings(BaseModel):
    """Sampling and request settings, neutral across providers.

    A setting an adapter cannot honour comes back as a ``RunWarning``; it is
    never dropped silently. ``extra`` is passed to the provider's request body
    as-is, for options agentkit does not model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: list[str] | None = None
    seed: int | None = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="deadline in seconds for each model call, from connecting to the last "
        "byte of the answer (keep-alives included); a call past it raises ProviderTimeoutError",
    )
    prompt_cache: bool | PromptCache | None = Field(
        default=None,
        description="cache the stable prefix (instructions, tools, earlier turns) with the "
        "provider's own mechanism: true, or {key, ttl, explicit_min_tokens}; a provider "
        "without one answers with a warning",
    )
    extra: dict[str, Any] = Field(default_factory=dict)

    def merged(self, override: ModelSettings | None) -> ModelSettings:
        """These settings with every field that ``override`` sets replacing ours."""
        if override is None:
            return self
        data = self.model_dump(exclude_unset=True)
        data.update(override.model_dump(exclude_unset=True))
        return ModelSettings.model_validate(data)


class RunWarning(BaseModel):
    """Something was changed or left out on the way to the provider.

    Attributes:
        kind: ``unsupported_setting``, ``unsupported_feature``, ``schema_changed``,
            ``fallback``, ``tool``, ``truncated`` (an answer was cut off at
            ``max_tokens``) or ``other``.
        message: A sentence a person can act on.
        feature: The setting, keyword or feature concerned.
        provider: The provider concerned, when there is one.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: Literal[
        "unsupported_setting",
        "unsupported_feature",
        "schema_changed",
        "fallback",
        "tool",
        "truncated",
        "other",
    ]
    message: str
    feature: str | None = None
    provider: str | None = None


class ModelResponse(BaseModel):
    """One complete answer from the model."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    message: Message
    finish_reason: FinishReason
    raw_finish_reason: str | None = Field(default=None, description="the provider's own word")
    usage: Usage | None = Field(default=None, description="null when the provider reported none")
    provider: str
    model_id: str = Field(description="the model that answered, as the provider names it")
    response_id: str | None = None
    refusal: str | None = Field(default=None, description="the model declined, in its words")
    warnings: list[RunWarning] = Field(default_factory=list)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class ResponseStartEvent(_Event):
    """A model call has started answering."""

    type: Literal["response_start"] = "response_start"
    provider: str
    model_id: str
    response_id: str | None = None


class TextDeltaEvent(_Event):
    """More answer text."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class RefusalDeltaEvent(_Event):
    """More of a refusal."""

    type: Literal["refusal_delta"] = "refusal_delta"
    text: str


class ReasoningDeltaEvent(_Event):
    """More reasoning text (a summary, when the provider only gives one)."""

    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class ToolCallStartEvent(_Event):
    """The model began a tool call. ``index`` ties the call's events together."""

    type: Literal["tool_call_start"] = "tool_call_start"
    index: int
    id: str
    name: str


class ToolCallDeltaEvent(_Event):
    """A fragment of a tool call's JSON arguments."""

    type: Literal["tool_call_delta"] = "tool_call_delta"
    index: int
    arguments_delta: str


class ToolCallEndEvent(_Event):
    """A tool call is complete; ``call`` holds the parsed arguments."""

    type: Literal["tool_call_end"] = "tool_call_end"
    index: int
    call: ToolCallPart


class ResponseEndEvent(_Event):
    """The model call is complete; ``response`` is the whole answer."""

    type: Literal["response_end"] = "response_end"
    response: ModelResponse


StreamEvent = Annotated[
    ResponseStartEvent
    | TextDeltaEvent
    | RefusalDeltaEvent
    | ReasoningDeltaEvent
    | ToolCallStartEvent
    | ToolCallDeltaEvent
    | ToolCallEndEvent
    | ResponseEndEvent,
    Field(discriminator="type"),
]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an adapter can do; the runner plans against it.

    Attributes:
        tools: Accepts tool definitions and returns tool calls.
        parallel_tool_calls: May return several tool calls in one answer.
        tool_choice: The tool-choice modes it honours: ``auto``, ``none``,
            ``required`` and ``named`` (force one tool).
        structured_output: ``native`` (the provider constrains output to a
            JSON schema), ``tool`` (force a tool whose arguments are the
            output) and/or ``prompted`` (describe the schema in the prompt).
        native_output_with_tools: ``native`` structured output can be asked
            for in a request that also offers tools. Gemini 2.x cannot combine
            them ("Function calling with a response mime type:
            'application/json' is unsupported"); Gemini 3 can. When False and
            the agent has tools, the runner plans tool-forcing instead.
        streaming: Has a streaming mode.
        tool_call_streaming: Streams tool-call arguments in fragments.
        usage_in_stream: Reports usage when streaming.
        image_input: Accepts images in user messages.
        reasoning: Produces reasoning parts.
        settings: Names of the ``ModelSettings`` fields it honours.
    """

    tools: bool = True
    parallel_tool_calls: bool = True
    tool_choice: frozenset[str] = frozenset({"auto", "none", "required", "named"})
    structured_output: frozenset[str] = frozenset({"native", "tool", "prompted"})
    native_output_with_tools: bool = True
    streaming: bool = True
    tool_call_streaming: bool = True
    usage_in_stream: bool = True
    image_input: bool = False
    reasoning: bool = False
    settings: frozenset[str] = frozenset(
        {"max_tokens", "temperature", "top_p", "stop", "seed", "parallel_tool_calls", "timeout"}
    )


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything one model call needs.

    Attributes:
        messages: The conversation, system messages included.
        tools: Tools the model may call.
        tool_choice: ``auto`` (default), ``none``, ``required`` or a tool's name.
        output_schema: JSON Schema the answer must match (native structured output).
        output_name: A name for the output schema, for providers that want one.
        settings: Sampling and request settings.
        allow_lossy_schemas: Let adapters send a tool or output schema that the
            provider can only take in a changed form that accepts different
            values (reported as warnings); otherwise that is an error.
    """

    messages: list[Message]
    tools: list[ToolDefinition] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    output_schema: dict[str, Any] | None = None
    output_name: str = "output"
    settings: ModelSettings = field(default_factory=ModelSettings)
    allow_lossy_schemas: bool = False


@runtime_checkable
class ModelAdapter(Protocol):
    """The shape every model adapter has.

    ``stream`` yields one ``ResponseStartEvent``, then deltas, then exactly one
    ``ResponseEndEvent`` whose response folds everything before it.
    """

    spec_version: Literal["1"]
    provider: str
    model_id: str
    capabilities: Capabilities

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one model call and return the whole answer."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming model call, yielding events as they arrive."""
        ...
