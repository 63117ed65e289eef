"""Safe arithmetic for the calculator agent: a port of libs/agent-runtime's calculator.ts."""

from __future__ import annotations

import math
import re

MAX_LENGTH = 200
MAX_DEPTH = 32


class CalculatorError(Exception):
    pass


def _tokenize(source: str) -> list[tuple[str, float | str]]:
    tokens: list[tuple[str, float | str]] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c in " \t":
            i += 1
        elif c.isdigit() and c.isascii() or c == ".":
            match = re.match(r"\d+\.?\d*|\.\d+", source[i:], re.ASCII)
            if not match:
                raise CalculatorError(f"bad number at {i}")
            tokens.append(("num", float(match.group(0))))
            i += len(match.group(0))
        elif c in "+-*/^()×÷":
            tokens.append(("op", "*" if c == "×" else "/" if c == "÷" else c))
            i += 1
        else:
            raise CalculatorError(f'unexpected "{c}"')
    return tokens


def evaluate(expression: str) -> float:
    if len(expression) > MAX_LENGTH:
        raise CalculatorError("expression too long")
    tokens = _tokenize(expression)
    pos = 0

    def is_op(v: str) -> bool:
        return pos < len(tokens) and tokens[pos] == ("op", v)

    def expr(depth: int) -> float:
        nonlocal pos
        if depth > MAX_DEPTH:
            raise CalculatorError("expression too deep")
        value = term(depth)
        while is_op("+") or is_op("-"):
            op = tokens[pos][1]
            pos += 1
            right = term(depth)
            value = value + right if op == "+" else value - right
        return value

    def term(depth: int) -> float:
        nonlocal pos
        value = power(depth)
        while is_op("*") or is_op("/"):
            op = tokens[pos][1]
            pos += 1
            right = power(depth)
            if op == "/" and right == 0:
                raise CalculatorError("division by zero")
            value = value * right if op == "*" else value / right
        return value

    def power(depth: int) -> float:
        nonlocal pos
        base = unary(depth)
        if is_op("^"):
            pos += 1
            try:
                return float(base ** power(depth + 1))
            except OverflowError:
                return math.inf
        return base

    def unary(depth: int) -> float:
        nonlocal pos
        if is_op("-"):
            pos += 1
            return -unary(depth + 1)
        if is_op("+"):
            pos += 1
            return unary(depth + 1)
        return primary(depth)

    def primary(depth: int) -> float:
        nonlocal pos
        if pos >= len(tokens):
            raise CalculatorError("unexpected end of expression")
        kind, value = tokens[pos]
        pos += 1
        if kind == "num":
            return float(value)
        if value == "(":
            inner = expr(depth + 1)
            if not is_op(")"):
                raise CalculatorError('missing ")"')
            pos += 1
            return inner
        raise CalculatorError(f'unexpected "{value}"')

    result = expr(0)
    if pos != len(tokens):
        raise CalculatorError(f'unexpected "{tokens[pos][1]}"')
    if isinstance(result, complex) or not math.isfinite(result):
        raise CalculatorError("result is not a finite number")
    return result


def find_expression(text: str) -> str | None:
    """The arithmetic in a sentence, e.g. "6 * 7" in "What is 6 * 7?"; None when there is none."""
    candidates = [c.strip() for c in re.findall(r"[\d.(][\d\s.+\-*/^()×÷]*[\d)]", text, re.ASCII)]
    with_operator = [c for c in candidates if re.search(r"\d", c) and re.search(r"[+\-*/^×÷]", c)]
    with_operator.sort(key=len, reverse=True)  # stable, like Array.prototype.sort
    return with_operator[0] if with_operator else None


def js_number(value: float) -> int | float:
    """The number as JSON.stringify writes it: 42, not 42.0."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value
