"""A small, safe arithmetic language for derived values in rulebooks (e.g. 002 §(七) formulas).

``(building_area + tall_storey_area + structure_area) / land_area`` is parsed once with Python's
``ast`` and evaluated over Decimal inputs. Allowed: numbers, input names, + - * / **, unary minus,
comparisons (giving 1 or 0), and the functions min, max, abs, when(cond, a, b), cagr(v0, v1, years).
Nothing else parses, so rule data can never run code.

A formula is bureau data that scores every declaration, so the language also refuses, when the formula
is parsed (at check and publish), what could make scoring of an in-bounds declaration blow up rather than
answer: a formula longer than MAX_LENGTH or nested deeper than MAX_DEPTH (the parser, the compiler
and the closures recurse), ``**`` whose exponent is not a literal number within ±MAX_EXPONENT or whose
base itself holds a ``**`` (``10 ** x``, ``9 ** 9 ** 9``, ``(x ** 9) ** 9`` grow beyond any bound), a
literal that is not finite, a function called with the wrong number of arguments, and a part written
only of constants that cannot be computed (``1/0``, ``cagr(0.0000001, 1e300, 0.0001)``).

Why that bounds every value: without nested powers, a formula's value has at most MAX_EXPONENT × the
sum of its atoms' decimal exponents (literals below 1e309 and inputs within the catalogue's limits,
cagr below a float's 1.8e308), and MAX_LENGTH characters hold a few hundred atoms: far inside
Decimal's exponent range (±999,999). Evaluation still turns anything out of range (decimal Overflow,
a float OverflowError in cagr, an infinite result) into ``OutOfRangeError``, so scoring never fails
on anything but this module's own errors.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation
from functools import lru_cache

# Limits of the language itself (not rule values, which live in rules/): the longest formula in the
# shipped rulebooks is under 100 characters and nests 5 deep, so these leave room for the bureau while
# keeping the parse, the compile and each evaluation far from Python's recursion limit (1000).
MAX_LENGTH = 500
MAX_DEPTH = 32
# x ** 2, x ** 0.5, x ** -1 are what formulas need; with no power nested in a base, 10 keeps every value
# inside Decimal's range (see the module docstring).
MAX_EXPONENT = 10

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
    """The expression is not in the language, or cannot be evaluated on these inputs (``message_zh``: in Chinese)."""

    def __init__(self, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.message_en = message
        self.message_zh = message_zh or message

    def __reduce__(self) -> tuple[type[ExpressionError], tuple[str, str]]:
        # It may cross from an engine worker process: pickle it with both messages.
        return (type(self), (self.message_en, self.message_zh))


class DivisionByZeroError(ExpressionError):
    """A divisor is 0; ``divisor`` is its source text (an input name, or a sum of them)."""

    def __init__(self, divisor: str) -> None:
        super().__init__(f"{divisor} is 0 and divides", f"{divisor} 为 0，不能作除数")
        self.divisor = divisor

    def __reduce__(self) -> tuple[type[DivisionByZeroError], tuple[str]]:  # type: ignore[override]
        return (DivisionByZeroError, (self.divisor,))


class OutOfRangeError(ExpressionError):
    """A value the formula computes for these inputs is too large (or too small) to hold; ``source`` is the formula."""

    def __init__(self, source: str) -> None:
        super().__init__(
            f"{source}: the value is out of the range scoring can compute", f"{source}：计算结果超出可计算的数值范围"
        )
        self.source = source

    def __reduce__(self) -> tuple[type[OutOfRangeError], tuple[str]]:  # type: ignore[override]
        return (OutOfRangeError, (self.source,))


def _cagr(v0: Decimal, v1: Decimal, years: Decimal) -> Decimal:
    # D-BF3: compound annual growth rate between the base year and `years` later.
    if v0 <= 0 or v1 < 0:
        raise ExpressionError(
            "cagr needs a positive base-year value and a non-negative final value", "cagr 需要正的基期值和非负的末期值"
        )
    # A float's power overflows (OverflowError) or, from a ratio beyond a float, gives infinity: both are
    # "out of range", raised here as OverflowError so that evaluate names the formula.
    grown = float(v1 / v0) ** (1 / float(years))
    if not math.isfinite(grown):
        raise OverflowError("cagr is infinite")
    return Decimal(str(grown)) - ONE


_FUNCS: dict[str, Callable[..., Decimal]] = {
    "min": lambda *a: min(a),
    "max": lambda *a: max(a),
    "abs": lambda a: abs(a),
    "cagr": _cagr,
}
# How many arguments each function takes: (fewest, most); a wrong count would otherwise be a TypeError
# on every declaration.
_ARITY: dict[str, tuple[int, int]] = {"min": (1, 64), "max": (1, 64), "abs": (1, 1), "cagr": (3, 3), "when": (3, 3)}


Compiled = Callable[[Mapping[str, Decimal]], Decimal]


@dataclass(frozen=True)
class Expression:
    """A parsed expression, the input names it reads, and the same compiled into closures (``run``)."""

    source: str
    tree: ast.expr
    names: tuple[str, ...]
    run: Compiled

    def evaluate(self, values: Mapping[str, Decimal]) -> Decimal:
        """The value for ``values``; KeyError for a missing name, else only ExpressionError (and its kinds)."""
        try:
            return self.run(values)
        except (DivisionByZero, InvalidOperation, ZeroDivisionError) as exc:
            raise ExpressionError(
                f"{self.source}: {type(exc).__name__} (a divisor is 0?)", f"{self.source}：无法计算（除数为 0？）"
            ) from None
        except (ArithmeticError, RecursionError):
            # decimal Overflow (and Underflow, should a context trap it), a float's OverflowError in cagr.
            raise OutOfRangeError(self.source) from None


def _refuse(source: str, en: str, zh: str) -> ExpressionError:
    shown = source if len(source) <= 80 else source[:77] + "..."
    return ExpressionError(f"{shown!r}: {en}", f"公式 {shown!r}：{zh}")


def _bracket_depth(source: str) -> int:
    depth = deepest = 0
    for ch in source:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _depth(tree: ast.AST) -> int:
    """How deeply the tree nests, measured without recursion (a deep tree is what is being guarded against)."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # deeper than that is refused anyway: stop walking
            stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr))
    return deepest


