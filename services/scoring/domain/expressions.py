"""A small, safe arithmetic language for derived values in rulebooks (e.g. 002 §(七) formulas).

``(building_area + tall_storey_area + structure_area) / land_area`` is parsed once with Python's
``ast`` and evaluated over Decimal inputs. Allowed: numbers, input names, + - * / **, unary minus,
comparisons (giving 1 or 0), and the functions min, max, abs, when(cond, a, b), cagr(v0, v1, years).
Nothing else parses, so rule data can never run code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation
from functools import lru_cache

_BINOPS: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Decimal, Decimal], bool]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}
ONE, ZERO = Decimal(1), Decimal(0)


class ExpressionError(ValueError):
    """The expression is not in the language, or cannot be evaluated on these inputs."""


class DivisionByZeroError(ExpressionError):
    """A divisor is 0; ``divisor`` is its source text (an input name, or a sum of them)."""

    def __init__(self, divisor: str) -> None:
        super().__init__(f"{divisor} is 0 and divides")
        self.divisor = divisor


def _cagr(v0: Decimal, v1: Decimal, years: Decimal) -> Decimal:
    # D-BF3: compound annual growth rate between the base year and `years` later.
    if v0 <= 0 or v1 < 0:
        raise ExpressionError("cagr needs a positive base-year value and a non-negative final value")
    return Decimal(str(float(v1 / v0) ** (1 / float(years)))) - ONE


_FUNCS: dict[str, Callable[..., Decimal]] = {
    "min": lambda *a: min(a),
    "max": lambda *a: max(a),
    "abs": lambda a: abs(a),
    "cagr": _cagr,
}


Compiled = Callable[[Mapping[str, Decimal]], Decimal]


@dataclass(frozen=True)
class Expression:
    """A parsed expression, the input names it reads, and the same compiled into closures (``run``)."""

    source: str
    tree: ast.expr
    names: tuple[str, ...]
    run: Compiled

    def evaluate(self, values: Mapping[str, Decimal]) -> Decimal:
        try:
            return self.run(values)
        except (DivisionByZero, InvalidOperation, ZeroDivisionError) as exc:
            raise ExpressionError(f"{self.source}: {type(exc).__name__} (a divisor is 0?)") from None


@lru_cache(maxsize=1024)
def parse(source: str) -> Expression:
    """Parse ``source`` or raise ExpressionError naming what is not allowed."""
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"{source!r} is not an expression: {exc.msg}") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in (*_FUNCS, "when") or node.keywords:
                raise ExpressionError(f"{source!r}: only min, max, abs, when, cagr may be called")
        elif isinstance(node, ast.Name):
            if node.id not in (*_FUNCS, "when") and node.id not in names:
                names.append(node.id)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise ExpressionError(f"{source!r}: only numbers may be written literally")
        elif not isinstance(
            node, ast.BinOp | ast.UnaryOp | ast.Compare | ast.Load | ast.USub | ast.UAdd | ast.operator | ast.cmpop
        ):
            raise ExpressionError(f"{source!r}: {type(node).__name__} is not allowed")
    ordered = sorted(names, key=source.find)
    return Expression(source, tree, tuple(ordered), _compile(tree))


def _compile(node: ast.expr) -> Compiled:
    """The expression as nested closures, read off the tree once: evaluating then walks no tree, tests no node
    types and parses no constants (an evaluation computes dozens of derived values). Operands are evaluated in
    the same order as the tree reads, and a divisor of 0 is named the same way."""
    if isinstance(node, ast.Constant):
        constant = Decimal(str(node.value))
        return lambda values: constant
    if isinstance(node, ast.Name):
        name = node.id
        return lambda values: values[name]
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda values: -operand(values)
        return operand
    if isinstance(node, ast.BinOp):
        left, right, op = _compile(node.left), _compile(node.right), _BINOPS[type(node.op)]
        if isinstance(node.op, ast.Div):
            divisor = ast.unparse(node.right)

            def divide(values: Mapping[str, Decimal]) -> Decimal:
                a, b = left(values), right(values)
                if b == 0:
                    raise DivisionByZeroError(divisor)
                return a / b

            return divide
        return lambda values: op(left(values), right(values))
    if isinstance(node, ast.Compare):
        first = _compile(node.left)
        chain = [(_CMPOPS[type(op)], _compile(c)) for op, c in zip(node.ops, node.comparators, strict=True)]

        def compare(values: Mapping[str, Decimal]) -> Decimal:
            left = first(values)
            for holds, comparator in chain:
                right = comparator(values)
                if not holds(left, right):
                    return ZERO
                left = right
            return ONE

        return compare
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_compile(a) for a in node.args]
        if node.func.id == "when":
            if len(args) != 3:
                raise ExpressionError(f"when takes 3 arguments (condition, then, else), not {len(args)}")
            cond, yes, no = args
            return lambda values: yes(values) if cond(values) != 0 else no(values)
        func = _FUNCS[node.func.id]
        return lambda values: func(*(a(values) for a in args))
    raise ExpressionError(f"cannot evaluate {ast.dump(node)}")
