"""agentkit: write an agent once, run it on any model.

Names load on first use (PEP 562), so ``import agentkit`` costs almost
nothing and the CLI's ``--help`` answers at once; adapters, MCP and the local
model load only when a run asks for them.
"""

from __future__ import annotations

from importlib import import_module

# Not `from typing import TYPE_CHECKING`: importing typing alone costs more than
# the rest of this module, and type checkers treat this name the same way.
TYPE_CHECKING = False

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # messages
    "AudioPart": "._messages",
    "ContentBlock": "._messages",
    "ImagePart": "._messages",
    "Message": "._messages",
    "Part": "._messages",
    "ReasoningPart": "._messages",
    "ResourcePart": "._messages",
    "TextPart": "._messages",
    "ToolCallPart": "._messages",
    "ToolResultPart": "._messages",
    "Usage": "._messages",
    # the adapter contract and its events
    "Capabilities": "._model",
    "FinishReason": "._model",
    "ModelAdapter": "._model",
    "ModelRequest": "._model",
    "ModelResponse": "._model",
    "ModelSettings": "._model",
    "ReasoningDeltaEvent": "._model",
    "RefusalDeltaEvent": "._model",
    "ResponseEndEvent": "._model",
    "ResponseStartEvent": "._model",
    "RunWarning": "._model",
    "StreamEvent": "._model",
    "TextDeltaEvent": "._model",
    "ToolCallDeltaEvent": "._model",
    "ToolCallEndEvent": "._model",
    "ToolCallStartEvent": "._model",
    "ToolDefinition": "._model",
    "StreamAccumulator": "._stream",
    "parse_tool_arguments": "._stream",
    "response_events": "._stream",
    # tools and agents
    "FunctionToolset": "._tools",
    "Tool": "._tools",
    "Toolset": "._tools",
    "tool": "._tools",
    "Agent": "._agent",
    "load_agent": "._agentfile",
    # running
    "OutputEvent": "._result",
    "OutputRetryEvent": "._result",
    "RetryEvent": "._result",
    "RunEndEvent": "._result",
    "RunEvent": "._result",
    "RunResult": "._result",
    "RunStream": "._runner",
    "RunStartEvent": "._result",
    "ToolResultEvent": "._result",
    "TurnStartEvent": "._result",
    "WarningEvent": "._result",
    "fold_events": "._result",
    "CallRecord": "._result",
    "EscalationEvent": "._result",
    "CascadeSaving": "._cascade",
    # where the tokens go
    "CallLedger": "._ledger",
    "LedgerLine": "._ledger",
    "TokenLedger": "._ledger",
    "format_ledger": "._ledger",
    "token_ledger": "._ledger",
    "Advice": "._advice",
    "PromptCache": "._caching",
    "advice": "._advice",
    "RetryPolicy": "._policy",
    "run": "._run",
    "run_stream": "._run",
    "run_sync": "._run",
    "resolve_model": "._registry",
    "choose_model": "._registry",
}

__all__ = [
    "Advice",
    "Agent",
    "AudioPart",
    "CallLedger",
    "CallRecord",
    "Capabilities",
    "CascadeSaving",
    "ContentBlock",
    "EscalationEvent",
    "FinishReason",
    "FunctionToolset",
    "ImagePart",
    "LedgerLine",
    "Message",
    "ModelAdapter",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "OutputEvent",
    "OutputRetryEvent",
    "Part",
    "PromptCache",
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
    "RunStartEvent",
    "RunStream",
    "RunWarning",
    "StreamAccumulator",
    "StreamEvent",
    "TextDeltaEvent",
    "TextPart",
    "TokenLedger",
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
    "advice",
    "choose_model",
    "fold_events",
    "format_ledger",
    "load_agent",
    "parse_tool_arguments",
    "resolve_model",
    "response_events",
    "run",
    "run_stream",
    "run_sync",
    "token_ledger",
    "tool",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from typing import Any

    from ._advice import Advice, advice
    from ._agent import Agent
    from ._agentfile import load_agent
    from ._caching import PromptCache
    from ._cascade import CascadeSaving
    from ._ledger import CallLedger, LedgerLine, TokenLedger, format_ledger, token_ledger
    from ._messages import (
        AudioPart,
        ContentBlock,
        ImagePart,
        Message,
        Part,
        ReasoningPart,
        ResourcePart,
        TextPart,
        ToolCallPart,
        ToolResultPart,
        Usage,
    )
    from ._model import (
        Capabilities,
        FinishReason,
        ModelAdapter,
        ModelRequest,
        ModelResponse,
        ModelSettings,
        ReasoningDeltaEvent,
        RefusalDeltaEvent,
        ResponseEndEvent,
        ResponseStartEvent,
        RunWarning,
        StreamEvent,
        TextDeltaEvent,
        ToolCallDeltaEvent,
        ToolCallEndEvent,
        ToolCallStartEvent,
        ToolDefinition,
    )
    from ._policy import RetryPolicy
    from ._registry import choose_model, resolve_model
    from ._result import (
        CallRecord,
        EscalationEvent,
        OutputEvent,
        OutputRetryEvent,
        RetryEvent,
        RunEndEvent,
        RunEvent,
        RunResult,
        RunStartEvent,
        ToolResultEvent,
        TurnStartEvent,
        WarningEvent,
        fold_events,
    )
    from ._run import run, run_stream, run_sync
    from ._runner import RunStream
    from ._stream import StreamAccumulator, parse_tool_arguments, response_events
    from ._tools import FunctionToolset, Tool, Toolset, tool
