"""Open Agent Specification: agent files to Agent Spec documents and back.

`Agent Spec <https://github.com/oracle/agent-spec>`_ describes agents and flows
independently of any framework (pyagentspec ships adapters that run them on
LangGraph, AutoGen, OpenAI Agents, Microsoft Agent Framework and WayFlow).
``to_agentspec`` writes an agent file as an Agent Spec ``Agent``;
``from_agentspec`` reads one back. Both validate with pyagentspec (the
optional extra ``agentkit-interop[agentspec]``) and return, beside the
document, a list of ``ConversionWarning``: everything one side can say and
the other cannot. Nothing is dropped silently.

Names load on first use, so ``import agentkit`` never imports pyagentspec.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False

_EXPORTS: dict[str, str] = {
    "ConversionWarning": "._common",
    "from_agentspec": "._import",
    "to_agentspec": "._export",
}

__all__ = ["ConversionWarning", "from_agentspec", "to_agentspec"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit.agentspec' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from typing import Any

    from ._common import ConversionWarning
    from ._export import to_agentspec
    from ._import import from_agentspec
