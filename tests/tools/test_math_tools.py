"""The ``math`` tool set: exact arithmetic through an AST whitelist, no eval."""

from __future__ import annotations

import math

import pytest
from agentkit_tools.math import safe_eval, toolset

from agentkit.exceptions import ToolError

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 * (3 + 4) ** 2", 98),
        ("7 // 2 + 7 % 2", 4),
        ("2 ^ 10", 1024),
        ("-3 + +5", 2),
        ("sqrt(16) + log10(1000)", 7.0),
        ("round(pi, 3)", 3.142),
        ("max(1, 5, 3) - min(4, 2)", 3),
        ("factorial(10)", 3628800),
        ("10 ** 300 // 10 ** 299", 10),
    ],
)
def test_evaluates(expression: str, value: float) -> None:
    assert safe_eval(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("__import__('os').system('true')", "not allowed"),
        ("().__class__", "not allowed"),
        ("x + 1", "unknown name 'x'"),
        ("open('/etc/passwd')", "not allowed"),
        ("[1, 2]", "not allowed"),
        ("'a' * 3", "not allowed"),
        ("1 / 0", "division by zero"),
        ("9 ** 9999", "digits"),
        ("2 ** 100000", "exponents"),
        ("factorial(5000)", "factorial"),
        ("sqrt(-1)", "cannot evaluate"),
        ("(-8) ** 0.5", "complex"),
        ("1 +", "cannot parse"),
        ("1" * 2000, "longer than"),
        ("-" * 60 + "1", "nested"),
    ],
)
def test_refuses(expression: str, problem: str) -> None:
    with pytest.raises(ToolError, match=problem):
        safe_eval(expression)


async def test_served_result_is_structured() -> None:
    ok = await toolset.call_tool("evaluate", {"expression": "tau / 2"})
    bad = await toolset.call_tool("evaluate", {"expression": "import os"})
    assert ok.structured_content == {"result": math.pi}
    assert bad.is_error
    assert "cannot parse" in bad.text
