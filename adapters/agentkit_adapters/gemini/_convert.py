"""Pure conversion of agentkit's neutral request into a Gemini ``generateContent`` body.

No I/O, no environment, no hidden state: neutral values and keyword switches
in, vendor JSON and warnings out (the way back is ``_parse.py``). Content the
wire cannot carry raises ``UnsupportedFeatureError``; a setting it cannot
carry becomes a ``RunWarning``. Schemas are compiled through agentkit's
``compile_schema_cached``, which returns what the pure compiler would.

Decisions worth knowing:

- System messages become ``systemInstruction``; assistant turns are ``model``
  turns; tool results are ``functionResponse`` parts of a ``user`` turn.
  Consecutive turns of one role are merged.
- A ``thoughtSignature`` travels as a ``ReasoningPart`` stamped
  ``provider="gemini"`` and the model asked. One whose ``text`` is a string
  (``""`` included) stands for a thought part (``thought: true``) and keeps
  its own signature; one with ``text=None`` and a signature belongs to the
  part right after it (a ``functionCall`` or text) and is sent back on
  exactly that part, or as an empty text part when nothing follows (Gemini 3
  signs so). Reasoning from another provider or model is never sent, and a
  warning says so once; Gemini 3 then gets the documented placeholder
  signature on the turn's first call instead of answering 400.
- Function-call ids that Gemini did not send (Gemini 2.5 sends none: case
  ``parallel_function_calls_json_25flash``) were made up by ``_parse`` with the
  ``GENERATED_ID_PREFIX``; they are not sent back, and the tool result is
  matched by name, as the recorded follow-up request does.
- Tool and output schemas: see ``_schemas.py`` (``parametersJsonSchema`` unless
  only the OpenAPI ``parameters`` keeps the schema intact).
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Sequence
from typing import Any, Literal, assert_never

from agentkit import (
    AudioPart,
    ImagePart,
    Message,
    ModelRequest,
    ModelSettings,
    ReasoningPart,
    ResourcePart,
    RunWarning,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from agentkit.adapter import (
    changes_to_warnings,
    reasoning_left_out,
    resource_text,
    setting_not_sent,
    tool_result_text,
    unsupported_content,
)
from agentkit.exceptions import UnsupportedFeatureError

from ._schemas import compile_gemini_schema, to_gemini_tool_config, to_gemini_tools
from ._wire import Content, GenerateContentRequest, GenerationConfig, Part, ThinkingConfig

__all__ = [
    "GENERATED_ID_PREFIX",
    "SKIP_SIGNATURE",
    "to_gemini_contents",
    "to_gemini_request",
]

#: Prefix of the ids agentkit gives function calls that Gemini sent without one.
GENERATED_ID_PREFIX = "gemini-call-"

#: Gemini 3 accepts this in place of a lost signature (documented on
#: https://ai.google.dev/gemini-api/docs/thought-signatures, for histories that
#: another model wrote); without one it answers 400.
SKIP_SIGNATURE = "skip_thought_signature_validator"

#: Gemini 2.5 thinking budgets; 512 is the smallest every 2.5 model accepts (Flash-Lite's floor).
_BUDGETS = {"minimal": 512, "low": 2048, "medium": 8192, "high": 24576}


# -- messages -------------------------------------------------------------------------------


def _unsupported(what: str, provider: str, model_id: str) -> UnsupportedFeatureError:
    return unsupported_content(what, api="Gemini", provider=provider, model_id=model_id)


def _media(part: ImagePart | AudioPart) -> Part:
    if isinstance(part, ImagePart) and part.url is not None:
        mime = part.media_type or mimetypes.guess_type(part.url)[0]
        return {"fileData": {"fileUri": part.url, **({"mimeType": mime} if mime else {})}}
    data = base64.b64encode(part.data or b"").decode("ascii")
    return {"inlineData": {"mimeType": part.media_type or "", "data": data}}


def _resource(part: ResourcePart, provider: str, model_id: str) -> Part:
    text = resource_text(part)
    if text is not None or part.data is None:
        return {"text": text or ""}
    if not part.media_type:
        raise _unsupported(f"resource {part.uri} as bytes without a media type", provider, model_id)
    data = base64.b64encode(part.data).decode("ascii")
    return {"inlineData": {"mimeType": part.media_type, "data": data}}


def _result(part: ToolResultPart, provider: str, warnings: list[RunWarning]) -> dict[str, Any]:
    # FunctionResponse docs: "Use 'output' key to specify function output and 'error' key
    # to specify error details"; the recorded follow-ups send {"output": "<text>"}.
    if part.structured_content is not None and not part.is_error:
        return {"output": part.structured_content}
    text, notes = tool_result_text(part, api="Gemini", provider=provider)
    warnings += notes
    return {"error" if part.is_error else "output": text}


class _Turns:
    """The state of one conversion: turns so far, call names, what was left out."""

    def __init__(self, provider: str, model_id: str) -> None:
        self.provider = provider
        self.model_id = model_id
        self.system: list[Part] = []
        self.contents: list[Content] = []
        self.names: dict[str, str] = {}
        self.warnings: list[RunWarning] = []
        self._left_out = False

    def left_out(self, part: ReasoningPart) -> None:
        if not self._left_out and (part.text or part.signature):
            self._left_out = True
            why = f"Gemini only takes back {self.model_id}'s own thoughts and thought signatures"
            self.warnings.append(reasoning_left_out(why=why, provider=self.provider))

    def add(self, role: Literal["user", "model"], parts: list[Part]) -> None:
        if not parts:
            return  # Gemini rejects a turn without parts
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})

    def model_turn(self, message: Message) -> list[Part]:
        out: list[Part] = []
        signature: str | None = None  # waiting for the part it belongs to
        for part in message.parts:
            wire: Part
            match part:
                case ReasoningPart():
                    if part.provider != self.provider or part.model != self.model_id:
                        self.left_out(part)
                        continue
                    if part.text is not None:  # a thought part ("" when only signed)
                        if part.text or part.signature:
                            wire = {"text": part.text, "thought": True}
                            if part.signature:
                                wire["thoughtSignature"] = part.signature
                            out.append(wire)
                    elif part.signature:  # belongs to the next part
                        if signature:
                            out.append({"text": "", "thoughtSignature": signature})
                        signature = part.signature
                    continue
                case TextPart():
                    wire = {"text": part.text}
                case ToolCallPart():
                    self.names[part.id] = part.name
                    call: dict[str, Any] = {"name": part.name, "args": part.arguments}
                    if not part.id.startswith(GENERATED_ID_PREFIX):
                        call["id"] = part.id
                    wire = {"functionCall": call}  # type: ignore[typeddict-item]
                case ImagePart() | AudioPart():
                    wire = _media(part)
                case ResourcePart():
                    wire = _resource(part, self.provider, self.model_id)
                case ToolResultPart():
                    raise _unsupported("a tool result in an assistant message", *self._who())
                case _:
                    assert_never(part)
            if signature:
                wire["thoughtSignature"] = signature
                signature = None
            out.append(wire)
        if signature:
            out.append({"text": "", "thoughtSignature": signature})
        if self.model_id.startswith("gemini-3"):
            _sign_first_call(out)
        return out

    def user_turn(self, message: Message) -> list[Part]:
        out: list[Part] = []
        for part in message.parts:
            match part:
                case TextPart():
                    out.append({"text": part.text})
                case ToolResultPart():
                    name = part.name or self.names.get(part.call_id)
                    if name is None:
                        raise _unsupported(
                            f"a result for tool call {part.call_id!r} whose tool is unknown "
                            "(Gemini needs the function name)",
                            *self._who(),
                        )
                    response: dict[str, Any] = {
                        "name": name,
                        "response": _result(part, self.provider, self.warnings),
                    }
                    if not part.call_id.startswith(GENERATED_ID_PREFIX):
                        response["id"] = part.call_id
                    out.append({"functionResponse": response})  # type: ignore[typeddict-item]
                case ImagePart() | AudioPart():
                    out.append(_media(part))
                case ResourcePart():
                    out.append(_resource(part, self.provider, self.model_id))
                case ReasoningPart():
                    self.left_out(part)
                case ToolCallPart():
                    raise _unsupported(f"a tool call in a {message.role} message", *self._who())
                case _:
                    assert_never(part)
        return out

    def _who(self) -> tuple[str, str]:
        return self.provider, self.model_id


def _sign_first_call(parts: list[Part]) -> None:
    """Gemini 3 wants a signature on a turn's first function call; mark a lost one as such."""
    for part in parts:
        if "functionCall" in part:
            part.setdefault("thoughtSignature", SKIP_SIGNATURE)
            return


