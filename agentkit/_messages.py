"""The neutral conversation: messages made of typed parts, and token usage.

Parts are tagged by ``type`` like MCP's content blocks, so an MCP tool's
``TextContent`` passes through as a ``TextPart`` untouched. Everything here is
plain data: adapters translate it to and from each provider's wire format.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

from ._trusted import trusted

__all__ = [
    "AudioPart",
    "ContentBlock",
    "ImagePart",
    "Message",
    "Part",
    "ReasoningPart",
    "ResourcePart",
    "Role",
    "TextPart",
    "ToolCallPart",
    "ToolResultPart",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]


def _decode_b64(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return base64.b64decode(value, validate=True)
    raise ValueError("expected bytes or a base64 string")


#: Bytes that travel as base64 text in JSON, as in MCP's image and audio blocks.
Base64Bytes = Annotated[
    bytes,
    PlainValidator(_decode_b64, json_schema_input_type=str),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str),
    Field(json_schema_extra={"contentEncoding": "base64"}),
]


class _Part(BaseModel):
    # defer_build: a model's validator and serializer are built the first time
    # it is used, not at import. `from agentkit import Agent, run, tool` then
    # builds no model (and does not load pydantic's plugin machinery), and a
    # run builds only the models it touches. Every agentkit model does this.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class TextPart(_Part):
    """Plain text. Also MCP's text content block."""

    type: Literal["text"] = "text"
    text: str


class ImagePart(_Part):
    """An image, by URL or as bytes with a media type."""

    type: Literal["image"] = "image"
    url: str | None = None
    data: Base64Bytes | None = None
    media_type: str | None = Field(default=None, description="e.g. image/png; required with data")

    @model_validator(mode="after")
    def _url_or_data(self) -> ImagePart:
        if (self.url is None) == (self.data is None):
            raise ValueError("an image needs exactly one of url or data")
        if self.data is not None and not self.media_type:
            raise ValueError("an image given as data needs a media_type")
        return self


class AudioPart(_Part):
    """Audio bytes with a media type (MCP's audio content block)."""

    type: Literal["audio"] = "audio"
    data: Base64Bytes
    media_type: str


class ResourcePart(_Part):
    """An MCP resource: a link (``resource_link``) or embedded text or bytes."""

    type: Literal["resource"] = "resource"
    uri: str
    name: str | None = None
    media_type: str | None = None
    text: str | None = None
    data: Base64Bytes | None = None


#: What a tool result may hold: MCP's content block kinds.
ContentBlock = Annotated[
    TextPart | ImagePart | AudioPart | ResourcePart, Field(discriminator="type")
]


class ToolCallPart(_Part):
    """The model asks for a tool to be called.

    ``arguments`` is the parsed JSON object. When the provider sent text that
    is not a JSON object, ``arguments`` is empty and ``raw_arguments`` keeps
    the text, so the runner can tell the model what went wrong.
    """

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None


class ToolResultPart(_Part):
    """The outcome of one tool call, in MCP's result shape."""

    type: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str | None = Field(default=None, description="the tool's name; some providers need it")
    content: list[ContentBlock] = Field(default_factory=list)
    structured_content: dict[str, Any] | None = None
    is_error: bool = False

    @property
    def text(self) -> str:
        """The text blocks joined, the way a text-only provider sees the result."""
        return "\n".join(b.text for b in self.content if isinstance(b, TextPart))


class ReasoningPart(_Part):
    """The model's reasoning: summary text and/or a provider-opaque signature.

    Stamped with the provider and model that made it: adapters replay it only
    to that provider (with its signature) and never as plain text to another.
    """

    type: Literal["reasoning"] = "reasoning"
    text: str | None = None
    signature: str | None = Field(
        default=None, description="opaque data the provider needs back (encrypted reasoning)"
    )
    id: str | None = Field(default=None, description="the provider's id for this item")
    provider: str | None = None
    model: str | None = None


Part = Annotated[
    TextPart | ImagePart | AudioPart | ResourcePart | ToolCallPart | ToolResultPart | ReasoningPart,
    Field(discriminator="type"),
]


class Message(BaseModel):
    """One turn of the conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    role: Role
    parts: list[Part]

    @classmethod
    def system(cls, text: str) -> Message:
        """A system message holding ``text``."""
        return cls(role="system", parts=[TextPart(text=text)])

    @classmethod
    def user(cls, text: str) -> Message:
        """A user message holding ``text``."""
        return cls(role="user", parts=[TextPart(text=text)])

    @classmethod
    def assistant(cls, text: str) -> Message:
        """An assistant message holding ``text``."""
        return cls(role="assistant", parts=[TextPart(text=text)])

    @property
    def text(self) -> str:
        """All text parts joined (reasoning and tool parts left out)."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        """The tool calls in this message, in order."""
        return [p for p in self.parts if isinstance(p, ToolCallPart)]


class Usage(BaseModel):
    """Token usage of one or more model calls.

    Field names follow the OpenTelemetry GenAI attributes
    (``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``,
    ``gen_ai.usage.cache_read.input_tokens``,
    ``gen_ai.usage.cache_creation.input_tokens``,
    ``gen_ai.usage.reasoning.output_tokens``). As there, ``input_tokens``
    includes the cached ones and ``output_tokens`` includes reasoning.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    requests: int = Field(default=1, ge=0, description="model calls counted here")
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_read_input_tokens: int = Field(default=0, ge=0)
    cache_creation_input_tokens: int = Field(default=0, ge=0)
    reasoning_output_tokens: int = Field(default=0, ge=0)
    cost_usd: float | None = Field(
        default=None, description="price in US dollars; null when any part is unknown"
    )

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        # An unknown price anywhere makes the sum unknown: never report it as zero.
        cost = (
            None
            if self.cost_usd is None or other.cost_usd is None
            else self.cost_usd + other.cost_usd
        )
        requests = self.requests + other.requests
        input_tokens = self.input_tokens + other.input_tokens
        output_tokens = self.output_tokens + other.output_tokens
        cache_read = self.cache_read_input_tokens + other.cache_read_input_tokens
        cache_creation = self.cache_creation_input_tokens + other.cache_creation_input_tokens
        reasoning = self.reasoning_output_tokens + other.reasoning_output_tokens
        values = {
            "requests": requests,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_creation,
            "reasoning_output_tokens": reasoning,
            "cost_usd": cost,
        }
        # Sums of validated counts are valid counts: validating them again was
        # the fold's largest cost per call. Anything else (a model built
        # without validation, holding other types) is validated as before.
        kinds = {
            type(requests),
            type(input_tokens),
            type(output_tokens),
            type(cache_read),
            type(cache_creation),
            type(reasoning),
        }
        if (
            kinds == _INT
            and type(cost) in _COST_TYPES
            and min(requests, input_tokens, output_tokens, cache_read, cache_creation, reasoning)
            >= 0
        ):
            return trusted(Usage, values, set(values))
        return Usage(**values)


_INT = frozenset({int})
_COST_TYPES = (type(None), float)
