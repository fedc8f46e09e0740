"""The public API is curated: ``__all__`` is exactly the names users may rely on."""

from __future__ import annotations

import importlib
import types

import pytest

import agentkit

EXPECTED = {
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
    "Part",
    "ReasoningDeltaEvent",
    "ReasoningPart",
    "RefusalDeltaEvent",
    "ResourcePart",
    "ResponseEndEvent",
    "ResponseStartEvent",
    "RetryPolicy",
    "RunEndEvent",
    "RunEvent",
    "RunResult",
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


@pytest.mark.parametrize(
    "module",
    ["agentkit.exceptions", "agentkit.testing", "agentkit.agentspec"],
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
    for cls in (e.ModelCallError, e.MaxTurnsError, e.OutputValidationError, e.ToolRetriesError):
        assert issubclass(cls, e.RunError)
    for cls in (e.UserError, e.AdapterError, e.ToolError, e.RunError):
        assert issubclass(cls, e.AgentkitError)


def test_import_agentkit_loads_no_heavy_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agentkit; "
        "heavy = [m for m in ('pydantic', 'jsonschema', 'httpx2', 'mcp', 'yaml', 'genai_prices', "
        "'llama_cpp', 'pyagentspec') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