def to_gemini_contents(
    messages: Sequence[Message], *, provider: str = "gemini", model_id: str
) -> tuple[Content | None, list[Content], list[RunWarning]]:
    """Neutral messages to ``systemInstruction`` and ``contents``.

    Args:
        messages: The conversation.
        provider: The adapter's provider name: only reasoning stamped with it
            (and with ``model_id``) is sent back.
        model_id: The model asked.

    Returns:
        The system instruction (None without system messages), the turns and
        any warnings.

    Raises:
        UnsupportedFeatureError: a part in a role that cannot hold it, a
            non-text system part, or a tool result whose tool is unknown.
    """
    turns = _Turns(provider, model_id)
    for message in messages:
        if message.role == "system":
            for part in message.parts:
                if isinstance(part, TextPart):
                    turns.system.append({"text": part.text})
                elif isinstance(part, ResourcePart) and part.data is None:
                    turns.system.append(_resource(part, provider, model_id))
                else:
                    raise _unsupported(
                        f"a {part.type} part in a system message", provider, model_id
                    )
        elif message.role == "assistant":
            turns.add("model", turns.model_turn(message))
        else:
            turns.add("user", turns.user_turn(message))
    system: Content | None = {"parts": turns.system} if turns.system else None
    return system, turns.contents, turns.warnings