def _literal(node: ast.expr) -> float | int | None:
    """The value of a literal number, or of a signed one (``-1``); None for anything else."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sign * node.value
    return None


@lru_cache(maxsize=1024)
def parse(source: str) -> Expression:
    """Parse ``source`` or raise ExpressionError naming what is not allowed (in English and Chinese)."""
    if len(source) > MAX_LENGTH:
        raise _refuse(
            source,
            f"is {len(source)} characters long; a formula may have at most {MAX_LENGTH}",
            f"长 {len(source)} 个字符，公式最多 {MAX_LENGTH} 个字符",
        )
    too_deep = (f"nests deeper than {MAX_DEPTH} levels", f"嵌套超过 {MAX_DEPTH} 层")
    if _bracket_depth(source) > MAX_DEPTH:  # before parsing: the parser itself recurses on brackets
        raise _refuse(source, *too_deep)
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise _refuse(source, f"is not an expression: {exc.msg}", f"不是合法的算式：{exc.msg}") from None
    except (RecursionError, MemoryError):  # the parser's own stack, on input within the length limit
        raise _refuse(source, *too_deep) from None
    if _depth(tree) > MAX_DEPTH:  # before anything that recurses over the tree (checks below, _compile)
        raise _refuse(source, *too_deep)
    names: list[str] = []
    callees = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        _check_node(source, node, callees, names)
    ordered = sorted(names, key=source.find)
    run = _compile(tree)
    _check_constants(source, tree, callees)
    return Expression(source, tree, tuple(ordered), run)


def _check_node(source: str, node: ast.AST, callees: set[int], names: list[str]) -> None:
    known = (*_FUNCS, "when")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in known or node.keywords:
            raise _refuse(source, "only min, max, abs, when, cagr may be called", "只能调用 min、max、abs、when、cagr")
        fewest, most = _ARITY[node.func.id]
        if not fewest <= len(node.args) <= most:
            en, zh = (f"{fewest}", f"{fewest}") if fewest == most else (f"{fewest} to {most}", f"{fewest} 至 {most}")
            raise _refuse(
                source,
                f"{node.func.id} takes {en} argument(s), not {len(node.args)}",
                f"{node.func.id} 需要 {zh} 个参数，不是 {len(node.args)} 个",
            )
    elif isinstance(node, ast.Name):
        if node.id in known:
            if id(node) not in callees:
                raise _refuse(source, f"{node.id} is a function, not a value", f"{node.id} 是函数，不是数值")
        elif node.id not in names:
            names.append(node.id)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _refuse(source, "only numbers may be written literally", "只能直接写数字")
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise _refuse(source, f"{ast.unparse(node)} is not a finite number", f"{ast.unparse(node)} 不是有限的数")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise _refuse(source, f"the operator {type(node.op).__name__} is not allowed", "只能使用 + - * / ** 运算")
        if isinstance(node.op, ast.Pow):
            _check_power(source, node)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise _refuse(source, f"{type(node.op).__name__} is not allowed", "只能使用正负号")
    elif isinstance(node, ast.Compare):
        if any(type(op) not in _CMPOPS for op in node.ops):
            raise _refuse(source, "only < <= > >= == != compare", "只能使用 < <= > >= == != 比较")
    elif not isinstance(node, ast.Load | ast.operator | ast.unaryop | ast.cmpop):
        raise _refuse(source, f"{type(node).__name__} is not allowed", f"不允许使用 {type(node).__name__}")


def _check_power(source: str, node: ast.BinOp) -> None:
    """``**`` only as base ** literal, |literal| ≤ MAX_EXPONENT, and no ``**`` inside the base: what grows
    a value beyond any bound is an exponent that is computed (``10 ** x``) or powers of powers."""
    exponent = _literal(node.right)
    if exponent is None or not -MAX_EXPONENT <= exponent <= MAX_EXPONENT:
        raise _refuse(
            source,
            f"the exponent of ** must be a number written in the formula, from -{MAX_EXPONENT} to {MAX_EXPONENT}",
            f"** 的指数必须是公式中直接写出的数字，范围 -{MAX_EXPONENT} 至 {MAX_EXPONENT}",
        )
    if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node.left)):
        raise _refuse(source, "a power may not be raised to a power again", "乘方的结果不能再乘方")


def _check_constants(source: str, tree: ast.expr, callees: set[int]) -> None:
    """Every part written only of numbers (``1/0``, ``cagr(1, 2, 0)``) is computed once here: one that cannot be
    would fail every declaration, so the formula is refused when it is checked."""
    pending: list[ast.expr] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Constant | ast.Name):
            continue
        if all(not isinstance(n, ast.Name) or id(n) in callees for n in ast.walk(node)):
            part = ast.get_source_segment(source, node) or ast.unparse(node)
            try:
                Expression(part, node, (), _compile(node)).evaluate({})
            except OutOfRangeError as exc:  # its message names the part
                raise _refuse(source, exc.message_en, exc.message_zh) from None
            except ExpressionError as exc:
                raise _refuse(
                    source, f"{part} cannot be computed: {exc.message_en}", f"{part} 无法计算：{exc.message_zh}"
                ) from None
            continue
        pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))


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
            cond, yes, no = args
            return lambda values: yes(values) if cond(values) != 0 else no(values)
        func = _FUNCS[node.func.id]
        return lambda values: func(*(a(values) for a in args))
    raise ExpressionError(f"cannot evaluate {ast.dump(node)}", f"无法计算 {ast.dump(node)}")
