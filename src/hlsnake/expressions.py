"""Small arithmetic expressions over a design's metrics, for reduce objectives and
branch predicates: ``accuracy - 0.5 * DSP / 100``, ``DSP > 100``, ``accuracy < 0.95``.

Parsed with :mod:`ast` and evaluated over an allow-list of nodes and names: a config
string never reaches ``eval``.
"""

from __future__ import annotations

import ast
import operator

METRICS = ("accuracy", "keras_accuracy", "DSP", "LUT", "FF", "BRAM_18K", "latency_cycles", "latency_ns", "interval")

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


class ExpressionError(ValueError):
    pass


def parse(text: str, key: str, boolean: bool) -> ast.Expression:
    """Parse and check ``text`` (the config ``key`` it came from names it in errors)."""
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"{key}: cannot parse {text!r}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in METRICS:
            raise ExpressionError(f"{key}: unknown name {node.id!r} in {text!r}; use {', '.join(METRICS)}")
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.Compare, ast.BoolOp, ast.And, ast.Or,
                   ast.Name, ast.Load, ast.Constant, *_BINARY, *_COMPARE)  # fmt: skip
        if not isinstance(node, allowed) or (isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))):
            raise ExpressionError(f"{key}: {text!r} may only use numbers, metric names, + - * / and < <= > >=, and/or")
    is_test = isinstance(tree.body, (ast.Compare, ast.BoolOp))
    if boolean != is_test:
        raise ExpressionError(f"{key}: {text!r} must be {'a comparison such as DSP > 100' if boolean else 'a number, not a comparison'}")
    return tree


def evaluate(text: str, values: dict, key: str = "expression"):
    return _eval(parse(text, key, boolean=_is_test(text)).body, values)


def _is_test(text: str) -> bool:
    return isinstance(ast.parse(str(text), mode="eval").body, (ast.Compare, ast.BoolOp))


def _eval(node, values):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return float(values[node.id])
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