# -- settings and the whole body ------------------------------------------------------------


def _thinking(
    effort: Literal["minimal", "low", "medium", "high"], model_id: str, provider: str
) -> tuple[ThinkingConfig | None, RunWarning | None]:
    name = model_id.removeprefix("models/")
    if name.startswith("gemini-2.5"):
        return {"thinkingBudget": _BUDGETS[effort], "includeThoughts": True}, None
    if not name.startswith("gemini-3"):
        why = f"reasoning_effort was not sent: agentkit knows no thinking setting for {name}"
        return None, setting_not_sent("reasoning_effort", why=why, provider=provider)
    # Gemini 3 Pro takes only low and high; Flash also minimal and medium.
    if effort in ("low", "high") or "flash" in name:
        return {"thinkingLevel": effort, "includeThoughts": True}, None
    level: Literal["low", "high"] = "low" if effort == "minimal" else "high"
    why = f"reasoning_effort {effort!r} was sent as thinkingLevel {level!r} ({name} has no other)"
    warning = setting_not_sent("reasoning_effort", why=why, provider=provider)
    return {"thinkingLevel": level, "includeThoughts": True}, warning


def _generation_config(
    settings: ModelSettings, model_id: str, provider: str
) -> tuple[GenerationConfig, list[RunWarning]]:
    config: GenerationConfig = {}
    warnings: list[RunWarning] = []
    if settings.max_tokens is not None:
        config["maxOutputTokens"] = settings.max_tokens
    if settings.temperature is not None:
        config["temperature"] = settings.temperature
    if settings.top_p is not None:
        config["topP"] = settings.top_p
    if settings.stop is not None:
        config["stopSequences"] = settings.stop
    if settings.seed is not None:
        config["seed"] = settings.seed
    if settings.reasoning_effort is not None:
        thinking, warning = _thinking(settings.reasoning_effort, model_id, provider)
        if thinking is not None:
            config["thinkingConfig"] = thinking
        if warning is not None:
            warnings.append(warning)
    if settings.parallel_tool_calls is not None:
        why = "parallel_tool_calls was not sent: Gemini has no switch for it"
        warnings.append(setting_not_sent("parallel_tool_calls", why=why, provider=provider))
    return config, warnings


def to_gemini_request(
    request: ModelRequest,
    *,
    model_id: str,
    provider: str = "gemini",
) -> tuple[GenerateContentRequest, list[RunWarning]]:
    """A whole ``generateContent`` body for ``request`` (the model goes in the URL).

    ``settings.extra`` is merged last, one level deep, so
    ``{"generationConfig": {"thinkingConfig": {...}}}`` adds to the generation
    config rather than replacing it. ``timeout`` is the adapter's business.

    Args:
        request: The neutral request.
        model_id: The model to ask.
        provider: Provider name, for warnings, errors and reasoning stamps.

    Returns:
        The body and the warnings of everything changed or not sent.

    Raises:
        UnsupportedFeatureError: from ``to_gemini_contents``.
        SchemaCompileError: a tool or output schema would change which values
            it accepts and ``request.allow_lossy_schemas`` is False.
    """
    system, contents, warnings = to_gemini_contents(
        request.messages, provider=provider, model_id=model_id
    )
    body: GenerateContentRequest = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    lossy = request.allow_lossy_schemas
    choice = request.tool_choice
    if request.tools:
        tools, tool_warnings = to_gemini_tools(request.tools, allow_lossy=lossy, provider=provider)
        body["tools"] = tools
        warnings += tool_warnings
        if choice is not None:
            body["toolConfig"] = to_gemini_tool_config(choice)
    elif choice not in (None, "auto", "none"):
        why = f"tool_choice {choice!r} was not sent: there are no tools"
        warnings.append(setting_not_sent("tool_choice", why=why, provider=provider))
    config, setting_warnings = _generation_config(request.settings, model_id, provider)
    warnings += setting_warnings
    if request.output_schema is not None:
        field, compiled = compile_gemini_schema(request.output_schema, allow_lossy=lossy, name=None)
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema" if field == "json" else "responseSchema"] = compiled.schema
        warnings += changes_to_warnings(compiled, tool=None, provider=provider)
    if config:
        body["generationConfig"] = config
    for key, value in request.settings.extra.items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            value = {**current, **value}
        body[key] = value  # type: ignore[literal-required]
    return body, warnings
