"""Every error agentkit raises, in one tree.

```
AgentkitError
├── UserError                    misconfiguration, bad agent file, missing key
│   ├── SpecValidationError      a document failed its JSON Schema: .source .path
│   └── SchemaCompileError       a schema cannot go to a provider's dialect unchanged
├── AdapterError                 .provider .model_id
│   ├── ProviderHTTPError        .status_code .body .retry_after
│   │   ├── AuthenticationError  401/403, or a provider's "bad key" 400
│   │   ├── RateLimitError       429 and quota errors
│   │   ├── ModelNotFoundError   unknown model
│   │   ├── BadRequestError      any other 4xx the provider rejected
│   │   │   └── ToolCallRejectedError  the provider refused the model's tool call
│   │   │                        (Groq's tool_use_failed): the model is told, the run goes on
│   │   ├── ContextLengthError   the prompt does not fit the model
│   │   ├── ContentFilterError   the provider blocked the prompt or the answer
│   │   └── ServerError          5xx
│   ├── ProviderConnectionError  the provider could not be reached, or the stream broke
│   │   └── ProviderTimeoutError  a time limit was hit: .limit ("deadline"/"read") .seconds
│   ├── UnsupportedFeatureError  content the provider cannot represent
│   └── UnexpectedResponseError  malformed or truncated provider output
├── ToolError                    a tool failed; the model is told and the run goes on
├── HarnessError                 the conformance kit's harness, or the factory it called, crashed
└── RunError                     a run failed: .messages keeps the conversation so far
    ├── ModelCallError           the model call failed: .cause, .failures (one per model)
    │   └── UnsupportedSchemaError  no model of the chain takes the schemas unchanged
    ├── MaxTurnsError            the run hit max_turns before a final answer
    ├── OutputValidationError    the final answer never matched the output schema
    ├── ToolRetriesError         a tool kept failing past its retry budget
    ├── BudgetExceededError      the next call would pass max_cost_usd
    ├── TruncatedError           an answer was cut off at max_tokens (on_truncation="error")
    └── ToolNotRepeatableError   a durable run resumed where a tool that must not run twice
                                 was in flight: .tool .call_id .run_id
```

Vendor and transport errors are translated at one seam in each adapter and
raised ``from`` the original exception, with one exception: a transport error
(httpx2's) holds the request and its credentials, so its translation carries
neither ``__cause__`` nor ``__context__``; its type and text are in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._messages import Message, Usage
    from ._schema._types import SchemaChange, Target

__all__ = [
    "AdapterError",
    "AgentkitError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ContentFilterError",
    "ContextLengthError",
    "HarnessError",
    "MaxTurnsError",
    "ModelCallError",
    "ModelNotFoundError",
    "OutputValidationError",
    "ProviderConnectionError",
    "ProviderHTTPError",
    "ProviderTimeoutError",
    "RateLimitError",
    "RunError",
    "SchemaCompileError",
    "ServerError",
    "SpecValidationError",
    "ToolCallRejectedError",
    "ToolError",
    "ToolNotRepeatableError",
    "ToolRetriesError",
    "TruncatedError",
    "UnexpectedResponseError",
    "UnsupportedFeatureError",
    "UnsupportedSchemaError",
    "UserError",
]


class AgentkitError(Exception):
    """Base class of every error agentkit raises on purpose."""


class UserError(AgentkitError):
    """Something the user can fix: configuration, an agent file, a missing key."""


class SpecValidationError(UserError):
    """A document (agent file, scenario, ...) does not match its JSON Schema.

    Attributes:
        source: Where the document came from (a file path or a description).
        path: JSON path of the offending value, like ``$.tools[0]``.
        reason: What is wrong, in words.
    """

    def __init__(self, source: str, path: str, reason: str) -> None:
        self.source = source
        self.path = path
        self.reason = reason
        super().__init__(f"{source}: at {path}: {reason}")


class SchemaCompileError(UserError):
    """A schema cannot be compiled for a target without changing what it accepts.

    Attributes:
        changes: Every change the compiler made or needed, lossy ones included.
        tool: The tool (or output) the schema belongs to, when known.
        target: The dialect that was asked for.
    """

    def __init__(
        self,
        message: str,
        *,
        changes: Iterable[SchemaChange] = (),
        tool: str | None = None,
        target: Target | None = None,
    ) -> None:
        self.changes = tuple(changes)
        self.tool = tool
        self.target = target
        where = f"schema of {tool!r}" if tool else "schema"
        dialect = f" for {target}" if target else ""
        super().__init__(f"{where}{dialect}: {message}")


class HarnessError(AgentkitError):
    """The conformance kit could not do its job: not a verdict on the adapter.

    Raised when the adapter factory or a harness crashes (the original
    exception is the ``__cause__``), or when a mode cannot work as asked, such
    as a recording that recorded nothing. ``agentkit conformance`` exits 3.
    """


class AdapterError(AgentkitError):
    """A provider adapter failed.

    Attributes:
        provider: Provider name, like ``"openai"``.
        model_id: The model that was asked.
    """

    def __init__(self, message: str, *, provider: str, model_id: str = "") -> None:
        self.provider = provider
        self.model_id = model_id
        super().__init__(f"{provider}: {message}")


class ProviderHTTPError(AdapterError):
    """The provider answered with an error status (or an error inside a stream).

    Attributes:
        status_code: HTTP status; errors that arrive inside a 200 stream keep 200.
        body: The provider's error body, parsed as JSON when it was JSON.
        retry_after: Seconds the provider asked us to wait, when it said so.
        code: The provider's own error code or type, like ``"invalid_api_key"``.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model_id: str = "",
        status_code: int,
        body: Any = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
        self.code = code
        super().__init__(f"{status_code} {message}", provider=provider, model_id=model_id)


