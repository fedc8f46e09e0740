"""Which scenarios to run: filters and expected failures that match nothing are errors.

A filter that selects nothing would otherwise run nothing and "pass"; an
expected failure naming no scenario would silently excuse nothing. Both are
mistakes of whoever runs the kit, reported before anything runs, naming what
exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..exceptions import UserError
from ._scenarios import Scenario, load_scenarios

__all__ = ["select_scenarios"]


def _unknown(names: Iterable[str], known: Iterable[str]) -> list[str]:
    have = set(known)
    return [name for name in names if name not in have]


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def select_scenarios(
    levels: list[str] | None = None,
    scenario_ids: list[str] | None = None,
    expected_failures: Mapping[str, str] | None = None,
) -> list[Scenario]:
    """The shipped scenarios in ``levels`` and ``scenario_ids`` (all when both are empty).

    Args:
        levels: Keep only these levels.
        scenario_ids: Keep only these scenarios.
        expected_failures: Known gaps by scenario id: each must name a scenario
            (any scenario, not only a selected one, so one file serves every filter).

    Returns:
        The scenarios, in level order.

    Raises:
        UserError: a level or id matches no scenario, the two filters together
            leave nothing, or an expected failure names no scenario.
    """
    everything = load_scenarios()
    ids = [s.id for s in everything]
    present = list(dict.fromkeys(s.level for s in everything))
    for level in _unknown(levels or [], present):
        raise UserError(
            f"no level {level!r}{_suggest(level, present)}; levels: {', '.join(present)}"
        )
    for name in _unknown(scenario_ids or [], ids):
        raise UserError(f"no scenario {name!r}{_suggest(name, ids)}; scenarios: {', '.join(ids)}")
    stray = _unknown(expected_failures or {}, ids)
    if stray:
        raise UserError(
            f"expected failures name no scenario: {', '.join(stray)}"
            f"{_suggest(stray[0], ids)}; scenarios: {', '.join(ids)}"
        )
    chosen = [
        s
        for s in everything
        if (not levels or s.level in levels) and (not scenario_ids or s.id in scenario_ids)
    ]
    if not chosen:
        raise UserError(
            f"--level {' --level '.join(levels or [])} with --scenario "
            f"{' --scenario '.join(scenario_ids or [])} matches no scenario: "
            "each named scenario is in another level"
        )
    return chosen
