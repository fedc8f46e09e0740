"""The cascade: try the cheapest model first, move up only when its answer is not good enough.

An agent with ``escalate_on`` conditions turns its model chain into a
cascade, cheapest first. Errors still fall back along the chain for one call,
as without a cascade; an answer that meets a condition *escalates*: the run
moves to the next model for the rest of the run.

The conditions, judged on each answer of a model that has one above it:

- ``invalid_output``: the final answer does not parse or fails the output
  schema (or, with tool-forced output, the model answered without the tool).
- ``invalid_tool_call``: a tool call names an unknown tool, its arguments are
  not a JSON object or fail the tool's input schema, or the provider
  rejected it.
- ``truncated``: the answer was cut off at ``max_tokens``.
- a check function: called with the validated final output; ``True``
  accepts it, ``False`` or a string (the reason) escalates.

Escalation continues from the conversation so far instead of restarting:
the answer that met the condition is taken out of the conversation (an
``EscalationEvent`` carries it), and the next model is sent everything
before it. So a tool that already ran does not run again (its result stays
in the conversation), the earlier turns are not paid for twice, and
reasoning never crosses providers: adapters replay a reasoning part only to
the provider that made it, as on a fallback. On the last model the
conditions no longer apply; the run behaves as without a cascade (output
retries, the truncation warning). A discarded call counts against ``max_turns``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from ._messages import ToolCallPart, Usage
from ._model import ModelResponse
from ._output import FINAL_RESULT_TOOL, parse_json_answer
from ._result import EscalationEvent
from .exceptions import UserError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from ._agent import Agent
    from ._model import ModelAdapter
    from ._result import RunFold, RunResult
    from ._runner import _Run

__all__ = [
    "CONDITIONS",
    "Cascade",
    "CascadeSaving",
    "CheckFunction",
    "Condition",
    "EscalateOn",
    "cascade_saving",
    "check_escalate_on",
    "format_saving",
    "import_check",
]

Condition = Literal["invalid_output", "invalid_tool_call", "truncated", "check"]

#: The conditions named by a string (a check is a function instead).
CONDITIONS: tuple[str, ...] = tuple(c for c in get_args(Condition) if c != "check")

#: A check on the final output: True accepts, False or a reason escalates.
CheckFunction = Callable[[Any], "bool | str | Awaitable[bool | str]"]

#: What ``Agent.escalate_on`` holds: condition names and check functions.
EscalateOn = Sequence["str | CheckFunction"]


def check_escalate_on(items: EscalateOn, owner: str) -> None:
    """Reject an ``escalate_on`` value that names no known condition.

    Raises:
        UserError: naming the bad item and the conditions there are.
    """
    if isinstance(items, str):
        raise UserError(f"{owner}: escalate_on must be a list, like [{items!r}]")
    for item in items:
        if isinstance(item, str):
            if item not in CONDITIONS:
                raise UserError(
                    f"{owner}: escalate_on has {item!r}, which is no condition; "
                    f"use {', '.join(CONDITIONS)} or a check function"
                )
        elif not callable(item):
            raise UserError(
                f"{owner}: escalate_on has {item!r}, which is neither a condition name "
                "nor a function"
            )


def import_check(reference: str, source: str) -> CheckFunction:
    """The check function an agent file names as ``module:function``.

    Raises:
        UserError: the module cannot be imported, has no such name, or it is
            not callable.
    """
    from ._refs import import_object

    where = f"{source}: escalate_on check {reference!r}"
    obj = import_object(reference, where)
    attribute = reference.partition(":")[2]
    if not callable(obj):
        raise UserError(f"{where}: {attribute!r} is not a function")
    check: CheckFunction = obj
    return check


def _check_name(check: CheckFunction) -> str:
    module = getattr(check, "__module__", None)
    name = getattr(check, "__qualname__", None) or type(check).__name__
    return f"{module}:{name}" if module else name


class Cascade:
    """The cascade policy of one run: which model answers, and when to move up.

    Args:
        agent: The agent, whose ``escalate_on`` gives the conditions.
        adapters: The run's whole model chain, cheapest first.
    """

    def __init__(self, agent: Agent, adapters: Sequence[ModelAdapter]) -> None:
        self.adapters = list(adapters)
        self.models = [f"{a.provider}:{a.model_id}" for a in self.adapters]
        self.conditions = frozenset(i for i in agent.escalate_on if isinstance(i, str))
        self.checks = [i for i in agent.escalate_on if not isinstance(i, str)]
        self._validators: dict[str, Validator] = {}

    @property
    def names(self) -> list[str]:
        """The conditions, checks by ``module:function``, for the run's start event."""
        return [*sorted(self.conditions), *(_check_name(c) for c in self.checks)]

    def _find(self, model: str, start: int) -> int | None:
        for at in range(start, len(self.models)):
            if self.models[at] == model:
                return at
        return None

    def start(self, fold: RunFold) -> int:
        """Where the run's chain starts now: after its last escalation, read from the fold.

        The cascade keeps no state of its own, so a run rebuilt from its
        events (a durable engine resuming it) starts where it left off.
        """
        start = 0
        for escalation in fold.escalations:
            found = self._find(escalation.to_model, start)
            if found is not None:
                start = found
        return start

    def remaining(self, fold: RunFold) -> list[ModelAdapter]:
        """The models the run may still ask, from where the cascade stands."""
        return self.adapters[self.start(fold) :]

    async def escalate(self, run: _Run, response: ModelResponse) -> EscalationEvent | None:
        """Judge ``response``: the escalation to the next model it calls for, or None.

        Once the event is folded, ``remaining`` starts at that next model, for
        every later call of the run.
        """
        tier = self._find(run.answered_by, self.start(run.fold))
        if tier is None or tier + 1 >= len(self.models):
            return None
        found = await self._judge(run, response)
        if found is None:
            return None
        condition, detail = found
        for call in response.message.tool_calls:
            # A rejected call of the discarded answer will never be run.
            run.rejected.pop(call.id, None)
        return EscalationEvent(
            turn=run.fold.turns,
            from_model=run.answered_by,
            to_model=self.models[tier + 1],
            condition=condition,
            detail=detail,
            discarded=response.message,
        )

    async def _judge(self, run: _Run, response: ModelResponse) -> tuple[Condition, str] | None:
        if "truncated" in self.conditions and response.finish_reason == "length":
            limit = run.settings.max_tokens
            where = f"max_tokens={limit}" if limit is not None else "the model's output limit"
            return "truncated", f"the answer was cut off at {where}"
        calls = response.message.tool_calls
        if run.mode == "tool":
            final = next((c for c in calls if c.name == FINAL_RESULT_TOOL), None)
            if final is not None:
                return await self._judge_output(run, final.arguments)
            if not calls:
                return self._invalid("the model answered without calling final_result")
        if calls:
            return self._judge_calls(run, calls)
        text = response.message.text
        if run.mode is None:
            return await self._judge_checks(text or response.refusal or "")
        if response.refusal:
            return self._invalid(f"the model refused to answer: {response.refusal}")
        try:
            data = parse_json_answer(text)
        except ValueError as exc:
            return self._invalid(f"the answer is not valid JSON ({exc})")
        return await self._judge_output(run, data)

    def _invalid(self, detail: str) -> tuple[Condition, str] | None:
        return ("invalid_output", detail) if "invalid_output" in self.conditions else None

    async def _judge_output(self, run: _Run, data: Any) -> tuple[Condition, str] | None:
        try:
            output = run.agent.parse_output(data)
        except ValueError as exc:
            return self._invalid(f"the answer does not match the output schema: {exc}")
        return await self._judge_checks(output)

    async def _judge_checks(self, output: Any) -> tuple[Condition, str] | None:
        for check in self.checks:
            name = _check_name(check)
            try:
                verdict = check(output)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
            except Exception as exc:
                raise UserError(
                    f"escalate_on check {name} failed: {type(exc).__name__}: {exc}"
                ) from exc
            if verdict is True:
                continue
            if verdict is False or verdict == "":
                return "check", f"{name} said no"
            if isinstance(verdict, str):
                return "check", f"{name} said no: {verdict}"
            raise UserError(
                f"escalate_on check {name} returned {verdict!r}; return True to accept the "
                "answer, False or a reason (a string) to escalate"
            )
        return None

    def _judge_calls(self, run: _Run, calls: list[ToolCallPart]) -> tuple[Condition, str] | None:
        if "invalid_tool_call" not in self.conditions:
            return None
        for call in calls:
            problem = self._call_problem(run, call)
            if problem is not None:
                return "invalid_tool_call", problem
        return None

    def _call_problem(self, run: _Run, call: ToolCallPart) -> str | None:
        if call.id in run.rejected:
            return f"the provider rejected the call to {call.name}"
        if call.raw_arguments is not None:
            return f"the arguments for {call.name} are not a JSON object: {call.raw_arguments!r}"
        if call.name not in run.index.routes:
            names = ", ".join(run.index.routes) or "none"
            return f"there is no tool named {call.name!r} (tools: {names})"
        validator = self._validator(run, call.name)
        error = next(iter(validator.iter_errors(call.arguments)), None) if validator else None
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "arguments"
            return f"the call to {call.name} does not fit its input schema: {path}: {error.message}"
        return None

    def _validator(self, run: _Run, name: str) -> Validator | None:
        validator = self._validators.get(name)
        if validator is None:
            from jsonschema import Draft202012Validator

            definition = next((d for d in run.index.definitions if d.name == name), None)
            if definition is None:
                return None
            validator = Draft202012Validator(definition.input_schema)
            self._validators[name] = validator
        return validator


