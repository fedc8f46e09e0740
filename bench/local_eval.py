"""Does the local model choose, call and answer well? Three rates over bench/local_eval.yaml.

For each case the agent runs for real (the model, its tools, the agent loop):

* choice: the first turn calls a tool when the case needs one, answers when not;
* arguments: the tool called is the expected one, with the expected arguments;
* facts: the final answer states what the tool returned (lenient: numbers as
  numbers, words case-insensitively), for the cases that need a tool.

    uv run python bench/local_eval.py [--model llamacpp:/path/model.gguf] [--limit N] [-v]

One generation thread by default (``AGENTKIT_LLAMA_THREADS`` to change it).
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import yaml

from agentkit import Agent, Message, load_agent, resolve_model, run
from agentkit._agentfile import agent_from_document

DATA = Path(__file__).with_name("local_eval.yaml")


@dataclass
class Outcome:
    """What one case's run did, and how it scored."""

    prompt: str
    expect: str
    chose: str
    call: tuple[str, dict[str, Any]] | None
    answer: str
    seconds: float
    choice_ok: bool = False
    arguments_ok: bool | None = None  # None: the case needs no tool
    facts_ok: bool | None = None
    missing: list[str] = field(default_factory=list)


def _norm(value: Any) -> Any:
    return re.sub(r"\s+", "", value).lower() if isinstance(value, str) else value


def arguments_match(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    """Every expected argument is there with the expected value (strings leniently)."""
    return all(_norm(got.get(name)) == _norm(value) for name, value in expected.items())


def missing_facts(facts: list[str], answer: str) -> list[str]:
    """The facts ``answer`` does not state: numbers must appear whole, words anywhere."""
    text = answer.lower().replace("\u2212", "-")
    missing = []
    for fact in facts:
        if re.fullmatch(r"-?\d+(\.\d+)?", fact):
            found = re.search(rf"(?<![\d.]){re.escape(fact)}(?![\d])", text) is not None
            if not found and fact.startswith("-"):
                found = re.search(rf"minus\s*{re.escape(fact[1:])}(?!\d)", text) is not None
        else:
            found = fact.lower() in text
        if not found:
            missing.append(fact)
    return missing


def _agents(data: dict[str, Any]) -> dict[str, Agent]:
    agents = {}
    for name, spec in data["agents"].items():
        if "file" in spec:
            agents[name] = load_agent(DATA.parent / spec["file"])
        else:
            agents[name] = agent_from_document(spec["document"], f"{DATA}:{name}", DATA.parent)
    return agents


def _first_call(messages: list[Message]) -> tuple[str, dict[str, Any]] | None:
    for message in messages:
        if message.role == "assistant":
            calls = message.tool_calls
            return (calls[0].name, dict(calls[0].arguments)) if calls else None
    return None


async def run_case(agent: Agent, model: Any, case: dict[str, Any]) -> Outcome:
    """Run one case through the agent loop and score it."""
    started = time.perf_counter()
    result = await run(agent, case["prompt"], model=model)
    seconds = time.perf_counter() - started
    call = _first_call(result.messages)
    answer = result.output if isinstance(result.output, str) else str(result.output)
    outcome = Outcome(
        prompt=case["prompt"],
        expect=case["expect"],
        chose="tool" if call else "answer",
        call=call,
        answer=answer,
        seconds=seconds,
    )
    outcome.choice_ok = outcome.chose == case["expect"]
    if case["expect"] == "tool":
        outcome.arguments_ok = call is not None and (
            call[0] == case["tool"] and arguments_match(case.get("arguments", {}), call[1])
        )
        outcome.missing = missing_facts([str(f) for f in case.get("facts", [])], answer)
        outcome.facts_ok = not outcome.missing
    return outcome


def _rate(values: list[bool]) -> str:
    return (
        f"{sum(values)}/{len(values)} = {100 * sum(values) / len(values):.0f}%" if values else "-"
    )


def report(model: str, outcomes: list[Outcome], seconds: float) -> str:
    """The three rates as a small table."""
    choice = [o.choice_ok for o in outcomes]
    arguments = [o.arguments_ok for o in outcomes if o.arguments_ok is not None]
    facts = [o.facts_ok for o in outcomes if o.facts_ok is not None]
    return "\n".join(
        [
            f"model: {model}   cases: {len(outcomes)}   time: {seconds:.0f} s",
            f"  {'right choice (tool or answer)':<36} {_rate(choice)}",
            f"  {'right tool arguments':<36} {_rate(arguments)}",
            f"  {'answer states the tool facts':<36} {_rate(facts)}",
        ]
    )


async def evaluate(model_name: str, limit: int | None, verbose: bool) -> None:
    """Run every case (or the first ``limit``) and print the table."""
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    agents = _agents(data)
    model = resolve_model(model_name)
    cases = data["cases"]
    if limit:  # an even spread, so a short run still sees every kind of case
        cases = [cases[i * len(cases) // limit] for i in range(min(limit, len(cases)))]
    started = time.perf_counter()
    outcomes = []
    for case in cases:
        outcome = await run_case(agents[case["agent"]], model, case)
        outcomes.append(outcome)
        if verbose:
            marks = "".join(
                "." if ok else ("-" if ok is None else "x")
                for ok in (outcome.choice_ok, outcome.arguments_ok, outcome.facts_ok)
            )
            missing = f" missing {outcome.missing}" if outcome.missing else ""
            print(
                f"{marks} {outcome.seconds:5.1f}s {outcome.prompt!r} -> {outcome.call} "
                f"{outcome.answer[:100]!r}{missing}",
                flush=True,
            )
    print(report(model_name, outcomes, time.perf_counter() - started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="llamacpp:smollm2-135m")
    parser.add_argument("--limit", type=int, default=None, help="run N cases spread over the set")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    anyio.run(evaluate, args.model, args.limit, args.verbose)


if __name__ == "__main__":
    main()
