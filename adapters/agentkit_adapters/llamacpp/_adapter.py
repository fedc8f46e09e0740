"""``LlamaCppAdapter``: a GGUF model run in-process by llama-cpp-python.

The offline default. Tool calls and structured output come from
grammar-constrained decoding (see ``_protocol``); the blocking llama.cpp call
runs in a worker thread and one model is shared by every run in the process.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from agentkit import (
    Capabilities,
    FinishReason,
    ModelRequest,
    ModelResponse,
    Part,
    RunWarning,
    StreamAccumulator,
    StreamEvent,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    Usage,
)
from agentkit.adapter import changes_to_warnings, compile_schema_cached
from agentkit.exceptions import ContextLengthError, UnexpectedResponseError, UserError

from ._catalogue import DEFAULT_MODEL, TOOLS_FIRST, locate_model
from ._grounding import grounded, user_text
from ._protocol import (
    TOOL_ROUNDS,
    AnswerStreamer,
    constraint_schema,
    parse_reply,
    result_values,
    stating_pattern,
    to_llama_messages,
    tool_rounds,
)
from ._runtime import CONTEXT_TOKENS, LocalModel, load

__all__ = ["LlamaCppAdapter", "create_llamacpp_adapter"]

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}
_ids = itertools.count(1)


class LlamaCppAdapter:
    """A local GGUF model, run in this process.

    Args:
        model: A bundled name (``smollm2-135m``), a catalogue name or a path.
        n_ctx: Context window to allocate, in tokens.
        threads: Generation threads (default: ``AGENTKIT_LLAMA_THREADS`` or half the cores).
        tool_rounds: Tool rounds in a row after which only an answer may follow;
            this is what makes a small model's tool loop end.
        tools_first: For models too small to decide or to quote: on the first
            turn with tools on offer (``tool_choice`` auto) the model drafts a
            call, kept only if its free-text arguments come from the user's
            words, else it answers; after a result its answer must state the
            result's values (on by default for the bundled model; off lets the
            model choose and answer freely).
    """

    spec_version: Literal["1"] = "1"
    provider = "llamacpp"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        n_ctx: int = 4096,
        threads: int | None = None,
        tool_rounds: int = TOOL_ROUNDS,
        tools_first: bool | None = None,
    ) -> None:
        self.model_id = model or DEFAULT_MODEL
        self.path: Path = locate_model(self.model_id)
        self.n_ctx = n_ctx
        self.threads = threads
        self.tool_rounds = tool_rounds
        self.tools_first = self.model_id in TOOLS_FIRST if tools_first is None else tools_first
        self.capabilities = Capabilities(
            tools=True,
            parallel_tool_calls=False,
            tool_choice=frozenset({"auto", "none", "required", "named"}),
            structured_output=frozenset({"native", "prompted"}),
            streaming=True,
            tool_call_streaming=False,
            usage_in_stream=True,
            image_input=False,
            reasoning=False,
            settings=frozenset({"max_tokens", "temperature", "top_p", "stop", "seed", "timeout"}),
        )

    def __repr__(self) -> str:
        return f"LlamaCppAdapter({self.model_id!r} at {self.path})"

    def model(self) -> LocalModel:
        """The loaded model (loaded on first use, shared across the process)."""
        return load(self.path, n_ctx=self.n_ctx, threads=self.threads)

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` under this model's own tokenizer (its GGUF vocabulary)."""
        return self.model().count_tokens(text)

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The llama.cpp arguments this adapter would generate with, without generating.

        For tools that measure a request (``agentkit tokens``).
        """
        return self._plan(request)[0]

    def _compile(
        self, schema: dict[str, Any], tool: str | None, allow_lossy: bool
    ) -> tuple[dict[str, Any], list[RunWarning]]:
        compiled = compile_schema_cached(schema, "llamacpp", allow_lossy=allow_lossy, name=tool)
        # close_objects (in the constraint) supersedes spelling out the open
        # default, so that change would only be noise to the user.
        compiled = replace(
            compiled,
            changes=tuple(
                c for c in compiled.changes if c.kind != "additional_properties_explicit"
            ),
        )
        return compiled.schema, changes_to_warnings(compiled, tool=tool, provider=self.provider)

    def _choose(
        self, request: ModelRequest, answer_only: bool = False
    ) -> tuple[list[ToolDefinition], bool, bool]:
        """The tools on offer this turn, whether a call is allowed, whether an answer is."""
        choice = request.tool_choice or "auto"
        if answer_only:
            return [], False, True
        named = choice not in ("auto", "none", "required")
        tools = [t for t in request.tools if not named or t.name == choice]
        if not tools or choice == "none":
            return [], False, True
        rounds = tool_rounds(request.messages)
        if choice == "auto" and rounds >= self.tool_rounds:
            return [], False, True  # results are in: now the model must answer
        must_call = choice != "auto" or (self.tools_first and rounds == 0)
        return tools, True, not must_call

    def _plan(
        self, request: ModelRequest, *, answer_only: bool = False
    ) -> tuple[dict[str, Any], list[RunWarning]]:
        """The llama.cpp arguments for this request, and the warnings on the way.

        ``answer_only``: the model's drafted call was dropped; it must answer.
        """
        tools, allow_tools, allow_answer = self._choose(request, answer_only)
        warnings: list[RunWarning] = []
        compiled_tools = []
        for definition in tools:
            schema, notes = self._compile(
                definition.input_schema, definition.name, request.allow_lossy_schemas
            )
            compiled_tools.append((definition, schema))
            warnings += notes
        answer_schema = None
        if request.output_schema is not None:
            answer_schema, notes = self._compile(
                request.output_schema, None, request.allow_lossy_schemas
            )
            warnings += notes
        elif not allow_tools and self.tools_first:
            # A model this small drops or invents the tool's values when free
            # ("Tornado in Paris" for 20 °C and windy); the grammar makes its
            # own sentence carry them.
            pattern = stating_pattern(result_values(request.messages))
            if pattern is not None:
                answer_schema = {"type": "string", "minLength": 1, "pattern": pattern}
        schema = constraint_schema(
            compiled_tools,
            answer_schema=answer_schema,
            allow_tools=allow_tools,
            allow_answer=allow_answer,
        )
        settings = request.settings
        kwargs: dict[str, Any] = {
            "messages": to_llama_messages(
                request, allow_tools=allow_tools, provider=self.provider, model_id=self.model_id
            ),
            "response_format": {"type": "json_object", "schema": schema},
            "max_tokens": settings.max_tokens or 512,
            # Deterministic unless asked otherwise: small models ramble when sampled.
            "temperature": 0.0 if settings.temperature is None else settings.temperature,
        }
        if settings.top_p is not None:
            kwargs["top_p"] = settings.top_p
        if settings.stop:
            kwargs["stop"] = settings.stop
        if settings.seed is not None:
            kwargs["seed"] = settings.seed
        return kwargs, warnings

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Generate in a worker thread, streaming the answer's text as it forms.

        Stopping the iteration stops generation before the next token.

        Raises:
            UnsupportedFeatureError: the conversation holds images or audio.
            UnexpectedResponseError: generation ended without a finish reason.
        """
        kwargs, warnings = self._plan(request)
        acc = StreamAccumulator(self.provider, self.model_id)
        yield acc.start()
        draft = _Generation()
        async for event in self._generate(kwargs, acc, draft):
            yield event
        if draft.is_call and self._drafts_calls(request) and not self._grounded(draft, request):
            # The model filled in a call the user's words do not support: take
            # it as "no tool needed" and let it answer (see _grounding).
            kwargs, _ = self._plan(request, answer_only=True)
            answer = _Generation(draft.prompt_tokens, draft.completion_tokens)
            async for event in self._generate(kwargs, acc, answer):
                yield event
            draft = answer
        if not draft.streamed:
            # A tool call or a structured answer only means something whole.
            for part in draft.parts:
                if isinstance(part, ToolCallPart):
                    for event in acc.whole_call(0, part.id, part.name, part.arguments):
                        yield event
                elif isinstance(part, TextPart):
                    for event in acc.add_text(part.text):
                        yield event
        usage = Usage(input_tokens=draft.prompt_tokens, output_tokens=draft.completion_tokens)
        reason: FinishReason = "tool_calls" if draft.is_call else _FINISH.get(draft.finish, "other")
        for event in acc.finish(
            reason, raw_finish_reason=draft.finish, usage=usage, warnings=warnings
        ):
            yield event

    def _drafts_calls(self, request: ModelRequest) -> bool:
        """Whether this turn's call is a draft the model must back with the user's words."""
        return self.tools_first and (request.tool_choice or "auto") == "auto"

    def _grounded(self, draft: _Generation, request: ModelRequest) -> bool:
        text = user_text(request.messages)
        schemas = {t.name: t.input_schema for t in request.tools}
        return all(
            grounded(part.arguments, schemas.get(part.name, {}), text)
            for part in draft.parts
            if isinstance(part, ToolCallPart)
        )

    async def _generate(
        self, kwargs: dict[str, Any], acc: StreamAccumulator, out: _Generation
    ) -> AsyncIterator[StreamEvent]:
        """One generation: stream an answer's text as it forms, record the rest in ``out``.

        Raises:
            UnexpectedResponseError: generation ended without a finish reason.
        """
        streamer = AnswerStreamer()
        completion_tokens = 0
        context_tokens = 0
        finish: str | None = None
        async with aclosing(self.model().chunks(kwargs)) as chunks:
            async for chunk in self._translated(chunks):
                if CONTEXT_TOKENS in chunk:
                    context_tokens = int(chunk[CONTEXT_TOKENS])
                    continue
                choice = chunk["choices"][0]
                text = choice.get("delta", {}).get("content") or ""
                if text:
                    completion_tokens += 1  # llama-cpp-python streams one token a chunk
                    for event in acc.add_text(streamer.feed(text)):
                        yield event
                finish = choice.get("finish_reason") or finish
        if finish is None:
            raise UnexpectedResponseError(
                "generation ended without a finish reason",
                provider=self.provider,
                model_id=self.model_id,
            )
        out.parts, out.is_call = parse_reply(streamer.raw, f"call_local_{next(_ids)}")
        out.streamed = bool(streamer.streaming)
        out.finish = finish
        # A dropped draft was real work: its tokens count too.
        out.prompt_tokens += max(0, context_tokens - completion_tokens)
        out.completion_tokens += completion_tokens

    async def _translated(
        self, chunks: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        # llama-cpp-python says a prompt is too long with a bare ValueError
        # ("Requested tokens (5012) exceed context window of 4096").
        try:
            async for chunk in chunks:
                yield chunk
        except ValueError as exc:
            found = _TOO_LONG.search(str(exc))
            if found is None:
                raise
            tokens, window = int(found.group(1)), int(found.group(2))
            raise ContextLengthError(
                f"the conversation does not fit the model's context window: the prompt is "
                f"{tokens} tokens and the window {window} (shorten the history, or load the "
                "model with a larger n_ctx)",
                provider=self.provider,
                model_id=self.model_id,
                # What llama.cpp's own server answers for the same prompt.
                status_code=400,
                body={"prompt_tokens": tokens, "context_window": window},
                code="exceed_context_size_error",
            ) from exc

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """The whole answer, generated through the same streaming path."""
        async with aclosing(self.stream(request)) as events:  # type: ignore[type-var]
            async for event in events:
                if event.type == "response_end":
                    return event.response
        raise UnexpectedResponseError(  # pragma: no cover - stream always ends with one
            "no response", provider=self.provider, model_id=self.model_id
        )


@dataclass
class _Generation:
    """What one generation produced: its parts, how it ended, the tokens so far."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    parts: list[Part] = field(default_factory=list)
    is_call: bool = False
    streamed: bool = False
    finish: str = "stop"


_TOO_LONG = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


def create_llamacpp_adapter(model_id: str, **options: object) -> LlamaCppAdapter:
    """The ``llamacpp`` entry point: ``llamacpp:<name or path>``.

    The model runs in this process, so there is no URL, key or HTTP client to
    configure: any option is a mistake worth telling the user about.

    Raises:
        UserError: an option was given.
    """
    if options:
        raise UserError(
            f"llamacpp:{model_id or DEFAULT_MODEL} runs in-process and takes no "
            f"{', '.join(sorted(options))}; for a llama.cpp server use "
            "llamacpp-server:<model> with a base URL"
        )
    return LlamaCppAdapter(model_id or DEFAULT_MODEL)
