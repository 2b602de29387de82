"""Arithmetic over form columns: formulas (计算列, ``col3 / col2 * 100``) and cross-column checks
(勾稽关系, ``col1 = col2 + col5 + col8``, ``col13 + col14 = col24 + col25``, ``col3 <= col2``).

A small recursive-descent parser: numbers, column references, ``+ - * /``, unary minus and
parentheses; a check chains two or more such sums with ``= == != <= >= < >`` (``a = b = c`` means
``a = b`` and ``b = c``). Nothing is ``eval``-ed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Node = tuple  # ("num", float) | ("ref", int) | ("neg", Node) | (op, Node, Node)
"""An expression tree: numbers, column references (by column number), negation and binary ops."""

COMPARISONS = ("==", "!=", "<=", ">=", "=", "<", ">")
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|=|<|>|[-+*/()]))")


def _tokens(text: str) -> list[str]:
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f'unexpected "{text[pos : pos + 10].strip()}" at position {pos + 1}')
        out.append(m.group(m.lastindex or 0))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, resolve: Callable[[str], int]) -> None:
        self.toks, self.i, self.resolve = _tokens(text), 0, resolve

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ValueError("the expression ends too early")
        self.i += 1
        return tok

    def sum(self) -> Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = (op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            node = (op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            node = self.sum()
            if self.peek() != ")":
                raise ValueError('missing ")"')
            self.take()
            return node
        if tok[0].isdigit():
            return ("num", float(tok))
        if tok[0].isalpha() or tok[0] == "_":
            return ("ref", self.resolve(tok))
        raise ValueError(f'unexpected "{tok}"')


def parse_formula(text: str, resolve: Callable[[str], int]) -> Node:
    """Parse an arithmetic expression over columns.

    text: e.g. ``"col3 / col2 * 100"``; resolve: maps a reference as written (``col3``, ``c3``, a
    column key) to a column number, raising ValueError for an unknown one. Returns the tree.
    Raises ValueError naming the position of a syntax error or a comparison where none belongs."""
    p = _Parser(text, resolve)
    node = p.sum()
    if p.peek() is not None:
        raise ValueError(f'unexpected "{p.peek()}" after the expression')
    return node


@dataclass(frozen=True)
class Chain:
    """A parsed check: ``terms[0] ops[0] terms[1] ops[1] terms[2] …``."""

    terms: tuple[Node, ...]
    ops: tuple[str, ...]


def parse_check(text: str, resolve: Callable[[str], int]) -> Chain:
    """Parse a cross-column check such as ``"col1 = col2 + col5 + col8"`` or ``"col3 <= col2"``.

    Returns a :class:`Chain` of two or more sums joined by comparisons (``=`` and ``==`` are the same).
    Raises ValueError for a syntax error, an unknown reference, or no comparison at all."""
    p = _Parser(text, resolve)
    terms, ops = [p.sum()], []
    while p.peek() in COMPARISONS:
        ops.append("=" if p.take() == "==" else p.toks[p.i - 1])
        terms.append(p.sum())
    if p.peek() is not None:
        raise ValueError(f'unexpected "{p.peek()}"')
    if not ops:
        raise ValueError("a check needs a comparison (=, <=, >=, <, >, !=)")
    return Chain(tuple(terms), tuple(ops))


def refs(node: Node) -> set[int]:
    """The column numbers an expression tree refers to."""
    if node[0] == "ref":
        return {node[1]}
    if node[0] == "num":
        return set()
    return set().union(*(refs(n) for n in node[1:]))


def chain_refs(chain: Chain) -> set[int]:
    """The column numbers a check refers to."""
    return set().union(*(refs(t) for t in chain.terms))


def evaluate(node: Node, values: Mapping[int, float | None]) -> float | None:
    """Value of an expression tree given each column's value (by number); None when a column it uses
    has no value (a manual column left blank) or on division by zero."""
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "ref":
        v = values.get(node[1])
        return None if v is None else float(v)
    if kind == "neg":
        x = evaluate(node[1], values)
        return None if x is None else -x
    a, b = evaluate(node[1], values), evaluate(node[2], values)
    if a is None or b is None:
        return None
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    if kind == "*":
        return a * b
    return None if b == 0 else a / b


def compare(op: str, a: float, b: float, tolerance: float = 0.0) -> bool:
    """``a op b`` where ``=``/``!=`` allow ``tolerance`` (absolute) and the inequalities allow it too."""
    if op == "=":
        return abs(a - b) <= tolerance
    if op == "!=":
        return abs(a - b) > tolerance
    if op == "<=":
        return a <= b + tolerance
    if op == ">=":
        return a + tolerance >= b
    if op == "<":
        return a < b + tolerance
    return a + tolerance > b


def check_chain(
    chain: Chain, values: Mapping[int, float | None], tolerance: float = 0.0
) -> tuple[bool | None, list[float | None]]:
    """Evaluate a check on one row: ``(True|False, term values)``, or ``(None, term values)`` when a
    term cannot be computed (a manual column without a value): the check is then not decided."""
    vals = [evaluate(t, values) for t in chain.terms]
    if any(v is None for v in vals):
        return None, vals
    ok = all(
        compare(op, vals[i], vals[i + 1], tolerance)  # type: ignore[arg-type]
        for i, op in enumerate(chain.ops)
    )
    return ok, vals
