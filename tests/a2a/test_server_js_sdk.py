"""agentkit's A2A server driven by the official JavaScript SDK (@a2a-js/sdk), on loopback.

The SDK is installed by ``bash .ci/install-a2a-peers.sh`` into a cache
outside the checkout; without it these tests skip, except under CI, where a
missing peer is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from a2a_helpers import (
    TOKEN,
    echo_model,
    plan_model,
    scripted,
    served,
    structured_agent,
    text_agent,
)

SCRIPT = Path(__file__).with_name("js") / "client.mjs"
INSTALL = "run bash .ci/install-a2a-peers.sh"


def _peers_dir() -> Path:
    root = os.environ.get("AGENTKIT_PEERS_DIR") or str(Path.home() / ".cache" / "agentkit")
    return Path(root) / "a2a-js"


@pytest.fixture(scope="module")
def a2a_js() -> Path:
    """The folder holding @a2a-js/sdk; skips (fails under CI) when it is missing."""
    folder = _peers_dir()
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not (folder / "node_modules" / "@a2a-js" / "sdk" / "package.json").is_file():
        missing = f"@a2a-js/sdk is not installed in {folder}"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI must {INSTALL} first")
        pytest.skip(f"{missing}: {INSTALL}")
    return folder


def _run_js(folder: Path, *urls: str, token: str | None) -> dict[str, Any]:
    env = {**os.environ, "A2A_JS_DIR": str(folder)}
    env.pop("A2A_TOKEN", None)
    if token is not None:
        env["A2A_TOKEN"] = token
    done = subprocess.run(
        ["node", str(SCRIPT), *urls], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


COMPLETED, FAILED, CANCELED, WORKING = 3, 4, 5, 2  # the SDK's TaskState numbers


def test_the_js_sdk_drives_every_operation(a2a_js: Path) -> None:
    with (
        served(text_agent(), scripted(echo_model), token=TOKEN) as text_url,
        served(structured_agent(), scripted(plan_model), token=TOKEN) as plan_url,
    ):
        out = _run_js(a2a_js, text_url, plan_url, token=TOKEN)
    assert out["card"] == {"name": "helper", "skills": ["helper", "tool:weather", "tool:hang"]}
    assert out["send"] == {
        "state": COMPLETED,
        "artifacts": [['forecast: {"city": "Oslo", "celsius": 18}']],
    }
    assert out["get"] == {"id": True, "state": COMPLETED}
    stream = out["stream"]
    assert stream["kinds"][0] == "task"
    assert stream["kinds"][-1] == "statusUpdate"
    assert "artifactUpdate" in stream["kinds"]
    assert stream["states"][0] == WORKING
    assert stream["states"][-1] == COMPLETED
    assert stream["text"] == ['forecast: {"city": "Rome", "celsius": 18}']
    assert out["context"] == {"same": True, "text": ["earlier: my name is Ada"]}
    assert out["cancel"] == {"returned": CANCELED, "stored": CANCELED}
    assert out["rest"] == {"state": COMPLETED, "text": ["echo: hi over rest"]}
    assert out["structured"] == {
        "state": COMPLETED,
        "data": [{"city": "Lisbon", "days": 3}],
        "text": ['{"city": "Lisbon", "days": 3}'],
    }
    assert out["failed"]["state"] == FAILED
    assert out["failed"]["message"][0].startswith("OutputValidationError:")


def test_the_js_sdk_is_refused_without_the_token(a2a_js: Path) -> None:
    env = {**os.environ, "A2A_JS_DIR": str(a2a_js)}
    env.pop("A2A_TOKEN", None)
    with served(text_agent(), scripted(echo_model), token=TOKEN) as url:
        done = subprocess.run(
            ["node", str(SCRIPT), url, url], capture_output=True, text=True, env=env, timeout=60
        )
    assert done.returncode == 1
    assert "401" in done.stderr
