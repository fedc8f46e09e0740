"""Tool calling for models without it: a JSON protocol enforced by grammar.

A small local model is not trained to call tools, but llama.cpp can constrain
decoding to a JSON Schema. The model is told the protocol in the system
prompt and can only produce one of these objects:

    {"tool": "<name>", "arguments": {...}}      call one of the offered tools
    {"answer": "<text>"}                        or give the final answer
    {"answer": {...output schema...}}           (with structured output)

Everything here is pure: requests in, llama.cpp chat messages and a schema
out; the model's JSON text in, neutral parts out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from agentkit import (
    Message,
    ModelRequest,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.exceptions import UnsupportedFeatureError

__all__ = [
    "TOOL_ROUNDS",
    "close_objects",
    "constraint_schema",
    "parse_reply",
    "render_result",
    "to_llama_messages",
    "tool_rounds",
]

#: Tool rounds allowed in a row before only an answer may follow. A 135M-parameter
#: model will happily call the same tool forever; after a result it must answer.
TOOL_ROUNDS = 1


def tool_rounds(messages: Sequence[Message]) -> int:
    """Tool rounds since the last user message."""
    rounds = 0
    for message in reversed(messages):
        if message.role == "user":
            break
        if message.role == "tool":
            rounds += 1
    return rounds


def close_objects(schema: Any) -> Any:
    """``schema`` with every object closed to the properties it names.

    For generation, not validation: the grammar should let a small model write
    only the properties it was told about, never invent more. Whatever the
    closed schema lets it write, the original schema accepts too.
    """
    if isinstance(schema, list):
        return [close_objects(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: close_objects(value) for key, value in schema.items()}
    if "properties" in schema and schema.get("additionalProperties", True) is True:
        out["additionalProperties"] = False
    return out


def constraint_schema(
    tools: Sequence[tuple[ToolDefinition, dict[str, Any]]],
    *,
    answer_schema: dict[str, Any] | None,
    allow_tools: bool,
    allow_answer: bool,
) -> dict[str, Any]:
    """The JSON Schema the reply must match.

    Args:
        tools: Each tool with its argument schema compiled for llama.cpp.
        answer_schema: The structured output's schema, or None for text.
        allow_tools: Whether a tool call may be chosen.
        allow_answer: Whether a final answer may be chosen.
    """
    branches: list[dict[str, Any]] = []
    if allow_tools:
        for definition, arguments in tools:
            branches.append(
                {
                    "type": "object",
                    "properties": {
                        "tool": {"const": definition.name},
                        "arguments": close_objects(arguments),
                    },
                    "required": ["tool", "arguments"],
                    "additionalProperties": False,
                }
            )
    if allow_answer or not branches:
        branches.append(
            {
                "type": "object",
                "properties": {
                    "answer": close_objects(answer_schema)
                    if answer_schema is not None
                    else {"type": "string", "minLength": 1}
                },
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


_FREE = '[^"\\\\]{0,40}'  # a few JSON string characters, no quote or escape
_TAIL = '[^"\\\\]{0,12}'
_AFTER_NUMBER = '([^0-9"\\\\][^"\\\\]{0,39})?'
_AFTER_NUMBER_LAST = '([^0-9"\\\\][^"\\\\]{0,11})?'
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def result_values(messages: Sequence[Message], *, limit: int = 4) -> list[str]:
    """The short scalar values of the tool results since the last user message."""
    values: list[str] = []
    for message in reversed(messages):
        if message.role == "user":
            break
        if message.role != "tool":
            continue
        for part in message.parts:
            if isinstance(part, ToolResultPart) and part.structured_content and not part.is_error:
                for value in part.structured_content.values():
                    text = _scalar(value)
                    simple = not any(c in text for c in '"\\]^')
                    if not isinstance(value, dict | list) and 0 < len(text) <= 30 and simple:
                        values.append(text)
    return values[:limit]


def _literal(value: str) -> str:
    # llama.cpp's regex converter knows few escapes ("\\." is an error), so
    # anything but letters, digits and spaces goes in a one-character class.
    return "".join(c if c.isalnum() or c == " " else f"[{c}]" for c in value)


def stating_pattern(values: Sequence[str]) -> str | None:
    """A regex for an answer that states ``values`` in order, in words of its own.

    For models too small to repeat a tool result faithfully: the grammar only
    lets the answer end once every value has appeared. Between them the model
    writes freely; only characters that need no JSON escape are allowed. A
    number stands as a number of its own, after a space and before no digit:
    left to itself SmolLM2-135M glued numbers to words ("the city of4celsius",
    ".19Celsius") or made them longer ("3000" for 3). After the last value only
    a few characters may follow, since the tail is where it rambled
    ("overcast, overcast, overcast, ...").
    """
    if not values:
        return None
    pieces = [_FREE]
    for index, value in enumerate(values):
        last = index == len(values) - 1
        if _NUMBER.fullmatch(value):
            pieces.append(f"[ ]{_literal(value)}")
            pieces.append(_AFTER_NUMBER_LAST if last else _AFTER_NUMBER)
        else:
            pieces.append(_literal(value))
            pieces.append(_TAIL if last else _FREE)
    return "^" + "".join(pieces) + "$"


def _describe_argument(name: str, spec: Any) -> str:
    kind = spec.get("type", "any") if isinstance(spec, dict) else "any"
    note = spec.get("description") if isinstance(spec, dict) else None
    return f"{name} ({kind}: {note})" if note else f"{name} ({kind})"


def _describe_tools(tools: Sequence[ToolDefinition]) -> str:
    lines = []
    for t in tools:
        params = t.input_schema.get("properties", {})
        described = ", ".join(_describe_argument(n, s) for n, s in params.items()) or "none"
        lines.append(f"- {t.name}: {t.description or t.title or t.name} Arguments: {described}.")
    return "\n".join(lines)


def protocol_prompt(request: ModelRequest, *, allow_tools: bool) -> str:
    """The system text that explains the reply protocol to the model."""
    if not allow_tools or not request.tools:
        if request.output_schema is not None:
            return (
                'Reply with a JSON object {"answer": ...} where answer matches the required format.'
            )
        return 'Reply with a JSON object {"answer": "..."} holding your full reply.'
    return (
        "You can use these tools:\n"
        f"{_describe_tools(request.tools)}\n"
        'To use a tool, reply with {"tool": "<name>", "arguments": {...}}. '
        'When you have what you need, reply with {"answer": "..."}.'
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render_result(part: ToolResultPart) -> str:
    """A tool result as short plain text a small model can repeat.

    SmolLM2-135M given ``{"temperature_c": 20, "conditions": "windy"}`` as JSON
    mostly answered with one value or none ("Overcast", "Fog"); given
    ``temperature c: 20; conditions: windy`` it tends to repeat both. Nested
    values stay JSON: there is no shorter faithful form for them.
    """
    content = part.structured_content
    if content:
        return "; ".join(f"{key.replace('_', ' ')}: {_scalar(v)}" for key, v in content.items())
    return part.text


def to_llama_messages(
    request: ModelRequest, *, allow_tools: bool, provider: str, model_id: str
) -> list[dict[str, str]]:
    """The conversation as llama.cpp chat messages (system, user, assistant only).

    Small chat templates know three roles: tool calls are replayed as the
    assistant's protocol JSON and tool results as a user turn that says so.

    Raises:
        UnsupportedFeatureError: the conversation holds images or audio.
    """
    out: list[dict[str, str]] = []
    system = [m.text for m in request.messages if m.role == "system"]
    system.append(protocol_prompt(request, allow_tools=allow_tools))
    out.append({"role": "system", "content": "\n\n".join(t for t in system if t)})
    for message in request.messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            results = [p for p in message.parts if isinstance(p, ToolResultPart)]
            text = "\n".join(
                f"{p.name or 'The tool'} {'failed' if p.is_error else 'returned'}: "
                f"{render_result(p)}."
                for p in results
            )
            # Asking for the values keeps a small model from answering from
            # memory; quoting the question back made it echo the question.
            out.append(
                {"role": "user", "content": f"{text}\nTell me in one sentence, with these values."}
            )
            continue
        chunks: list[str] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                chunks.append(part.text)
            elif isinstance(part, ToolCallPart):
                call = {"tool": part.name, "arguments": part.arguments}
                chunks.append(json.dumps(call, ensure_ascii=False))
            elif isinstance(part, ReasoningPart):
                continue  # never replayed as text
            else:
                raise UnsupportedFeatureError(
                    f"the local model takes text only, not {part.type} parts",
                    provider=provider,
                    model_id=model_id,
                )
        role = "assistant" if message.role == "assistant" else "user"
        if message.role == "assistant" and chunks and not message.tool_calls:
            # Earlier answers were given in the protocol too; keep the pattern.
            chunks = [json.dumps({"answer": "".join(chunks)}, ensure_ascii=False)]
        out.append({"role": role, "content": "\n".join(chunks)})
    return out


def parse_reply(text: str, call_id: str) -> tuple[list[Part], bool]:
    """The model's constrained JSON as parts, and whether it is a tool call.

    A reply that is not protocol JSON (generation stopped by max_tokens) is
    kept as plain text rather than lost.
    """
    try:
        data = json.loads(text, strict=False)  # raw control characters happen
    except ValueError:
        return [TextPart(text=text)], False
    if isinstance(data, dict) and isinstance(data.get("tool"), str):
        arguments = data.get("arguments")
        return [
            ToolCallPart(
                id=call_id,
                name=data["tool"],
                arguments=arguments if isinstance(arguments, dict) else {},
            )
        ], True
    if isinstance(data, dict) and "answer" in data:
        answer = data["answer"]
        text_out = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        return [TextPart(text=text_out)], False
    return [TextPart(text=text)], False


_ANSWER_START = re.compile(r'^\s*\{\s*"answer"\s*:\s*"')


class AnswerStreamer:
    """Streams the text inside ``{"answer": "..."}`` while the JSON is still arriving.

    The user should see the answer, not the protocol around it. Tool calls
    and structured answers are not streamed: they are whole JSON values that
    only mean something once complete.
    """

    _TARGET = '{"answer":"'

    def __init__(self) -> None:
        self.raw = ""
        self.emitted = ""
        self.streaming: bool | None = None  # None: not decided yet
        self._start = 0

    def feed(self, fragment: str) -> str:
        """Take more raw output; return answer text that is now certain."""
        self.raw += fragment
        if self.streaming is None:
            compact = re.sub(r"\s+", "", self.raw)
            match = _ANSWER_START.match(self.raw)
            if match:
                self.streaming, self._start = True, match.end()
            elif not self._TARGET.startswith(compact[: len(self._TARGET)]):
                self.streaming = False
        if not self.streaming:
            return ""
        body = self.raw[self._start :]
        end = _string_end(body)
        # strict=False: the grammar lets a raw newline or tab into a string.
        text: str = json.loads(
            f'"{body[:end] if end is not None else _safe_prefix(body)}"', strict=False
        )
        new = text[len(self.emitted) :]
        self.emitted = text
        return new


def _string_end(body: str) -> int | None:
    """Index of the unescaped closing quote in ``body``, if it has arrived."""
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == '"':
            return i
        i += 1
    return None


_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")


def _safe_prefix(body: str) -> str:
    """The longest prefix of ``body`` that holds no incomplete escape sequence."""
    i = safe = 0
    while i < len(body):
        if body[i] == "\\":
            size = 6 if body[i + 1 : i + 2] == "u" else 2
            if i + size > len(body):
                break
            i += size
        else:
            i += 1
        safe = i
    prefix = body[:safe]
    # Half of a surrogate pair would decode to a lone surrogate: wait for the rest.
    return _HIGH_SURROGATE.sub("", prefix)
