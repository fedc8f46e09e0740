"""The public API is curated: ``__all__`` is exactly the names users may rely on."""

from __future__ import annotations

import importlib
import types
from typing import Any

import pytest

import agentkit

EXPECTED = {
    "Advice",
    "CallLedger",
    "CallRecord",
    "CascadeSaving",
    "EscalationEvent",
    "LedgerLine",
    "TokenLedger",
    "advice",
    "format_ledger",
    "token_ledger",
    "Agent",
    "AudioPart",
    "Capabilities",
    "ContentBlock",
    "FinishReason",
    "FunctionToolset",
    "ImagePart",
    "Message",
    "ModelAdapter",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "PromptCache",
    "OutputEvent",
    "OutputRetryEvent",
    "Part",
    "ReasoningDeltaEvent",
    "ReasoningPart",
    "RefusalDeltaEvent",
    "ResourcePart",
    "ResponseEndEvent",
    "ResponseStartEvent",
    "RetryEvent",
    "RetryPolicy",
    "RunEndEvent",
    "RunEvent",
    "RunResult",
    "RunStream",
    "RunStartEvent",
    "RunWarning",
    "StreamAccumulator",
    "StreamEvent",
    "TextDeltaEvent",
    "TextPart",
    "Tool",
    "ToolCallDeltaEvent",
    "ToolCallEndEvent",
    "ToolCallPart",
    "ToolCallStartEvent",
    "ToolDefinition",
    "ToolResultEvent",
    "ToolResultPart",
    "Toolset",
    "TurnStartEvent",
    "Usage",
    "WarningEvent",
    "__version__",
    "choose_model",
    "fold_events",
    "load_agent",
    "parse_tool_arguments",
    "resolve_model",
    "response_events",
    "run",
    "run_stream",
    "run_sync",
    "tool",
}


