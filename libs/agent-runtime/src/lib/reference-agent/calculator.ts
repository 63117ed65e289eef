/**
 * Safe arithmetic for the reference agent's calculator tool: a small
 * recursive-descent parser over numbers, + - * / ^, unary minus and
 * parentheses. No eval, no Function, bounded length and depth.
 */
export class CalculatorError extends Error {}

const MAX_LENGTH = 200;
const MAX_DEPTH = 32;

type Token = { kind: 'num'; value: number } | { kind: 'op'; value: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === ' ' || c === '\t') {
      i++;
    } else if (/[0-9.]/.test(c)) {
      const match = /^(?:\d+\.?\d*|\.\d+)/.exec(source.slice(i));
      if (!match) throw new CalculatorError(`bad number at ${i}`);
      tokens.push({ kind: 'num', value: Number(match[0]) });
      i += match[0].length;
    } else if ('+-*/^()×÷'.includes(c)) {
      tokens.push({ kind: 'op', value: c === '×' ? '*' : c === '÷' ? '/' : c });
      i++;
    } else {
      throw new CalculatorError(`unexpected "${c}"`);
    }
  }
  return tokens;
}

export function evaluate(expression: string): number {
  if (expression.length > MAX_LENGTH) throw new CalculatorError('expression too long');
  const tokens = tokenize(expression);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (v: string) => peek()?.kind === 'op' && peek()?.value === v;

  const expr = (depth: number): number => {
    if (depth > MAX_DEPTH) throw new CalculatorError('expression too deep');
    let value = term(depth);
    while (isOp('+') || isOp('-')) {
      const op = tokens[pos++].value;
      const right = term(depth);
      value = op === '+' ? value + right : value - right;
    }
    return value;
  };
  const term = (depth: number): number => {
    let value = power(depth);
    while (isOp('*') || isOp('/')) {
      const op = tokens[pos++].value;
      const right = power(depth);
      if (op === '/' && right === 0) throw new CalculatorError('division by zero');
      value = op === '*' ? value * right : value / right;
    }
    return value;
  };
  const power = (depth: number): number => {
    const base = unary(depth);
    if (isOp('^')) {
      pos++;
      return base ** power(depth + 1);
    }
    return base;
  };
  const unary = (depth: number): number => {
    if (isOp('-')) {
      pos++;
      return -unary(depth + 1);
    }
    if (isOp('+')) {
      pos++;
      return unary(depth + 1);
    }
    return primary(depth);
  };
  const primary = (depth: number): number => {
    const token = tokens[pos++];
    if (!token) throw new CalculatorError('unexpected end of expression');
    if (token.kind === 'num') return token.value;
    if (token.value === '(') {
      const value = expr(depth + 1);
      if (!isOp(')')) throw new CalculatorError('missing ")"');
      pos++;
      return value;
    }
    throw new CalculatorError(`unexpected "${token.value}"`);
  };

  const result = expr(0);
  if (pos !== tokens.length) throw new CalculatorError(`unexpected "${tokens[pos].value}"`);
  if (!Number.isFinite(result)) throw new CalculatorError('result is not a finite number');
  return result;
}

/** The arithmetic in a sentence, e.g. "6 * 7" in "What is 6 * 7?"; null when there is none. */
export function findExpression(text: string): string | null {
  const candidates = text.match(/[\d.(][\d\s.+\-*/^()×÷]*[\d)]/g) ?? [];
  const withOperator = candidates
    .map((c) => c.trim())
    .filter((c) => /\d/.test(c) && /[+\-*/^×÷]/.test(c));
  return withOperator.sort((a, b) => b.length - a.length)[0] ?? null;
}