class AuthenticationError(ProviderHTTPError):
    """The key is missing, wrong or lacks permission."""


class RateLimitError(ProviderHTTPError):
    """Too many requests or quota exhausted; see ``retry_after``."""


class ModelNotFoundError(ProviderHTTPError):
    """The provider does not know the model (or the key cannot see it)."""


class BadRequestError(ProviderHTTPError):
    """The provider rejected the request as invalid."""


class ToolCallRejectedError(BadRequestError):
    """The provider refused a tool call the model wrote (Groq's ``tool_use_failed``).

    The model's mistake, not the request's: the runner sends the provider's
    message back to the model as the failed call's error result, and the
    call counts against the tool's retry budget, as agentkit's own argument
    validation does.

    Attributes:
        generation: What the model wrote instead of a valid call (Groq's
            ``failed_generation``), scrubbed and cut like every body.
    """

    def __init__(self, message: str, *, generation: str = "", **kwargs: Any) -> None:
        self.generation = generation
        super().__init__(message, **kwargs)


class ContextLengthError(ProviderHTTPError):
    """The conversation is longer than the model's context window."""


class ContentFilterError(ProviderHTTPError):
    """The provider blocked the prompt or the answer for safety reasons."""


class ServerError(ProviderHTTPError):
    """The provider failed on its side (5xx); usually worth retrying."""


class ProviderConnectionError(AdapterError):
    """The provider could not be reached, or the connection broke mid-answer."""


