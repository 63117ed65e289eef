import fc from 'fast-check';
import { CalculatorError, evaluate, findExpression } from './calculator';

describe('evaluate', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['2 * 3 + 1', 7],
    ['10 - 4 - 3', 3],
    ['100 / 10 / 5', 2],
    ['(1 + 2) * 3', 9],
    ['((2))', 2],
    ['2 * (3 + (4 - 1)) / 3', 4],
  ])('respects precedence and parentheses: %s = %d', (expression, value) => {
    expect(evaluate(expression)).toBe(value);
  });

  it.each([
    ['-3', -3],
    ['--3', 3],
    ['2 - -3', 5],
    ['-(2 + 3)', -5],
    ['+4', 4],
    ['2 * -3', -6],
  ])('takes unary minus (and plus): %s = %d', (expression, value) => {
    expect(evaluate(expression)).toBe(value);
  });

  it.each([
    ['2 ^ 10', 1024],
    ['2 ^ 3 ^ 2', 512],
    ['(2 ^ 3) ^ 2', 64],
    ['2 * 3 ^ 2', 18],
    ['2 ^ -1', 0.5],
  ])('raises to powers, right-associative: %s = %d', (expression, value) => {
    expect(evaluate(expression)).toBe(value);
  });

  it.each([
    ['1.5 + 1.25', 2.75],
    ['.5 * 4', 2],
    ['3. + 1', 4],
    ['0.1 + 0.2', 0.1 + 0.2],
  ])('reads decimals: %s', (expression, value) => {
    expect(evaluate(expression)).toBe(value);
  });

  it('reads × and ÷ as * and /', () => {
    expect(evaluate('6 × 7')).toBe(42);
    expect(evaluate('84 ÷ 2')).toBe(42);
    expect(evaluate('3×4÷2')).toBe(6);
  });

  it.each([
    ['division by zero', '1 / 0'],
    ['division by an expression that is zero', '5 / (2 - 2)'],
    ['a dangling operator', '2 +'],
    ['an unclosed parenthesis', '(1'],
    ['a stray closing parenthesis', '1)'],
    ['letters', '2 + x'],
    ['exponent notation', '1e5'],
    ['a lone dot', '.'],
    ['two numbers in a row', '1 2'],
    ['an empty expression', ''],
    ['a non-finite result', '9 ^ 999'],
    ['a result that is not a number', '(-8) ^ 0.5'],
    ['an expression that is too long', `1${' + 1'.repeat(50)}`],
    ['an expression that is too deep', `${'('.repeat(40)}1${')'.repeat(40)}`],
  ])('throws CalculatorError for %s', (_, expression) => {
    expect(() => evaluate(expression)).toThrow(CalculatorError);
  });

  it('names the reason in the error', () => {
    expect(() => evaluate('1/0')).toThrow('division by zero');
    expect(() => evaluate('x'.repeat(201))).toThrow('expression too long');
    expect(() => evaluate(`${'('.repeat(40)}1${')'.repeat(40)}`)).toThrow('expression too deep');
  });

  it('never throws anything but CalculatorError and never returns a non-finite number', () => {
    const calculatorish = fc.string({
      unit: fc.constantFrom(...'0123456789.+-*/^()×÷ \tx'.split('')),
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 250 }), calculatorish), (source) => {
        let value: number;
        try {
          value = evaluate(source);
        } catch (error) {
          expect(error).toBeInstanceOf(CalculatorError);
          return;
        }
        expect(Number.isFinite(value)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with a reference evaluation of random integer expressions', () => {
    fc.assert(
      fc.property(expressionArb, (ast) => {
        const source = render(ast);
        const expected = reference(ast);
        if (expected.divisionByZero || !Number.isFinite(expected.value) || source.length > 200) {
          expect(() => evaluate(source)).toThrow(CalculatorError);
        } else {
          expect(evaluate(source)).toBe(expected.value);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('findExpression', () => {
  it('finds the arithmetic in a question', () => {
    const expression = findExpression('What is 6 * 7?');
    expect(expression).toBe('6 * 7');
    expect(evaluate(expression as string)).toBe(42);
  });

  it.each([
    ['What is (1 + 2) * 3 today?', '(1 + 2) * 3'],
    ['Compute 2^10 please', '2^10'],
    ['How much is 12 ÷ 4', '12 ÷ 4'],
    ['In 2024 what is 3 + 4?', '3 + 4'],
  ])('%j -> %j', (text, expression) => {
    expect(findExpression(text)).toBe(expression);
  });

  it.each(['Hello there', 'I have 3 cats', 'version 1.2', ''])(
    'returns null without arithmetic: %j',
    (text) => {
      expect(findExpression(text)).toBeNull();
    },
  );
});

/**
 * Random expressions as trees, rendered with the fewest parentheses the
 * grammar needs (so precedence and associativity are exercised), and a
 * reference value computed from the tree, not from the text.
 */
type Ast =
  | { kind: 'num'; value: number }
  | { kind: 'neg'; operand: Ast }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/' | '^'; left: Ast; right: Ast };

const { expression: expressionArb } = fc.letrec<{ expression: Ast }>((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: 0, max: 12 }).map((value): Ast => ({ kind: 'num', value })),
    tie('expression').map((operand): Ast => ({ kind: 'neg', operand })),
    fc
      .record({
        op: fc.constantFrom('+', '-', '*', '/', '^'),
        left: tie('expression'),
        right: tie('expression'),
      })
      .map((b): Ast => ({ kind: 'bin', ...b })),
  ),
}));

const PRECEDENCE = { '+': 1, '-': 1, '*': 2, '/': 2, '^': 3, neg: 4, num: 5 } as const;
const precedenceOf = (ast: Ast): number =>
  ast.kind === 'bin' ? PRECEDENCE[ast.op] : PRECEDENCE[ast.kind];

function render(ast: Ast): string {
  const wrap = (child: Ast, needsParens: boolean) =>
    needsParens ? `(${render(child)})` : render(child);
  if (ast.kind === 'num') return String(ast.value);
  // The operand of unary minus is itself parsed as a unary expression.
  if (ast.kind === 'neg')
    return `-${wrap(ast.operand, precedenceOf(ast.operand) < PRECEDENCE.neg)}`;
  const p = PRECEDENCE[ast.op];
  if (ast.op === '^') {
    // Right-associative: the base is a unary expression, the exponent a power.
    return `${wrap(ast.left, precedenceOf(ast.left) <= p)}^${wrap(ast.right, precedenceOf(ast.right) < p)}`;
  }
  // Left-associative.
  return `${wrap(ast.left, precedenceOf(ast.left) < p)} ${ast.op} ${wrap(ast.right, precedenceOf(ast.right) <= p)}`;
}

function reference(ast: Ast): { value: number; divisionByZero: boolean } {
  if (ast.kind === 'num') return { value: ast.value, divisionByZero: false };
  if (ast.kind === 'neg') {
    const operand = reference(ast.operand);
    return { value: -operand.value, divisionByZero: operand.divisionByZero };
  }
  const left = reference(ast.left);
  const right = reference(ast.right);
  const divisionByZero =
    left.divisionByZero || right.divisionByZero || (ast.op === '/' && right.value === 0);
  const value =
    ast.op === '+'
      ? left.value + right.value
      : ast.op === '-'
        ? left.value - right.value
        : ast.op === '*'
          ? left.value * right.value
          : ast.op === '/'
            ? left.value / right.value
            : left.value ** right.value;
  return { value, divisionByZero };
}
