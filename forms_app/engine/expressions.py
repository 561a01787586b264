"""A tiny, safe arithmetic language for computed items (no eval, no attribute access).

Grammar::

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | power
    power      := primary ("^" unary)?
    primary    := number | name | "{" linkId "}" | function "(" expression ("," expression)* ")"
                | "(" expression ")"
    function   := round | min | max | abs

``name`` is a linkId made of letters, digits and underscores; any other linkId
(e.g. ``phq9-1``) is written in braces: ``{phq9-1}``. A name's value is the item's
answer as a number: a number question's value, a quantity's value, a choice's score
(the sum for multiple choice), 1 or 0 for yes/no, or another computed item's value.
``round(x)`` rounds half up to a whole number, ``round(x, n)`` to n decimal places.
``^`` takes whole-number exponents from -10 to 10. A formula is compiled to FHIRPath
(``to_fhirpath``) and evaluated by the engine's one FHIRPath evaluator, with exact
decimal arithmetic: if any named item is unanswered, or the arithmetic is undefined
(division by zero), the result is empty: no score.

Example, body mass index: ``round(weight / (height / 100) ^ 2, 1)``.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAX_LENGTH = 1000
MAX_DEPTH = 40
FUNCTIONS = {"round": (1, 2), "min": (1, 20), "max": (1, 20), "abs": (1, 1)}

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<braced>[^{}]+)\}|(?P<op>[-+*/^(),]))"
)


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Expression:
    text: str
    tree: Any
    references: tuple[str, ...]


def parse_expression(text: str) -> Expression:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokenise(text))
    tree = parser.expression(0)
    if parser.peek() is not None:
        raise ExpressionError(f'unexpected "{parser.peek()[1]}"')
    return Expression(text, tree, tuple(dict.fromkeys(parser.references)))


def _tokenise(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip() == "":
                break
            raise ExpressionError(f'cannot read "{text[position:].strip()[:20]}"')
        kind = match.lastgroup
        tokens.append((kind, match[kind].strip() if kind == "braced" else match[kind]))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.position = 0
        self.references: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, op: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too soon")
        if op is not None and token != ("op", op):
            raise ExpressionError(f'expected "{op}" but found "{token[1]}"')
        self.position += 1
        return token

    def at(self, *ops: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "op" and token[1] in ops

    def expression(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ExpressionError("the expression is nested too deeply")
        node = self.term(depth)
        while self.at("+", "-"):
            node = ("bin", self.take()[1], node, self.term(depth))
        return node

    def term(self, depth: int) -> Any:
        node = self.unary(depth)
        while self.at("*", "/"):
            node = ("bin", self.take()[1], node, self.unary(depth))
        return node

    def unary(self, depth: int) -> Any:
        if self.at("-"):
            self.take()
            return ("neg", self.unary(depth + 1))
        node = self.primary(depth)
        if self.at("^"):
            self.take()
            exponent = self.unary(depth + 1)
            literal = _literal(exponent)
            if literal is not None and (
                literal != literal.to_integral_value() or abs(literal) > 10
            ):
                raise ExpressionError("^ takes whole-number exponents from -10 to 10")
            node = ("bin", "^", node, exponent)
        return node

    def primary(self, depth: int) -> Any:
        kind, value = self.take()
        if kind == "number":
            return ("num", Decimal(value))
        if kind == "name" and self.at("("):
            if value not in FUNCTIONS:
                raise ExpressionError(f'unknown function "{value}"')
            self.take("(")
            args = [self.expression(depth + 1)]
            while self.at(","):
                self.take()
                args.append(self.expression(depth + 1))
            self.take(")")
            low, high = FUNCTIONS[value]
            if not low <= len(args) <= high:
                raise ExpressionError(f'wrong number of arguments to "{value}"')
            return ("call", value, tuple(args))
        if kind in ("name", "braced"):
            self.references.append(value)
            return ("ref", value)
        if (kind, value) == ("op", "("):
            node = self.expression(depth + 1)
            self.take(")")
            return node
        raise ExpressionError(f'unexpected "{value}"')


def _literal(node: Any) -> Decimal | None:
    if node[0] == "num":
        return node[1]
    if node[0] == "neg" and node[1][0] == "num":
        return -node[1][1]
    return None


def to_fhirpath(expression: Expression, value_of: Callable[[str], str]) -> str:
    """The same arithmetic written in FHIRPath, so that one evaluator runs every formula.

    ``value_of(linkId)`` gives the FHIRPath of an item's value as a number (empty when
    unanswered). FHIRPath propagates empty through arithmetic and gives empty for a
    division by zero, as this language's None does; ``min``/``max`` are written so that
    one missing argument makes the result missing too.
    """
    return _fhirpath(expression.tree, value_of)


def _fhirpath(node: Any, value_of: Callable[[str], str]) -> str:
    tag = node[0]
    if tag == "num":
        return format(node[1], "f")
    if tag == "ref":
        return f"({value_of(node[1])})"
    if tag == "neg":
        return f"(0 - {_fhirpath(node[1], value_of)})"
    if tag == "call":
        name, args = node[1], [_fhirpath(arg, value_of) for arg in node[2]]
        if name == "round":
            places = args[1] if len(args) > 1 else "0"
            return f"({args[0]}).round({places})"
        if name == "abs":
            return f"({args[0]}).abs()"
        combined = args[0] + "".join(f".combine({arg})" for arg in args[1:])
        return f"iif(({combined}).count() = {len(args)}, ({combined}).{name}(), {{}})"
    _, op, left, right = node
    left_text, right_text = _fhirpath(left, value_of), _fhirpath(right, value_of)
    if op == "^":
        return f"({left_text}).power({right_text})"
    return f"({left_text} {op} {right_text})"
