"""The Gemini ``generateContent`` wire format (v1beta REST, JSON field names), as TypedDicts.

Only the fields agentkit reads or writes. Every type is ``total=False``: the
API leaves fields out freely (no ``id`` on a Gemini 2.5 ``functionCall``, no
``candidatesTokenCount`` while a stream is still thinking, only
``trafficType`` in Vertex's intermediate ``usageMetadata``), as the
real-traffic cases ``tests/fixtures/real_traffic/gemini/*`` show.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "Blob",
    "Candidate",
    "Content",
    "FileData",
    "FunctionCall",
    "FunctionCallingConfig",
    "FunctionDeclaration",
    "FunctionResponse",
    "GenerateContentRequest",
    "GenerateContentResponse",
    "GenerationConfig",
    "Part",
    "PartialArg",
    "PromptFeedback",
    "ThinkingConfig",
    "Tool",
    "ToolConfig",
    "UsageMetadata",
]


class PartialArg(TypedDict, total=False):
    """One streamed piece of a Vertex function call's arguments (``streamFunctionCallArguments``).

    ``jsonPath`` says where the value goes (``$.location``); a string value
    with ``willContinue`` is continued by the next piece with the same path.
    """

    jsonPath: str
    stringValue: str
    numberValue: float
    boolValue: bool
    nullValue: Any
    willContinue: bool


class FunctionCall(TypedDict, total=False):
    """``{"name", "args"}``: ``args`` is a JSON *object*; ``id`` only from Gemini 3."""

    id: str
    name: str
    args: dict[str, Any]
    partialArgs: list[PartialArg]
    willContinue: bool


class FunctionResponse(TypedDict, total=False):
    """A tool result: ``response`` is an object with ``output`` or ``error``."""

    id: str
    name: str
    response: dict[str, Any]


class Blob(TypedDict):
    """``inlineData``: base64 bytes and their media type."""

    mimeType: str
    data: str


class FileData(TypedDict, total=False):
    """``fileData``: content by URI."""

    mimeType: str
    fileUri: str


class Part(TypedDict, total=False):
    """One part of a turn: exactly one of the data fields, plus the thought flags."""

    text: str
    thought: bool
    thoughtSignature: str
    inlineData: Blob
    fileData: FileData
    functionCall: FunctionCall
    functionResponse: FunctionResponse


class Content(TypedDict, total=False):
    """A turn: ``role`` is ``user`` or ``model``."""

    role: Literal["user", "model"]
    parts: list[Part]


class FunctionDeclaration(TypedDict, total=False):
    """A tool: ``parametersJsonSchema`` (JSON Schema) or ``parameters`` (OpenAPI), never both."""

    name: str
    description: str
    parametersJsonSchema: dict[str, Any]
    parameters: dict[str, Any]


class Tool(TypedDict, total=False):
    """``{"functionDeclarations": [...]}``."""

    functionDeclarations: list[FunctionDeclaration]


class FunctionCallingConfig(TypedDict, total=False):
    """``mode`` AUTO, ANY (some function) or NONE; ANY with names forces those."""

    mode: Literal["AUTO", "ANY", "NONE", "VALIDATED"]
    allowedFunctionNames: list[str]


class ToolConfig(TypedDict, total=False):
    """``{"functionCallingConfig": {...}}``."""

    functionCallingConfig: FunctionCallingConfig


class ThinkingConfig(TypedDict, total=False):
    """Gemini 2.5 takes a token budget, Gemini 3 a level."""

    includeThoughts: bool
    thinkingBudget: int
    thinkingLevel: Literal["minimal", "low", "medium", "high"]


class GenerationConfig(TypedDict, total=False):
    """Sampling, output format and thinking."""

    maxOutputTokens: int
    temperature: float
    topP: float
    stopSequences: list[str]
    seed: int
    responseMimeType: str
    responseJsonSchema: dict[str, Any]
    responseSchema: dict[str, Any]
    thinkingConfig: ThinkingConfig


class GenerateContentRequest(TypedDict, total=False):
    """The body of ``models/{model}:generateContent`` and ``:streamGenerateContent``."""

    contents: list[Content]
    systemInstruction: Content
    tools: list[Tool]
    toolConfig: ToolConfig
    generationConfig: GenerationConfig
    cachedContent: str


class UsageMetadata(TypedDict, total=False):
    """Token counts; ``totalTokenCount`` = prompt + toolUsePrompt + candidates + thoughts."""

    promptTokenCount: int
    candidatesTokenCount: int
    thoughtsTokenCount: int
    cachedContentTokenCount: int
    toolUsePromptTokenCount: int
    totalTokenCount: int


class Candidate(TypedDict, total=False):
    """One answer: ``finishReason`` only on a stream's last chunk."""

    content: Content
    finishReason: str
    finishMessage: str
    index: int
    safetyRatings: list[dict[str, Any]]


class PromptFeedback(TypedDict, total=False):
    """Set when the prompt itself was blocked (then there are no candidates)."""

    blockReason: str
    blockReasonMessage: str
    safetyRatings: list[dict[str, Any]]


class GenerateContentResponse(TypedDict, total=False):
    """A whole answer, or one SSE chunk of a streamed one (the same shape)."""

    candidates: list[Candidate]
    promptFeedback: PromptFeedback
    usageMetadata: UsageMetadata
    modelVersion: str
    responseId: str
    error: dict[str, Any]