class ProviderTimeoutError(ProviderConnectionError):
    """A model call hit a time limit; like a broken connection, worth retrying.

    Attributes:
        limit: ``"deadline"``: the whole call (``ModelSettings.timeout``,
            connect through the last byte) took too long; ``"read"``: no
            byte came for that long; ``"connect"``: no connection.
        seconds: The limit's value.
    """

    def __init__(
        self, message: str, *, provider: str, model_id: str = "", limit: str, seconds: float
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        super().__init__(message, provider=provider, model_id=model_id)


class UnsupportedFeatureError(AdapterError):
    """The request holds content this provider cannot represent."""


class UnexpectedResponseError(AdapterError):
    """The provider's answer was malformed, truncated or of an unknown shape."""


class ToolError(AgentkitError):
    """Raise inside a tool to send the model an error it can act on.

    Any exception inside a tool becomes an error result for the model; this
    one's message is passed on exactly as written.
    """


class RunError(AgentkitError):
    """A run failed. Nothing is lost: ``messages`` holds the conversation so far.

    Attributes:
        messages: Every message of the run up to the failure, input included.
        usage: Token usage summed over the model calls that completed.
        cause: The underlying agentkit error, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        messages: Sequence[Message] = (),
        usage: Usage | None = None,
        cause: AgentkitError | None = None,
    ) -> None:
        self.messages: list[Message] = list(messages)
        self.usage = usage
        self.cause = cause
        super().__init__(message)


class ModelCallError(RunError):
    """The model call failed; ``cause`` is the adapter's error.

    The provider, status and retry hint are copied from the cause so that a
    caller can act on them without unwrapping.

    Attributes:
        failures: ``(provider:model, error)`` for each model of the chain
            that was tried, in order; ``cause`` is the last one's error.
    """

    def __init__(
        self,
        message: str,
        *,
        messages: Sequence[Message] = (),
        usage: Usage | None = None,
        cause: AgentkitError | None = None,
        failures: Sequence[tuple[str, AgentkitError]] = (),
    ) -> None:
        self.failures = list(failures)
        super().__init__(message, messages=messages, usage=usage, cause=cause)

    @property
    def provider(self) -> str | None:
        """Provider of the failing call."""
        return self.cause.provider if isinstance(self.cause, AdapterError) else None

    @property
    def status_code(self) -> int | None:
        """HTTP status of the failing call, when it was an HTTP error."""
        return self.cause.status_code if isinstance(self.cause, ProviderHTTPError) else None


class UnsupportedSchemaError(ModelCallError):
    """No model of the chain could take the agent's tool or output schemas unchanged.

    ``cause`` is the last model's ``SchemaCompileError`` (with its
    ``changes``); ``failures`` has every model's. Simplify the schema, pick
    another model, or set ``allow_lossy_schemas``.
    """


class MaxTurnsError(RunError):
    """The run reached ``max_turns`` without a final answer."""


class OutputValidationError(RunError):
    """The model's final answer did not match the output schema, even after retries."""


class ToolRetriesError(RunError):
    """A tool kept failing (bad arguments, errors) past its retry budget."""


class BudgetExceededError(RunError):
    """The next model call would take the run past its ``max_cost_usd``."""


class TruncatedError(RunError):
    """An answer was cut off at ``max_tokens`` and the run was asked to fail on that.

    Raised only with ``on_truncation="error"`` (CLI: ``--fail-on-truncation``);
    ``messages`` ends with the cut-off answer.
    """


class ToolNotRepeatableError(RunError):
    """A durable run resumed where a tool marked ``idempotent=False`` was in flight.

    The process died while the tool ran, so nobody knows whether it took
    effect; calling it again could do it twice (pay twice, send twice). The
    run stops instead. Check whether the call took effect, then start a new
    run (another run id) with what you know, or repeat the call yourself.

    Attributes:
        tool: The tool's name.
        call_id: The model's id for the call in flight.
        arguments: The arguments it was called with.
        run_id: The durable run that stopped.
    """

    def __init__(
        self,
        message: str,
        *,
        tool: str = "",
        call_id: str = "",
        arguments: dict[str, Any] | None = None,
        run_id: str = "",
        messages: Sequence[Message] = (),
        usage: Usage | None = None,
    ) -> None:
        # Defaults on every field: the durable engine stores the error and
        # rebuilds it from its message, then its attributes (pickle's way).
        self.tool = tool
        self.call_id = call_id
        self.arguments = dict(arguments or {})
        self.run_id = run_id
        super().__init__(message, messages=messages, usage=usage)
