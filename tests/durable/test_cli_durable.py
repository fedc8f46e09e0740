"""``agentkit run --durable``: the example agent, recorded, and its result again by run id."""

from __future__ import annotations

import json
from pathlib import Path

from agentkit.testing import OpenAIChatEmulator, serve_asgi

from ..test_cli import EXAMPLE, agentkit
from ..weather_script import weather_script


def test_run_durable_twice_with_one_id_calls_the_model_once(tmp_path: Path) -> None:
    app = OpenAIChatEmulator(weather_script, api_key="sk-test")
    with serve_asgi(app) as url:
        env = {
            "OPENAI_BASE_URL": f"{url}/v1",
            "OPENAI_API_KEY": "sk-test",
            "AGENTKIT_DURABLE_DATABASE": str(tmp_path / "runs.sqlite"),
        }
        args = ["run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", "-i", "Weather in Paris?"]
        first = agentkit(*args, "--durable", "--json", "--run-id", "weather-1", env=env)
        assert first.returncode == 0, first.stderr
        assert len(app.requests) == 2  # the tool call, then the answer
        again = agentkit(*args, "--durable", "--json", "--run-id", "weather-1", env=env)
        assert again.returncode == 0, again.stderr
        assert len(app.requests) == 2
    end = [json.loads(line) for line in first.stdout.splitlines()][-1]
    repeated = [json.loads(line) for line in again.stdout.splitlines()]
    assert repeated[-1]["type"] == "run_end"
    assert repeated[-1]["result"]["output"] == end["result"]["output"]
    assert repeated[-1]["result"]["messages"] == end["result"]["messages"]
    assert (tmp_path / "runs.sqlite").exists()


def test_a_new_durable_run_prints_its_id_and_run_id_needs_durable(tmp_path: Path) -> None:
    app = OpenAIChatEmulator(weather_script, api_key="sk-test")
    with serve_asgi(app) as url:
        env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "sk-test"}
        args = ["run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", "-i", "Weather in Paris?"]
        out = agentkit(*args, "--durable", "--database", str(tmp_path), env=env)
        assert out.returncode == 0, out.stderr
        assert "durable run: " in out.stderr
        assert "(resume with --run-id " in out.stderr
        assert (tmp_path / "durable.sqlite").exists()
        wrong = agentkit(*args, "--run-id", "x", env=env)
    assert wrong.returncode == 2
    assert "--run-id and --database only apply to --durable runs" in wrong.stderr