@dataclass(frozen=True)
class CascadeSaving:
    """What a cascade saved, against running every call on its last model.

    Attributes:
        reference: The cascade's last model, the one the saving is measured against.
        answered_by: The model that gave the final answer.
        escalations: Moves up the cascade during the run.
        discarded_calls: The calls (1 for the first) whose answers escalation threw away.
        actual_usd: What the run cost, every call at its own model's price.
        discarded_usd: Of that, the calls whose answers escalation threw away.
        reference_usd: The kept calls' reported tokens at the reference's price:
            an estimate, since its tokenizer (and its answers) would differ.
        saving_usd: ``reference_usd - actual_usd``: negative when escalating
            cost more than asking the reference at once. None whenever a price
            it needs is unknown.
        method: How the numbers were computed, in words.
    """

    reference: str
    answered_by: str
    escalations: int
    discarded_calls: tuple[int, ...]
    actual_usd: float | None
    discarded_usd: float | None
    reference_usd: float | None
    saving_usd: float | None
    method: str


def _add(total: float | None, value: float | None) -> float | None:
    return None if total is None or value is None else total + value


def cascade_saving(result: RunResult) -> CascadeSaving | None:
    """The saving of a run's cascade, or None when the run had no cascade."""
    if not result.cascade:
        return None
    from ._cost import price_usage

    reference = result.cascade[-1]
    discarded_turns = {e.turn for e in result.escalations}
    actual: float | None = 0.0
    discarded: float | None = 0.0
    counterfactual: float | None = 0.0
    for turn, call in enumerate(result.calls, 1):
        response = call.response
        usage = response.usage or Usage()
        cost = price_usage(f"{response.provider}:{response.model_id}", usage).cost_usd
        actual = _add(actual, cost)
        if turn in discarded_turns:
            discarded = _add(discarded, cost)
        else:
            counterfactual = _add(counterfactual, price_usage(reference, usage).cost_usd)
    saving = None if actual is None or counterfactual is None else counterfactual - actual
    return CascadeSaving(
        reference=reference,
        answered_by=result.model,
        escalations=len(result.escalations),
        discarded_calls=tuple(sorted(discarded_turns)),
        actual_usd=actual,
        discarded_usd=discarded,
        reference_usd=counterfactual,
        saving_usd=saving,
        method=(
            f"each kept call's reported tokens priced at {reference}'s price (an estimate: "
            "its tokenizer and answers would differ); discarded answers would not have been asked"
        ),
    )


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.6f}"


def format_saving(saving: CascadeSaving) -> str:
    """The saving as a few lines of text, under the token ledger's table."""
    calls = ", ".join(f"call {n}" for n in saving.discarded_calls) or "no call"
    return "\n".join(
        [
            f"cascade: answered by {saving.answered_by} after {saving.escalations} "
            f"escalation(s); measured against {saving.reference}",
            f"  this run cost {_money(saving.actual_usd)} "
            f"(discarded by escalation: {calls}, {_money(saving.discarded_usd)})",
            f"  on {saving.reference} alone, estimated: {_money(saving.reference_usd)}",
            f"  saving, estimated: {_money(saving.saving_usd)}",
            f"  method: {saving.method}",
        ]
    )
