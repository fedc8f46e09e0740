"""``math``: evaluate arithmetic safely, without ``eval``.

The expression is parsed with ``ast`` and walked against a whitelist of
number literals, operators, constants and functions. Anything else (names,
attributes, comprehensions, calls to anything unlisted) is refused, and
exponents, factorials and result sizes are bounded so one expression cannot
tie up the server.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from agentkit import tool
from agentkit.exceptions import ToolError

from ._base import NamedToolset

__all__ = ["evaluate", "safe_eval", "toolset"]

MAX_LENGTH = 1000
MAX_EXPONENT = 10_000
MAX_DIGITS = 4300  # CPython's own int/str conversion limit
MAX_DEPTH = 50

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}


def _factorial(n: Any) -> int:
    if not isinstance(n, int) or n < 0 or n > 1000:
        raise ToolError("factorial takes a whole number from 0 to 1000")
    return math.factorial(n)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "hypot": math.hypot,
    "degrees": math.degrees,
    "radians": math.radians,
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": _factorial,
}


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_DIGITS * 3.33:
        raise ToolError(f"the result has more than {MAX_DIGITS} digits")
    return value


def _walk(node: ast.AST, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ToolError("the expression is nested too deeply")
    match node:
        case ast.Expression(body=body):
            return _walk(body, depth + 1)
        case ast.Constant(value=value) if isinstance(value, int | float) and not isinstance(
            value, bool
        ):
            return value
        case ast.Name(id=name) if name in _CONSTANTS:
            return _CONSTANTS[name]
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _UNARY[type(op)](_walk(operand, depth + 1))
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            a, b = _walk(left, depth + 1), _walk(right, depth + 1)
            if isinstance(op, ast.Pow) and isinstance(b, int | float) and abs(b) > MAX_EXPONENT:
                raise ToolError(f"exponents are limited to ±{MAX_EXPONENT}")
            if (
                isinstance(op, ast.Pow)
                and isinstance(a, int)
                and isinstance(b, int)
                and a not in (0, 1, -1)
                and b > 0
                and b * math.log10(abs(a)) > MAX_DIGITS
            ):
                # Estimated before computing, so 9**10**6 is refused at once.
                raise ToolError(f"the result would have more than {MAX_DIGITS} digits")
            return _check_size(_BINARY[type(op)](a, b))
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCTIONS:
            values = [_walk(arg, depth + 1) for arg in args]
            return _check_size(_FUNCTIONS[name](*values))
        case ast.Name(id=name):
            raise ToolError(
                f"unknown name {name!r}; constants: {', '.join(_CONSTANTS)}; "
                f"functions: {', '.join(_FUNCTIONS)}"
            )
        case _:
            raise ToolError(f"{type(node).__name__} is not allowed in an expression")


def safe_eval(expression: str) -> int | float:
    """Evaluate an arithmetic expression without ``eval``.

    Raises:
        ToolError: the expression is malformed, not allowed, or fails (e.g.
            division by zero), with a message saying which.
    """
    text = expression.strip().replace("^", "**")
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ToolError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"cannot parse {expression!r}: {exc.msg}") from None
    try:
        value = _walk(tree)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (ValueError, OverflowError, TypeError) as exc:
        raise ToolError(f"cannot evaluate {expression!r}: {exc}") from None
    if isinstance(value, complex):  # e.g. (-8) ** 0.5
        raise ToolError("the result is a complex number; only real results are supported")
    if isinstance(value, float) and math.isnan(value):
        raise ToolError("the result is not a number")
    return value  # type: ignore[no-any-return]


@tool(annotations={"readOnlyHint": True, "openWorldHint": False}, title="Calculator")
def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression exactly, e.g. "2 * (3 + 4) ** 2" or "sqrt(2) / 2".

    Args:
        expression: Numbers, + - * / // % ** (or ^), parentheses, the constants pi, e,
            tau, and functions like sqrt, log, sin, round, min, max, factorial.
    """
    return safe_eval(expression)


#: The ``math`` tool set (entry point ``math``).
toolset = NamedToolset("math", [evaluate])
