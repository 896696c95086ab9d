"""expr: the `checks` of a case - small expressions over captured values, evaluated safely.

Allowed: names (captures), integer and string literals, + - * // %, comparisons
(chained too), and / or / not, parentheses, len(x). Nothing else is evaluated.
"""
from __future__ import annotations

import ast
import operator

BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
           ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
ALLOWED = (ast.Expression, ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
           ast.Not, ast.USub, ast.BinOp, ast.Compare)


class ExprError(ValueError):
    """A check that is not a valid expression, or names a value that was not captured."""


def parse(text: str) -> ast.Expression:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ExprError(f"{text!r} is not an expression: {e.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ALLOWED) or type(node) in BINARY or type(node) in COMPARE:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
            continue
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "len" and len(node.args) == 1 and not node.keywords):
            continue
        raise ExprError(f"{text!r}: {type(node).__name__} is not allowed in a check")
    return tree


def names(text: str) -> set:
    return {n.id for n in ast.walk(parse(text)) if isinstance(n, ast.Name) and n.id != "len"}


def evaluate(text: str, values: dict):
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ExprError(f"{node.id!r} was not captured")
            return values[node.id]
        if isinstance(node, ast.Call):
            return len(ev(node.args[0]))
        if isinstance(node, ast.UnaryOp):
            return not ev(node.operand) if isinstance(node.op, ast.Not) else -ev(node.operand)
        if isinstance(node, ast.BinOp):
            return BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.BoolOp):
            results = (ev(v) for v in node.values)
            return all(results) if isinstance(node.op, ast.And) else any(results)
        left = ev(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = ev(right_node)
            if not COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    try:
        return ev(parse(text))
    except (TypeError, ZeroDivisionError) as e:
        raise ExprError(f"{text!r}: {e}") from None
