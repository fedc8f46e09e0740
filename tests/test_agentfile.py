"""``agent.yaml``: loaded, validated with JSON paths in errors, tools imported."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agentkit import Agent, load_agent
from agentkit._registry import choose_model
from agentkit.exceptions import SpecValidationError, UserError

EXAMPLE = Path(__file__).parent.parent / "examples" / "weather" / "agent.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_example_loads() -> None:
    agent = load_agent(EXAMPLE)
    assert isinstance(agent, Agent)
    assert agent.name == "weather"
    assert agent.max_turns == 4
    assert agent.settings.temperature == 0
    assert agent.default_model is None
    [toolset] = agent.toolsets
    assert list(toolset.tools) == ["get_weather"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        ("tools: [get]\n", "$", "'name' is a required property"),
        ("name: a\ntools: [5]\n", "$.tools[0]", "5 is not of type 'string'"),
        ("name: a\nmax_turns: 0\n", "$.max_turns", "0 is less than the minimum of 1"),
        ("name: a\nsettings: {temprature: 1}\n", "$.settings", "'temprature' was unexpected"),
        ("name: a\nmodel: gpt-4\n", "$.model", "does not match"),
        ("- just\n- a list\n", "$", "is not of type 'object'"),
    ],
)
def test_bad_files_name_file_path_and_problem(
    tmp_path: Path, text: str, path: str, reason: str
) -> None:
    file = write(tmp_path, text)
    with pytest.raises(SpecValidationError) as info:
        load_agent(file)
    err = info.value
    assert err.source == str(file)
    assert err.path == path
    assert reason in err.reason
    assert str(err).startswith(f"{file}: at {path}: ")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    file = write(tmp_path, "name: [unclosed\n")
    with pytest.raises(SpecValidationError, match="not valid YAML"):
        load_agent(file)


def test_missing_file_and_bad_tool_references(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read agent file"):
        load_agent(tmp_path / "nope.yaml")
    with pytest.raises(UserError, match="cannot import 'no_such_module'"):
        load_agent(write(tmp_path, "name: a\ntools: ['no_such_module:f']\n"))
    with pytest.raises(UserError, match="has no 'missing'"):
        load_agent(write(tmp_path, "name: a\ntools: ['json:missing']\n"))
    with pytest.raises(UserError, match="neither module:object nor an installed"):
        load_agent(write(tmp_path, "name: a\ntools: [not_an_entry_point]\n"))


def test_tools_next_to_the_file_and_output_schema(tmp_path: Path) -> None:
    (tmp_path / "my_tools_for_test.py").write_text(
        "def shout(text: str) -> str:\n    '''Shout.'''\n    return text.upper()\n",
        encoding="utf-8",
    )
    file = write(
        tmp_path,
        """
        name: shouter
        model: openai:gpt-4.1-mini
        tools: ['my_tools_for_test:shout']
        output_schema:
          type: object
          properties: {said: {type: string}}
          required: [said]
        """,
    )
    agent = load_agent(file)
    assert agent.default_model == "openai:gpt-4.1-mini"
    assert agent.output_json_schema == {
        "type": "object",
        "properties": {"said": {"type": "string"}},
        "required": ["said"],
    }


def test_model_choice_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing set: the offline local model, saying why.
    choice = choose_model(None, None)
    assert (choice.model, choice.reason) == (
        "llamacpp:smollm2-135m",
        "no provider key is set: the offline local model",
    )
    assert choose_model("gemini:x", "openai:y").reason == "given with --model"
    monkeypatch.setenv("AGENTKIT_MODEL", "ollama:llama3.2")
    choice = choose_model(None, "openai:y")
    assert (choice.model, choice.reason) == ("ollama:llama3.2", "from AGENTKIT_MODEL")
    monkeypatch.delenv("AGENTKIT_MODEL")
    assert choose_model(None, "openai:y").model == "openai:y"
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    choice = choose_model(None, None)
    assert (choice.model, choice.reason) == ("gemini:gemini-2.5-flash", "GEMINI_API_KEY is set")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    assert choose_model(None, None).model == "openai:gpt-4.1-mini"


PROFILED = """
name: p
model: ollama:llama3.2
settings: {temperature: 0.7, max_tokens: 100}
profiles:
  dev:
    model: ollama:llama3.2
  prod:
    models: [openai:gpt-4.1-mini, gemini:gemini-2.5-flash]
    settings: {temperature: 0}
    max_cost_usd: 0.5
    max_turns: 3
"""


def test_profiles_override_model_settings_and_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write(tmp_path, PROFILED)
    base = load_agent(file)
    assert base.default_model == "ollama:llama3.2"
    assert base.max_cost_usd is None
    prod = load_agent(file, profile="prod")
    assert prod.default_model == "openai:gpt-4.1-mini,gemini:gemini-2.5-flash"
    assert prod.settings.temperature == 0
    assert prod.settings.max_tokens == 100  # merged, not replaced
    assert (prod.max_cost_usd, prod.max_turns) == (0.5, 3)
    monkeypatch.setenv("AGENTKIT_PROFILE", "dev")
    assert load_agent(file).default_model == "ollama:llama3.2"
    with pytest.raises(UserError, match="no profile 'staging' \\(profiles: dev, prod\\)"):
        load_agent(file, profile="staging")


def test_model_chain_in_model_key(tmp_path: Path) -> None:
    agent = load_agent(write(tmp_path, "name: a\nmodel: 'ollama:x, openai:y'\n"))
    assert agent.default_model == "ollama:x, openai:y"


def test_an_agent_file_that_is_not_utf8_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_bytes(b"name: caf\xe9\ninstructions: hi\n")  # Latin-1, not UTF-8
    with pytest.raises(UserError) as info:
        load_agent(path)
    assert type(info.value) is UserError
    assert str(info.value) == (
        f"agent file {path} is not UTF-8 text: byte 0xe9 at offset 9 cannot be decoded; "
        "save it as UTF-8"
    )
    # A UTF-8 byte-order mark is not an error.
    path.write_bytes("\ufeffname: cafe\n".encode())
    assert load_agent(path).name == "cafe"


def test_a_tool_module_that_fails_to_import_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On sys.path already, so that load_agent adds nothing that outlives the test.
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "agentkit_test_syntax_tools.py").write_text("def f(:\n", encoding="utf-8")
    (tmp_path / "agentkit_test_raising_tools.py").write_text(
        "raise RuntimeError('needs a config file')\n", encoding="utf-8"
    )
    for module, expected in [
        ("agentkit_test_syntax_tools", "SyntaxError: "),
        ("agentkit_test_raising_tools", "RuntimeError: needs a config file"),
    ]:
        path = write(tmp_path, f"name: x\ntools: ['{module}:f']\n")
        with pytest.raises(UserError) as info:
            load_agent(path)
        message = str(info.value)
        assert message.startswith(f"{path}: importing {module!r} for tool '{module}:f' failed: ")
        assert expected in message
