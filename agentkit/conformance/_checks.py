"""What a scenario's outcome must satisfy: the invariants every run keeps, then its checks.

Each function returns failure messages (empty: passed). Messages name the
rule and what was seen, because the reader is an adapter author looking for
the bug.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, get_args

from .. import exceptions
from .._messages import ImagePart, TextPart, ToolCallPart, ToolResultPart, Usage
from .._model import (
    Capabilities,
    FinishReason,
    ModelRequest,
    ModelResponse,
    ResponseEndEvent,
    ResponseStartEvent,
    StreamEvent,
    TextDeltaEvent,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)
from ._scenarios import Scenario
from ._script import WireFacts
from ._valid import invalid_values

__all__ = ["Outcome", "check_outcome", "unobserved"]

_FINISH_REASONS = set(get_args(FinishReason))
#: Settings that never travel on the wire, so cannot be seen arriving.
_LOCAL_SETTINGS = {"timeout", "extra"}
#: Seconds the event loop may stand still during a call before the adapter is blamed.
LOOP_BLOCK_LIMIT = 1.0
#: The usage fields compared with what the wire said.
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "reasoning_output_tokens",
)


@dataclass
class Outcome:
    """Everything observed while running one scenario.

    Attributes:
        events: The stream events (for ``generate``, the events the response unfolds to).
        response: The final response, when there was one.
        error: The exception that escaped, if any.
        received: What the model was sent (emulated mode), or None when unobservable.
        leaked_tasks: asyncio tasks still running after the call that were not
            before (name and coroutine of each); None when unobservable (not asyncio).
        disconnected: Whether the emulator saw the client hang up; None when unobservable.
        timed_out: The call did not finish within the kit's per-scenario deadline.
        requests: HTTP requests the server saw; None when unobservable.
        wire: What the scripted wire said (usage, tool-call ids); None when
            unknown (live) or when the script gives no answer.
        seconds: How long the call took, until it answered or raised.
        loop_blocked: The longest the event loop stood still during the call, in seconds,
            less the time its thread waited for a CPU where the OS reports it (see
            ``LoopWatch``).
    """

    events: list[StreamEvent] = field(default_factory=list)
    response: ModelResponse | None = None
    error: BaseException | None = None
    received: ModelRequest | None = None
    leaked_tasks: list[str] | None = field(default_factory=list)
    disconnected: bool | None = None
    timed_out: bool = False
    requests: int | None = None
    wire: WireFacts | None = None
    seconds: float = 0.0
    loop_blocked: float = 0.0


def _check_events(outcome: Outcome, request: ModelRequest, cancelled: bool) -> list[str]:
    problems: list[str] = []
    events = outcome.events
    starts = [e for e in events if isinstance(e, ResponseStartEvent)]
    ends = [e for e in events if isinstance(e, ResponseEndEvent)]
    if events and not isinstance(events[0], ResponseStartEvent):
        problems.append(f"stream: the first event is {events[0].type}, not response_start")
    if len(starts) > 1:
        problems.append(f"stream: {len(starts)} response_start events, expected exactly one")
    if not cancelled and outcome.error is None:
        if len(ends) != 1:
            problems.append(f"stream: {len(ends)} response_end events, expected exactly one")
        elif events[-1] is not ends[0]:
            problems.append("stream: events after response_end")
    schemas = {t.name: t.input_schema for t in request.tools}
    open_calls: dict[int, ToolCallStartEvent] = {}
    deltas: dict[int, list[str]] = {}
    for event in events:
        if isinstance(event, ToolCallStartEvent):
            if event.index in open_calls:
                problems.append(f"stream: tool call {event.index} started twice")
            open_calls[event.index] = event
            deltas[event.index] = []
        elif isinstance(event, ToolCallDeltaEvent):
            if event.index not in open_calls:
                problems.append(f"stream: arguments for tool call {event.index}, which is not open")
            deltas.setdefault(event.index, []).append(event.arguments_delta)
        elif isinstance(event, ToolCallEndEvent):
            start = open_calls.pop(event.index, None)
            if start is None:
                problems.append(f"stream: tool call {event.index} ended but never started")
            elif start.id != event.call.id:
                problems.append(
                    f"stream: tool call {event.index} started with id {start.id!r} but ended "
                    f"with id {event.call.id!r}: one call keeps one id on every event"
                )
            problems += _check_call_arguments(event, deltas.get(event.index, []), schemas)
    if open_calls and not cancelled and outcome.error is None:
        problems.append(f"stream: tool calls {sorted(open_calls)} started but never ended")
    if ends and outcome.error is None:
        final = ends[-1].response
        text = "".join(e.text for e in events if isinstance(e, TextDeltaEvent))
        if text != final.message.text:
            problems.append(
                f"stream: text deltas add up to {text!r} but the final text is "
                f"{final.message.text!r}"
            )
        ended = [e.call for e in events if isinstance(e, ToolCallEndEvent)]
        problems += _compare_ended(ended, final.message.tool_calls)
    return problems


def _compare_ended(ended: list[ToolCallPart], final: list[ToolCallPart]) -> list[str]:
    if len(ended) != len(final):
        return [
            f"stream: {len(ended)} tool_call_end events but the final message has "
            f"{len(final)} tool calls"
        ]
    problems = []
    for n, (streamed, kept) in enumerate(zip(ended, final, strict=True)):
        if streamed.id != kept.id:
            problems.append(
                f"stream: tool call {n} ended with id {streamed.id!r} but the final message "
                f"gives it id {kept.id!r}"
            )
        elif streamed != kept:
            problems.append(
                f"stream: tool call {n} ({streamed.name}) differs between its tool_call_end "
                "event and the final message"
            )
    return problems


def _check_call_arguments(
    event: ToolCallEndEvent, fragments: list[str], schemas: dict[str, dict[str, Any]]
) -> list[str]:
    import jsonschema

    call = event.call
    if call.raw_arguments is not None:
        return [
            f"tool call {call.name!r}: arguments are not a parsed JSON object "
            f"(raw_arguments={call.raw_arguments!r})"
        ]
    problems: list[str] = []
    joined = "".join(fragments)
    if joined:
        try:
            if json.loads(joined) != call.arguments:
                problems.append(
                    f"tool call {call.name!r}: argument fragments {joined!r} do not reassemble "
                    f"to the parsed arguments {call.arguments!r}"
                )
        except ValueError:
            problems.append(f"tool call {call.name!r}: argument fragments {joined!r} are not JSON")
    schema = schemas.get(call.name)
    if schema is None:
        problems.append(f"tool call names {call.name!r}, which is not among the request's tools")
    else:
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(schema).iter_errors(call.arguments)
        )
        if error is not None:
            problems.append(
                f"tool call {call.name!r}: arguments {call.arguments!r} do not match the "
                f"tool's schema: {error.message}"
            )
    return problems


def _usage_text(usage: Usage) -> str:
    return ", ".join(f"{name}={getattr(usage, name)}" for name in _USAGE_FIELDS)


def _check_usage(
    response: ModelResponse, scenario: Scenario, caps: Capabilities, wire: WireFacts | None
) -> list[str]:
    usage = response.usage
    if wire is not None and wire.usage is None:
        if usage is None:
            return []
        return [
            f"usage: the provider reported no usage, yet the adapter says {_usage_text(usage)}; "
            "usage must be None when the wire carries none (zero is a count, not a gap)"
        ]
    if usage is None:
        if scenario.stream and not caps.usage_in_stream:
            return []  # declared: this adapter does not report usage when streaming
        return ["usage: not reported (response.usage is None) although the adapter claims it"]
    problems = []
    if usage.cache_read_input_tokens > usage.input_tokens:
        problems.append("usage: cache_read_input_tokens exceeds input_tokens")
    if usage.reasoning_output_tokens > usage.output_tokens:
        problems.append("usage: reasoning_output_tokens exceeds output_tokens")
    if usage.requests != 1:
        problems.append(f"usage: requests is {usage.requests} for one model call")
    if wire is not None and wire.usage is not None:
        problems += _compare_usage(usage, wire.usage)
    return problems


def _compare_usage(got: Usage, wire: Usage) -> list[str]:
    problems = []
    for name in _USAGE_FIELDS:
        have, want = getattr(got, name), getattr(wire, name)
        if have == want:
            continue
        hint = ""
        if want and have == 2 * want:
            hint = " (counted twice? streamed usage is cumulative or final, not per chunk)"
        elif want and not have:
            hint = " (dropped)"
        problems.append(f"usage: {name} is {have}, but the wire said {want}{hint}")
    return problems


def _check_call_ids(response: ModelResponse, wire: WireFacts | None) -> list[str]:
    calls = response.message.tool_calls
    ids = [c.id for c in calls]
    if any(not i for i in ids):
        return [f"tool_calls: empty call id in {ids}; every call needs an id its result can name"]
    if len(set(ids)) != len(ids):
        return [f"tool_calls: call ids {ids} are not unique"]
    if wire is None or wire.tool_call_ids is None or len(wire.tool_call_ids) != len(ids):
        return []
    if ids != wire.tool_call_ids:
        return [
            f"tool_calls: ids {ids} are not the wire's {wire.tool_call_ids}: keep the "
            "provider's ids, its tool results are matched to calls by them"
        ]
    return []


def _check_settings(
    response: ModelResponse | None, outcome: Outcome, request: ModelRequest, caps: Capabilities
) -> list[str]:
    problems: list[str] = []
    warned = {w.feature for w in response.warnings} if response is not None else set()
    for name in request.settings.model_fields_set - _LOCAL_SETTINGS:
        value = getattr(request.settings, name)
        if name not in caps.settings:
            if response is not None and name not in warned:
                problems.append(
                    f"settings: {name}={value!r} is not among the settings the adapter "
                    "honours, and no warning says it was dropped"
                )
        elif outcome.received is not None and getattr(outcome.received.settings, name) is None:
            problems.append(
                f"settings: {name}={value!r} is claimed as honoured but never reached the model"
            )
    return problems


def _invariants(
    scenario: Scenario, outcome: Outcome, request: ModelRequest, caps: Capabilities
) -> list[str]:
    cancelled = scenario.cancel_after_events is not None
    problems = _check_events(outcome, request, cancelled)
    error = outcome.error
    if error is not None and not isinstance(error, exceptions.AgentkitError):
        problems.append(
            f"exceptions: {type(error).__module__}.{type(error).__name__} escaped "
            f"({error}); only agentkit.exceptions may escape an adapter"
        )
    response = outcome.response
    if response is not None:
        if response.finish_reason not in _FINISH_REASONS:
            problems.append(f"finish_reason {response.finish_reason!r} is not normalised")
        problems += _check_usage(response, scenario, caps, outcome.wire)
        problems += _check_call_ids(response, outcome.wire)
    if error is None:
        problems += _check_settings(response, outcome, request, caps)
    if outcome.leaked_tasks:
        problems.append(
            f"cleanup: {len(outcome.leaked_tasks)} asyncio task(s) left running after the call: "
            + "; ".join(outcome.leaked_tasks)
        )
    if outcome.loop_blocked > LOOP_BLOCK_LIMIT:
        problems.append(
            f"event loop: blocked for {outcome.loop_blocked:.1f} s during the call; a "
            "synchronous wait (blocking I/O, time.sleep, a sync SDK) stops every other task"
        )
    problems += _check_requests(scenario, outcome)
    return problems


def _check_requests(scenario: Scenario, outcome: Outcome) -> list[str]:
    count = outcome.requests
    if count is None or "connect" in scenario.script:
        return []
    if count > 1:
        return [
            f"requests: sent {count} requests for a one-exchange scenario: adapters must "
            "not retry; the runner does"
        ]
    if count == 0 and outcome.response is not None:
        return ["requests: the server saw no request, yet the adapter answered"]
    return []


def unobserved(scenario: Scenario, outcome: Outcome) -> list[str]:
    """The checks this run could not make, so that they are not mistaken for passes.

    Args:
        scenario: The scenario that ran.
        outcome: What was observed.

    Returns:
        One short name per check that was not observed.
    """
    missed = []
    if outcome.requests is None and "connect" not in scenario.script:
        missed.append("request count (retries)")
    if outcome.leaked_tasks is None:
        missed.append("leaked tasks (only asyncio's tasks can be listed; trio is not supported)")
    if scenario.checks.get("disconnected") and outcome.disconnected is None:
        missed.append("disconnect on cancel")
    response = outcome.response
    if response is not None and outcome.wire is None:
        missed.append("usage values against the wire's (unknown here)")
        if response.message.tool_calls:
            missed.append("tool-call ids against the wire's (unknown here)")
    return missed


def _check_received(
    expected: dict[str, Any], got: ModelRequest, wire: WireFacts | None
) -> list[str]:
    problems: list[str] = []
    texts = [p.text for m in got.messages for p in m.parts if isinstance(p, TextPart)]
    texts += [p.text for m in got.messages for p in m.parts if isinstance(p, ToolResultPart)]
    if "roles" in expected:
        roles = [m.role for m in got.messages]
        if roles != expected["roles"]:
            problems.append(f"sent: message roles {roles}, expected {expected['roles']}")
    if "system_contains" in expected:
        system = " ".join(m.text for m in got.messages if m.role == "system")
        if expected["system_contains"] not in system:
            problems.append(f"sent: the system instructions were lost (got {system!r})")
    for needle in expected.get("text_contains", []):
        if not any(needle in t for t in texts):
            problems.append(f"sent: {needle!r} is not in any message the model received")
    if "tools" in expected and sorted(t.name for t in got.tools) != sorted(expected["tools"]):
        problems.append(f"sent: tools {[t.name for t in got.tools]}, expected {expected['tools']}")
    # "none" may be honoured by sending no tools at all (Ollama has no tool_choice).
    choice_ok = got.tool_choice == expected.get("tool_choice") or (
        expected.get("tool_choice") == "none" and not got.tools
    )
    if "tool_choice" in expected and not choice_ok:
        problems.append(
            f"sent: tool_choice {got.tool_choice!r} reached the model, expected "
            f"{expected['tool_choice']!r} (dropped silently?)"
        )
    if expected.get("output_schema") and got.output_schema is None:
        problems.append("sent: the output schema never reached the model")
    parts = [p for m in got.messages for p in m.parts]
    if "images" in expected:
        images = sum(isinstance(p, ImagePart) for p in parts)
        if images != expected["images"]:
            problems.append(
                f"sent: {images} images reached the model, expected {expected['images']}"
            )
    results = [p for p in parts if isinstance(p, ToolResultPart)]
    if "tool_results" in expected and len(results) != expected["tool_results"]:
        problems.append(f"sent: {len(results)} tool results, expected {expected['tool_results']}")
    # Only where the wire carries ids: Gemini 2.x matches results to calls by name.
    if "tool_result_ids" in expected and wire is not None and wire.tool_call_ids is not None:
        sent = [p.call_id for p in results]
        if sent != expected["tool_result_ids"]:
            problems.append(
                f"sent: tool results answer call ids {sent}, expected "
                f"{expected['tool_result_ids']}: the provider matches results to its calls by id"
            )
    return problems


def _check_error(checks: dict[str, Any], error: BaseException | None) -> list[str]:
    wanted = checks["raises"]
    cls = getattr(exceptions, wanted, None)
    if cls is None:  # pragma: no cover - the schema test keeps names valid
        return [f"checks: unknown exception class {wanted}"]
    if error is None:
        return [f"raises: expected {wanted}, but the call succeeded"]
    if not isinstance(error, cls):
        return [f"raises: expected {wanted}, got {type(error).__name__}: {error}"]
    if "retry_after" in checks and getattr(error, "retry_after", None) != checks["retry_after"]:
        got = getattr(error, "retry_after", None)
        return [f"raises: retry_after is {got!r}, expected {checks['retry_after']!r}"]
    words = checks.get("error_mentions", [])
    if words and not any(w.lower() in str(error).lower() for w in words):
        return [f"raises: the message {str(error)!r} says none of {words}"]
    return []


def _check_response(
    checks: dict[str, Any],
    response: ModelResponse,
    request: ModelRequest,
    events: list[StreamEvent],
) -> list[str]:
    import jsonschema

    problems: list[str] = []
    text = response.message.text
    if checks.get("text_nonempty") and not text.strip():
        problems.append("text: the answer is empty")
    if "text_equals" in checks and text != checks["text_equals"]:
        problems.append(f"text: got {text!r}, expected {checks['text_equals']!r}")
    for needle in checks.get("text_contains", []):
        if needle not in text:
            problems.append(f"text: {needle!r} is not in the answer {text!r}")
    if "tool_calls" in checks:
        got = response.message.tool_calls
        want = checks["tool_calls"]
        if len(got) != len(want):
            problems.append(
                f"tool_calls: got {len(got)} ({[(c.name, c.arguments) for c in got]}), "
                f"expected {len(want)}"
            )
        else:
            for call, spec in zip(got, want, strict=True):
                if call.name != spec["name"] or (
                    "arguments" in spec and call.arguments != spec["arguments"]
                ):
                    problems.append(
                        f"tool_calls: got {call.name}({call.arguments}), expected "
                        f"{spec['name']}({spec.get('arguments', '...')})"
                    )
    if "finish_reason" in checks and response.finish_reason != checks["finish_reason"]:
        problems.append(
            f"finish_reason: got {response.finish_reason!r} (raw {response.raw_finish_reason!r}), "
            f"expected {checks['finish_reason']!r}"
        )
    if checks.get("usage_reported") and response.usage is None:
        problems.append("usage: not reported")
    if "usage_equals" in checks and response.usage is not None:
        got_usage = {k: getattr(response.usage, k) for k in checks["usage_equals"]}
        if got_usage != checks["usage_equals"]:
            problems.append(f"usage: got {got_usage}, expected {checks['usage_equals']}")
    if checks.get("output_matches_schema"):
        try:
            value = json.loads(text)
        except ValueError:
            problems.append(f"output: the answer is not JSON: {text!r}")
        else:
            error = jsonschema.exceptions.best_match(
                jsonschema.Draft202012Validator(request.output_schema or {}).iter_errors(value)
            )
            if error is not None:
                problems.append(f"output: does not match the output schema: {error.message}")
    deltas = sum(isinstance(e, TextDeltaEvent) for e in events)
    if deltas < checks.get("min_text_deltas", 0):
        problems.append(f"stream: text came in {deltas} delta(s), expected several")
    fragments = sum(isinstance(e, ToolCallDeltaEvent) for e in events)
    if fragments < checks.get("min_argument_deltas", 0):
        problems.append(
            f"stream: tool-call arguments came in {fragments} fragment(s), expected several"
        )
    return problems


def check_outcome(
    scenario: Scenario, outcome: Outcome, request: ModelRequest, caps: Capabilities
) -> list[str]:
    """Every failure in ``outcome``: the invariants, then the scenario's checks.

    Args:
        scenario: The scenario that ran.
        outcome: What was observed.
        request: The request that was sent.
        caps: The adapter's declared capabilities.

    Returns:
        Failure messages; empty when the scenario passed.
    """
    if outcome.timed_out:
        return ["hung: no answer within the per-scenario deadline"]
    invalid = invalid_values(outcome.response, outcome.events)
    if invalid:
        # Every other check would read values that are not what they claim to be.
        return invalid
    problems = _invariants(scenario, outcome, request, caps)
    checks = scenario.checks
    cancelled = scenario.cancel_after_events is not None
    accepted = getattr(exceptions, checks.get("or_raises", ""), None)
    if "raises" in checks:
        problems += _check_error(checks, outcome.error)
        limit = checks.get("within_seconds")
        if limit is not None and outcome.seconds > limit:
            problems.append(
                f"raises: the error came after {outcome.seconds:.1f} s, expected within "
                f"{limit:g} s (retrying, or ignoring settings.timeout?)"
            )
    elif accepted is not None and isinstance(outcome.error, accepted):
        pass  # the scenario allows this error in place of an answer
    elif outcome.error is not None:
        problems.append(f"error: {type(outcome.error).__name__}: {outcome.error}")
    elif outcome.response is not None:
        problems += _check_response(checks, outcome.response, request, outcome.events)
    elif not cancelled:
        problems.append("no response and no error")
    if outcome.received is not None and "received" in checks:
        problems += _check_received(checks["received"], outcome.received, outcome.wire)
    if checks.get("disconnected") and outcome.disconnected is False:
        problems.append("cleanup: the connection stayed open after the stream was abandoned")
    return problems
