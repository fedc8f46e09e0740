"""The OpenAI Responses wire format (``POST /v1/responses``), as TypedDicts.

Only the fields agentkit reads or writes. Response types are ``total=False``:
the recordings in ``tests/fixtures/real_traffic/openai_responses`` show fields
coming and going between model generations (``completed_at``,
``prompt_cache_retention`` appear only in the 2026 recordings, vercel/ai's
fixtures carry no ``sequence_number``), so nothing here is assumed present.
``PreparedRequest`` pairs a body with what the parser needs to read its answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from agentkit import RunWarning
    from agentkit.adapter import CompiledSchema

__all__ = [
    "CustomToolCallItem",
    "CustomToolCallOutputItem",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionTool",
    "InputContent",
    "InputItem",
    "MessageItem",
    "OutputContent",
    "OutputItem",
    "PreparedRequest",
    "ReasoningItem",
    "ResponsesError",
    "ResponsesEvent",
    "ResponsesRequest",
    "ResponsesResponse",
    "ResponsesUsage",
    "SummaryText",
    "TextFormat",
]


# -- request --------------------------------------------------------------------------------


class InputContent(TypedDict, total=False):
    """A message content part: ``input_text``, ``input_image`` or ``output_text``."""

    type: Literal["input_text", "input_image", "output_text"]
    text: str
    image_url: str
    detail: Literal["low", "high", "auto"]


class MessageItem(TypedDict, total=False):
    """A message in the input: a plain string, or content parts.

    ``type: "message"`` is optional on input and left out, as in the recordings.
    """

    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputContent]


class FunctionCallItem(TypedDict, total=False):
    """A function call: ``call_id`` (``call_...``) is what the result refers to.

    The item ``id`` (``fc_...``) is optional on input and never sent: agentkit
    keeps only ``call_id``, and an ``fc_`` id without its reasoning item is
    refused by reasoning models.
    """

    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str
    status: str


class FunctionCallOutputItem(TypedDict):
    """The result of one function call, as text."""

    type: Literal["function_call_output"]
    call_id: str
    output: str


class CustomToolCallItem(TypedDict, total=False):
    """A free-form (``custom``) tool call: ``input`` is raw text, not JSON."""

    type: Literal["custom_tool_call"]
    call_id: str
    name: str
    input: str
    id: str
    status: str


class CustomToolCallOutputItem(TypedDict):
    """The result of one custom tool call."""

    type: Literal["custom_tool_call_output"]
    call_id: str
    output: str


class SummaryText(TypedDict):
    """One part of a reasoning summary."""

    type: Literal["summary_text"]
    text: str


class ReasoningItem(TypedDict, total=False):
    """A reasoning item; ``encrypted_content`` lets it travel without server state."""

    type: Literal["reasoning"]
    id: str
    summary: list[SummaryText]
    encrypted_content: str | None


#: Anything that may appear in ``input``.
InputItem = (
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | CustomToolCallItem
    | CustomToolCallOutputItem
    | ReasoningItem
)


class FunctionTool(TypedDict, total=False):
    """The flat tool shape. ``strict`` defaults to true on this API, so it is always sent."""

    type: Literal["function"]
    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool


class TextFormat(TypedDict, total=False):
    """``text.format`` for structured output."""

    type: Literal["json_schema", "text", "json_object"]
    name: str
    schema: dict[str, Any]
    strict: bool


class ResponsesRequest(TypedDict, total=False):
    """The body of ``POST /responses`` (``extra`` settings may add keys)."""

    model: str
    input: list[InputItem]
    instructions: str
    tools: list[Any]
    tool_choice: str | dict[str, str]
    parallel_tool_calls: bool
    text: dict[str, TextFormat]
    max_output_tokens: int
    temperature: float
    top_p: float
    reasoning: dict[str, str]
    include: list[str]
    store: bool
    prompt_cache_key: str
    prompt_cache_retention: str
    stream: bool


# -- response -------------------------------------------------------------------------------


class OutputContent(TypedDict, total=False):
    """A content part of an output message: ``output_text`` or ``refusal``."""

    type: str
    text: str
    refusal: str


class OutputItem(TypedDict, total=False):
    """One item of ``output``: ``message``, ``function_call``, ``custom_tool_call``,
    ``reasoning`` or a built-in tool's item (web search, ...)."""

    type: str
    id: str
    status: str
    role: str
    content: list[OutputContent]
    call_id: str
    name: str
    arguments: str
    input: str
    summary: list[SummaryText]
    encrypted_content: str | None


class ResponsesUsage(TypedDict, total=False):
    """Token counts: input includes cached, output includes reasoning."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, Any] | None
    output_tokens_details: dict[str, Any] | None


class ResponsesError(TypedDict, total=False):
    """``error`` of a failed response: ``code`` and ``message`` (``type`` sometimes)."""

    code: str | None
    message: str
    type: str
    param: str | None


class ResponsesResponse(TypedDict, total=False):
    """A whole response (``object: "response"``), also inside stream events."""

    id: str
    model: str
    status: Literal["completed", "incomplete", "failed", "in_progress", "cancelled", "queued"]
    output: list[OutputItem]
    usage: ResponsesUsage | None
    error: ResponsesError | None
    incomplete_details: dict[str, Any] | None


class ResponsesEvent(TypedDict, total=False):
    """One ``data:`` payload of a stream; which fields are set depends on ``type``."""

    type: str
    sequence_number: int
    response: ResponsesResponse
    output_index: int
    item_id: str
    item: OutputItem
    delta: str
    summary_index: int
    arguments: str
    # The ``error`` event: flat (code, message) in OpenAI's reference, nested under
    # ``error`` in the recording stream_error_insufficient_quota.
    error: ResponsesError
    code: str | None
    message: str


# -- what the converter hands the parser -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request body and what the parser needs to read its answer.

    Attributes:
        body: The JSON body.
        warnings: Everything that was changed or left out on the way.
        schemas: Compiled strict schemas by tool name, for those that made
            optional properties nullable (``strip_added_nulls`` needs them).
    """

    body: ResponsesRequest
    warnings: list[RunWarning]
    schemas: dict[str, CompiledSchema] = field(default_factory=dict)
