"""Conformance reports: a summary table, JSON, Markdown and JUnit XML."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree import ElementTree

from .._model import Capabilities
from ._runner import ScenarioResult
from ._scenarios import LEVELS

__all__ = ["VERDICTS", "ConformanceReport"]

#: Summary columns, in order.
VERDICTS = ("pass", "fail", "not claimed", "could claim", "n/a", "xfail", "xpass")


@dataclass
class ConformanceReport:
    """The outcome of running the kit against one adapter.

    Attributes:
        target: The adapter or model string that was checked.
        provider: The adapter's provider name.
        model_id: The adapter's model id.
        mode: ``emulated`` or ``live``.
        capabilities: What the adapter declared.
        results: One per scenario.
        agentkit_version: The kit's version.
        scenario_version: The scenario set's version.
    """

    target: str
    provider: str
    model_id: str
    mode: str
    capabilities: Capabilities
    results: list[ScenarioResult] = field(default_factory=list)
    agentkit_version: str = ""
    scenario_version: str = ""

    @property
    def ok(self) -> bool:
        """No claimed scenario failed and no expected failure started passing."""
        return not any(r.verdict in ("fail", "xpass") for r in self.results)

    def counts(self) -> dict[str, dict[str, int]]:
        """Verdict counts by level (only levels that ran)."""
        table: dict[str, dict[str, int]] = {}
        for result in self.results:
            row = table.setdefault(result.scenario.level, dict.fromkeys(VERDICTS, 0))
            row[result.verdict] += 1
        return {level: table[level] for level in LEVELS if level in table}

    def summary(self) -> str:
        """A fixed-width table, level by level, for the terminal."""
        head = f"{'level':<18}" + "".join(f"{v:>13}" for v in VERDICTS)
        lines = [f"{self.target} ({self.mode})", head, "-" * len(head)]
        for level, row in self.counts().items():
            lines.append(f"{level:<18}" + "".join(f"{row[v]:>13}" for v in VERDICTS))
        lines.append("PASSED" if self.ok else "FAILED")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        caps = {
            k: sorted(v) if isinstance(v, frozenset) else v
            for k, v in asdict(self.capabilities).items()
        }
        return {
            "agentkit_version": self.agentkit_version,
            "scenario_version": self.scenario_version,
            "target": self.target,
            "provider": self.provider,
            "model_id": self.model_id,
            "mode": self.mode,
            "ok": self.ok,
            "capabilities": caps,
            "summary": self.counts(),
            "results": [
                {
                    "id": r.scenario.id,
                    "level": r.scenario.level,
                    "title": r.scenario.title,
                    "verdict": r.verdict,
                    "problems": r.problems,
                    "not_observed": r.not_observed,
                    "seconds": round(r.seconds, 4),
                }
                for r in self.results
            ],
        }

    def to_markdown(self) -> str:
        """A badge-style Markdown table, then each scenario's verdict."""
        marks = {
            "pass": "✅ pass", "fail": "❌ fail", "not claimed": "➖ not claimed",
            "could claim": "💡 could claim", "n/a": "⚪ n/a", "xfail": "⚠️ known gap",
            "xpass": "❗ known gap now passes",
        }  # fmt: skip
        lines = [
            f"# Conformance: `{self.target}` ({self.mode})",
            "",
            f"agentkit {self.agentkit_version}, scenarios v{self.scenario_version}: "
            f"**{'PASSED' if self.ok else 'FAILED'}**",
            "",
            "| level | " + " | ".join(VERDICTS) + " |",
            "|---|" + "---:|" * len(VERDICTS),
        ]
        for level, row in self.counts().items():
            lines.append(f"| {level} | " + " | ".join(str(row[v]) for v in VERDICTS) + " |")
        lines += ["", "| scenario | verdict | notes |", "|---|---|---|"]
        for r in self.results:
            unseen = [f"not observed: {', '.join(r.not_observed)}"] if r.not_observed else []
            notes = "; ".join(r.problems + unseen).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{r.scenario.id}` | {marks[r.verdict]} | {notes} |")
        return "\n".join(lines) + "\n"

    def to_junit(self) -> str:
        """JUnit XML: one testcase per scenario, one testsuite per level."""
        root = ElementTree.Element("testsuites", name=f"agentkit conformance {self.target}")
        for level in LEVELS:
            results = [r for r in self.results if r.scenario.level == level]
            if not results:
                continue
            suite = ElementTree.SubElement(
                root,
                "testsuite",
                name=level,
                tests=str(len(results)),
                failures=str(sum(r.verdict in ("fail", "xpass") for r in results)),
                skipped=str(sum(r.verdict in ("not claimed", "n/a", "xfail") for r in results)),
            )
            for r in results:
                case = ElementTree.SubElement(
                    suite,
                    "testcase",
                    classname=f"conformance.{level}",
                    name=r.scenario.id,
                    time=f"{r.seconds:.4f}",
                )
                message = "; ".join(r.problems)
                if r.verdict in ("fail", "xpass"):
                    ElementTree.SubElement(case, "failure", message=message).text = message
                elif r.verdict in ("not claimed", "n/a", "xfail"):
                    ElementTree.SubElement(case, "skipped", message=f"{r.verdict}: {message}")
        return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)

    def render(self, kind: str) -> str:
        """The report as ``json``, ``md`` or ``junit``."""
        if kind == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
        if kind == "md":
            return self.to_markdown()
        if kind == "junit":
            return self.to_junit()
        raise ValueError(f"unknown report kind {kind!r}")
