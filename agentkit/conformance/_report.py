"""Conformance reports: a summary table, JSON, Markdown and JUnit XML."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree import ElementTree

from .._model import Capabilities
from ._runner import ScenarioResult
from ._scenarios import LEVELS

__all__ = ["VERDICTS", "ConformanceReport", "xml_text"]

#: Characters XML 1.0 cannot hold, even escaped: C0 controls but tab, newline and
#: carriage return, lone surrogates, and the two non-characters U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` made safe for an XML document: impossible characters shown as ``\\xNN``.

    ElementTree escapes ``<``, ``&`` and ``>`` itself (so ``]]>`` is harmless);
    what it cannot do is drop the characters XML forbids, which would make the
    file unreadable (or, for a lone surrogate, unwritable as UTF-8).
    """

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _NOT_XML.sub(escape, text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _backslashed(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
        """JUnit XML: one testcase per scenario, one testsuite per level.

        A case whose pass leaves checks unmade lists them in a ``not_observed`` property.
        """
        root = ElementTree.Element(
            "testsuites", name=xml_text(f"agentkit conformance {self.target}")
        )
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
                    name=xml_text(r.scenario.id),
                    time=f"{r.seconds:.4f}",
                )
                if r.not_observed:
                    # As pytest's record_property writes it: a property list first.
                    properties = ElementTree.SubElement(case, "properties")
                    ElementTree.SubElement(
                        properties,
                        "property",
                        name="not_observed",
                        value=xml_text("; ".join(r.not_observed)),
                    )
                message = xml_text("; ".join(r.problems))
                if r.verdict in ("fail", "xpass"):
                    ElementTree.SubElement(case, "failure", message=message).text = message
                elif r.verdict in ("not claimed", "n/a", "xfail"):
                    ElementTree.SubElement(case, "skipped", message=f"{r.verdict}: {message}")
        return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)

    def render(self, kind: str) -> str:
        """The report as ``json``, ``md`` or ``junit``, always encodable as UTF-8."""
        if kind == "json":
            text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
            if _encodable(text):
                return text
            # A lone surrogate in a message: JSON's own escapes keep the file valid.
            return json.dumps(self.to_json(), indent=2) + "\n"
        if kind == "md":
            text = self.to_markdown()
            return text if _encodable(text) else _backslashed(text)
        if kind == "junit":
            return self.to_junit()
        raise ValueError(f"unknown report kind {kind!r}")
