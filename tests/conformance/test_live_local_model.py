"""Live mode against the in-process local model (offline, about ten seconds on a CPU)."""

from __future__ import annotations

import pytest

from agentkit.conformance import check_adapter


@pytest.mark.anyio
async def test_the_local_model_passes_what_applies_live() -> None:
    report = await check_adapter(
        "llamacpp:smollm2-135m", mode="live", levels=["core", "streaming", "structured_output"]
    )
    verdicts = {r.scenario.id: r.verdict for r in report.results}
    assert report.ok, {r.scenario.id: r.problems for r in report.results if r.verdict == "fail"}
    # Scripted checks are never counted as passes against a real model.
    for result in report.results:
        assert (result.verdict == "n/a") == (not result.scenario.live), result.scenario.id
    assert verdicts["core.plain_answer"] == "pass"
    assert verdicts["streaming.cancel"] == "pass"
    assert verdicts["structured_output.basic"] == "pass"