def test_all_is_exactly_the_public_names() -> None:
    assert set(agentkit.__all__) == EXPECTED
    assert len(agentkit.__all__) == len(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(agentkit, name) is not None


def test_dir_lists_only_public_names() -> None:
    assert set(dir(agentkit)) == EXPECTED


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = agentkit.Nope  # type: ignore[attr-defined]


#: ``agentkit.adapter``: what an adapter author may rely on (ours import nothing else).
ADAPTER_EXPECTED = {
    "TARGETS",
    "Capabilities",
    "ChangeKind",
    "CompiledSchema",
    "FinishReason",
    "ModelAdapter",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "NDJSONDecoder",
    "PromptCache",
    "ReasoningDeltaEvent",
    "RefusalDeltaEvent",
    "ResponseEndEvent",
    "ResponseStartEvent",
    "RunWarning",
    "SSEDecoder",
    "SSEEvent",
    "SchemaChange",
    "SchemaCompileError",
    "StreamAccumulator",
    "StreamEvent",
    "Target",
    "TextDeltaEvent",
    "ToolCallDeltaEvent",
    "ToolCallEndEvent",
    "ToolCallStartEvent",
    "ToolDefinition",
    "changes_to_warnings",
    "compile_for_openai",
    "compile_schema",
    "compile_schema_cached",
    "is_strict_compatible",
    "map_error_body",
    "map_http_error",
    "scrub",
    "scrub_error",
    "scrub_value",
    "parse_retry_after",
    "parse_tool_arguments",
    "prefix_key",
    "prompt_cache_of",
    "reasoning_left_out",
    "resource_text",
    "response_events",
    "setting_not_sent",
    "strip_added_nulls",
    "tool_result_text",
    "unchecked",
    "unsupported_content",
}


def test_adapter_module_all_is_exactly_the_adapter_authors_names() -> None:
    import agentkit.adapter

    assert set(agentkit.adapter.__all__) == ADAPTER_EXPECTED
    assert len(agentkit.adapter.__all__) == len(ADAPTER_EXPECTED)
    for name in ADAPTER_EXPECTED:
        assert getattr(agentkit.adapter, name) is not None, name


@pytest.mark.parametrize(
    "module",
    [
        "agentkit.exceptions",
        "agentkit.testing",
        "agentkit.agentspec",
        "agentkit.tracing",
        "agentkit.durable",
    ],
)
def test_submodule_all_names_exist_and_are_public(module: str) -> None:
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert not name.startswith("_")
        assert hasattr(mod, name), name
    # Every class and function defined in the module itself is either listed or private.
    defined = {
        n
        for n, v in vars(mod).items()
        if isinstance(v, type | types.FunctionType)
        and getattr(v, "__module__", "").startswith(module)
        and not n.startswith("_")
    }
    assert defined <= set(mod.__all__)


def test_agentspec_all_is_exactly_its_public_names() -> None:
    import agentkit.agentspec

    assert agentkit.agentspec.__all__ == ["ConversionWarning", "from_agentspec", "to_agentspec"]
    assert set(dir(agentkit.agentspec)) == set(agentkit.agentspec.__all__)


def test_tracing_all_is_exactly_its_public_names() -> None:
    import agentkit.tracing

    assert agentkit.tracing.__all__ == [
        "extract_trace_context",
        "inject_trace_context",
        "instrument",
        "setup_tracing",
        "uninstrument",
    ]


def test_exception_tree() -> None:
    from agentkit import exceptions as e

    assert issubclass(e.SpecValidationError, e.UserError)
    for cls in (
        e.AuthenticationError,
        e.RateLimitError,
        e.ModelNotFoundError,
        e.BadRequestError,
        e.ContextLengthError,
        e.ContentFilterError,
        e.ServerError,
    ):
        assert issubclass(cls, e.ProviderHTTPError)
    for cls in (e.ProviderHTTPError, e.UnsupportedFeatureError, e.UnexpectedResponseError):
        assert issubclass(cls, e.AdapterError)
    for cls in (
        e.ModelCallError,
        e.MaxTurnsError,
        e.OutputValidationError,
        e.ToolRetriesError,
        e.BudgetExceededError,
        e.TruncatedError,
        e.ToolNotRepeatableError,
    ):
        assert issubclass(cls, e.RunError)
    assert issubclass(e.UnsupportedSchemaError, e.ModelCallError)
    for cls in (e.UserError, e.AdapterError, e.ToolError, e.RunError):
        assert issubclass(cls, e.AgentkitError)


def test_the_exception_tree_doc_names_every_exception() -> None:
    from agentkit import exceptions as e

    tree = (e.__doc__ or "").split("```")[1]
    drawn = {line.split("── ")[-1].split()[0] for line in tree.splitlines() if "── " in line}
    assert drawn | {"AgentkitError"} == set(e.__all__)


def test_import_agentkit_loads_no_heavy_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agentkit; "
        "heavy = [m for m in ('pydantic', 'jsonschema', 'httpx2', 'mcp', 'yaml', 'genai_prices', "
        "'llama_cpp', 'pyagentspec', 'opentelemetry', 'dbos', 'sqlalchemy') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_names_of_a_script_load_nothing_optional_and_build_no_model() -> None:
    # `from agentkit import Agent, run, tool` is what every script pays before
    # it does anything: no adapter, HTTP client, MCP, tracing, durability or
    # schema validator loads, and no pydantic model is built yet (each builds
    # on first use: `defer_build`), which also keeps pydantic's plugin loader
    # (importlib.metadata) off the import.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from agentkit import Agent, run, tool\n"
        "from pydantic import BaseModel\n"
        "heavy = [m for m in ('httpx2', 'httpcore2', 'jsonschema', 'mcp', 'yaml', 'genai_prices',\n"
        "    'llama_cpp', 'opentelemetry', 'dbos', 'sqlalchemy', 'agentkit_adapters',\n"
        "    'agentkit.adapter', 'agentkit._compaction', 'agentkit._agentfile',\n"
        "    'agentkit._tracing', 'agentkit._schema', 'importlib.metadata', 'logging', 'hashlib')\n"
        "    if m in sys.modules]\n"
        "def models(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from models(sub)\n"
        "built = sorted({m.__name__ for m in models(BaseModel)\n"
        "    if m.__module__.startswith('agentkit') and m.__pydantic_complete__})\n"
        "print(heavy, built)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"


def test_an_entry_point_group_is_read_as_entry_points_reads_it() -> None:
    # The registry parses only the distributions whose entry_points.txt names the
    # group; what it finds must be what importlib.metadata.entry_points finds.
    from importlib.metadata import entry_points

    from agentkit._registry import _entry_points

    for group in ("agentkit.adapters", "agentkit.tools", "pytest11", "console_scripts", "none.x"):
        expected = {ep.name: ep for ep in entry_points(group=group)}
        found = _entry_points.__wrapped__(group)
        assert list(found.items()) == list(expected.items()), group
    math = _entry_points.__wrapped__("agentkit.tools")["math"]
    assert math.value == "agentkit_tools.math:toolset"


def test_looking_up_an_entry_point_group_parses_only_the_files_that_declare_it() -> None:
    # `agentkit serve math` and a run's `openai:...` look one group up before
    # anything else: parsing every installed distribution's entry points
    # (entry_points()) cost about 6M instructions more than parsing the few
    # that declare the group.
    import subprocess
    import sys

    code = (
        "import importlib.metadata as m\n"
        "parsed = []\n"
        "prop = m.Distribution.entry_points\n"
        "def counted(self):\n"
        "    parsed.append(self._normalized_name)\n"
        "    return prop.fget(self)\n"
        "m.Distribution.entry_points = property(counted)\n"
        "from agentkit._registry import _entry_points\n"
        "assert 'math' in _entry_points('agentkit.tools')\n"
        "m.Distribution.entry_points = prop\n"
        "declaring = {d._normalized_name for d in m.distributions()\n"
        "    if any(ep.group == 'agentkit.tools' for ep in d.entry_points)}\n"
        "print(sorted(parsed) == sorted(declaring), len(parsed), len(list(m.distributions())))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    same, parsed, installed = out.stdout.split()
    assert same == "True"
    assert int(parsed) < int(installed)


def _subcommands(parser: Any) -> dict[str, Any]:
    import argparse

    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


_COMMAND_LINES = {
    "run": ["run", "a.yaml", "-m", "openai:x", "--no-stream", "--json"],
    "tokens": ["tokens", "a.yaml", "-m", "openai:x", "-m", "gemini:y"],
    "batch": ["batch", "a.yaml", "--help"],
    "worker": ["worker", "--help"],
    "validate": ["validate", "a.yaml"],
    "serve": ["--debug", "serve", "math", "-t", "http", "--allow-host", "h", "-p", "0"],
    "schema": ["schema", "message"],
    "export": ["export", "--help"],
    "import": ["import", "--help"],
    "conformance": ["conformance", "--help"],
}


@pytest.mark.parametrize("command", sorted(_COMMAND_LINES))
def test_a_command_line_parses_alike_with_only_its_subcommand_built(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `agentkit serve` answers sooner when the other subcommands' options are
    # not built; the one that runs must help, parse and fail exactly as before.
    from agentkit import _cli

    full = _cli._parser(full=command == "conformance")
    only = _cli._parser(full=command == "conformance", only=command)
    assert list(_subcommands(only)) == [command]
    assert _subcommands(only)[command].format_help() == _subcommands(full)[command].format_help()
    outcomes = []
    for parser in (full, only):
        try:
            outcomes.append(vars(parser.parse_args(_COMMAND_LINES[command])))
        except SystemExit as exc:
            outcomes.append({"exit": exc.code, "out": capsys.readouterr()})
    assert outcomes[0] == outcomes[1]


def test_a_word_that_is_no_subcommand_gets_the_whole_parser() -> None:
    from agentkit import _cli

    assert list(_subcommands(_cli._parser(only="srve"))) == list(_subcommands(_cli._parser()))
    assert len(_subcommands(_cli._parser())) == len(_COMMAND_LINES)


def test_serve_loads_neither_other_subcommands_nor_tools_before_it_resolves() -> None:
    # `agentkit serve` builds only its own options, so the modules of the other
    # subcommands' options stay unloaded; and the serving module itself loads no
    # pydantic, so the tool sets load inside resolve_targets (with the cyclic
    # collector held off there).
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from agentkit._cli import _parser\n"
        "_parser(only='serve').parse_args(['serve', 'math'])\n"
        "import agentkit.mcp._serve\n"
        "print([m for m in ('agentkit._tokens_command', 'agentkit._batch_command',\n"
        "    'agentkit.agentspec._command', 'agentkit._tools', 'agentkit.mcp._agent_tool',\n"
        "    'pydantic') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_names_of_a_script_load_no_pydantic_until_an_agent_runs() -> None:
    # `from agentkit import Agent, run, tool` loads neither pydantic nor the
    # message and event models nor the runner: they load when a tool is built
    # and a run starts, and then everything works as if loaded up front.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from agentkit import Agent, run, run_stream, run_sync, tool\n"
        "print([m for m in ('pydantic', 'pydantic_core', 'anyio', 'agentkit._model',\n"
        "    'agentkit._messages', 'agentkit._runner', 'agentkit._result', 'agentkit._threads')\n"
        "    if m in sys.modules])\n"
        "import anyio\n"
        "from agentkit import Message, ModelSettings, ToolCallPart\n"
        "from agentkit.testing import FunctionAdapter\n"
        "@tool\n"
        "def get_weather(city: str) -> str:\n"
        "    '''The weather.\n\n    Args:\n        city: The city.\n    '''\n"
        "    return city + ': sunny'\n"
        "def model(request):\n"
        "    results = [p for m in request.messages for p in m.parts if p.type == 'tool_result']\n"
        "    if results:\n"
        "        return 'It is ' + results[0].content[0].text\n"
        "    return [ToolCallPart(id='c1', name='get_weather', arguments={'city': 'Paris'})]\n"
        "agent = Agent(name='weather', tools=[get_weather])\n"
        "assert agent.settings == ModelSettings(), agent.settings\n"
        "print(get_weather.definition.input_schema['properties'])\n"
        "print(run_sync(agent, 'Weather?', model=FunctionAdapter(model)).output)\n"
        "print(anyio.run(lambda: run(agent, 'Weather?', model=FunctionAdapter(model))).turns)\n"
        "async def streamed():\n"
        "    events = run_stream(agent, 'Weather?', model=FunctionAdapter(model))\n"
        "    return [e.type async for e in events]\n"
        "print(anyio.run(streamed)[-1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "[]",
        "{'city': {'description': 'The city.', 'type': 'string'}}",
        "It is Paris: sunny",
        "2",
        "run_end",
    ]


@pytest.mark.parametrize("name", ["run", "run_stream", "run_sync"])
def test_the_public_run_functions_are_the_runners_own(name: str) -> None:
    # agentkit.run and friends are light stand-ins that hand each call to the
    # runner (so importing them loads no runner): their signatures and help
    # must stay the runner's, and the name must stay one object.
    import inspect

    from agentkit import _run, _runner

    public, body = getattr(_run, name), getattr(_runner, name)
    assert getattr(agentkit, name) is public
    assert getattr(agentkit, name) is getattr(agentkit, name)
    assert inspect.signature(public) == inspect.signature(body)
    # The documentation is the public function's; the runner's body points to it.
    assert public.__doc__ is not None
    assert "``agent``" in public.__doc__
    assert body.__doc__ is not None
    assert "_run" in body.__doc__
    assert inspect.iscoroutinefunction(public) == inspect.iscoroutinefunction(body)
