from __future__ import annotations

import pytest

from admitone.calculator import CalculatorError, evaluate, find_expression, js_number


@pytest.mark.parametrize(
    ("expression", "value"),
    [("6 * 7", 42), ("2 + 3 * 4", 14), ("(2 + 3) * 4", 20), ("2 ^ 3 ^ 2", 512), ("-3 + 5", 2), ("7 ÷ 2", 3.5)],
)
def test_evaluates_like_the_typescript_calculator(expression: str, value: float) -> None:
    assert js_number(evaluate(expression)) == value


@pytest.mark.parametrize("expression", ["1 / 0", "2 +", "(1 + 2", "a + 1", "9 ^ 9 ^ 9", "1" * 201])
def test_refuses_bad_expressions(expression: str) -> None:
    with pytest.raises(CalculatorError):
        evaluate(expression)


def test_finds_the_arithmetic_in_a_sentence() -> None:
    assert find_expression("What is 6 * 7?") == "6 * 7"
    assert find_expression("How long is this sentence?") is None
    assert js_number(42.0) == 42 and isinstance(js_number(42.0), int)
