"""Small arithmetic expressions over a design's metrics, for reduce objectives and
branch predicates: ``accuracy - 0.5 * DSP / 100``, ``DSP > 100``, ``accuracy < 0.95``.

Parsed with :mod:`ast` and evaluated over an allow-list of nodes and names: a config
string never reaches ``eval``. Arithmetic is total: x / 0 is +-inf (0 / 0 is NaN) and a
metric the backend did not report is NaN, so an objective is a number for every design.
"""

from __future__ import annotations

import ast
import math
import operator

from .vocabulary import EXPRESSION_NAMES as METRICS


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _divide}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.Compare, ast.BoolOp, ast.And, ast.Or,
            ast.Name, ast.Load, ast.Constant, *_BINARY, *_COMPARE)  # fmt: skip


class ExpressionError(ValueError):
    pass


def _is_test(node) -> bool:
    """A comparison, or and/or of tests (never of bare numbers)."""
    if isinstance(node, ast.BoolOp):
        return all(_is_test(v) for v in node.values)
    return isinstance(node, ast.Compare)


def parse(text: str, key: str, boolean: bool) -> ast.Expression:
    """Parse and check ``text`` (the config ``key`` it came from names it in errors)."""
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"{key}: cannot parse {text!r}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in METRICS:
            raise ExpressionError(f"{key}: unknown name {node.id!r} in {text!r}; use {', '.join(METRICS)}")
        if not isinstance(node, _ALLOWED) or (isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))):
            raise ExpressionError(f"{key}: {text!r} may only use numbers, metric names, + - * / and < <= > >=, and/or")
    if isinstance(tree.body, ast.BoolOp) and not _is_test(tree.body):
        raise ExpressionError(f"{key}: {text!r}: 'and'/'or' join comparisons, such as DSP > 100 and LUT < 5000")
    if boolean != _is_test(tree.body):
        raise ExpressionError(f"{key}: {text!r} must be {'a comparison such as DSP > 100' if boolean else 'a number, not a comparison'}")
    return tree


def predicate(text: str, values: dict, key: str = "predicate") -> bool:
    """A branch predicate on a design's metrics (NaN compares false)."""
    return bool(_eval(parse(text, key, boolean=True).body, values))


def objective(text: str, values: dict, key: str = "objective") -> float:
    """A reduce objective on a design's metrics; an undefined (NaN) value ranks last (-inf)."""
    value = float(_eval(parse(text, key, boolean=False).body, values))
    return -math.inf if math.isnan(value) else value


def _eval(node, values):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        return math.nan if value is None else float(value)
    if isinstance(node, ast.UnaryOp):
        return -_eval(node.operand, values)
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.BoolOp):
        results = [_eval(v, values) for v in node.values]
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ExpressionError(f"unsupported expression node {type(node).__name__}")  # pragma: no cover
