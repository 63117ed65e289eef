import ts from 'typescript';

/**
 * Finds the ways a spec file can pass without proving anything, by reading
 * its syntax tree (never by regex, so strings and comments cannot trip it):
 *
 * - a skipped or focused test (`it.skip`, `describe.only`, `xit`, `fit`, `it.todo`);
 * - a test whose body has no statements;
 * - a `try` around an assertion whose `catch` does not rethrow;
 * - a `.catch(() => undefined)` inside a test whose swallowed result the test
 *   goes on to use (awaited or assigned), so a timeout or a failed wait turns
 *   into a quiet `undefined` instead of a failure.
 *
 * A `.catch` used as a statement of its own (marking a promise handled whose
 * outcome is asserted elsewhere) and cleanup in hooks are allowed.
 */
export interface Finding {
  file: string;
  line: number;
  rule: 'skipped-or-focused' | 'empty-test' | 'swallowed-assertion' | 'swallowed-wait';
  text: string;
}

const TEST_FNS = new Set(['it', 'test']);
const SUITE_FNS = new Set(['describe', ...TEST_FNS]);
const FOCUS_OR_SKIP = new Set(['skip', 'only', 'todo', 'failing']);
const X_OR_F = new Set(['xit', 'xtest', 'xdescribe', 'fit', 'fdescribe']);
const ASSERTIONS = new Set(['expect', 'assert', 'fail']);

export function findDishonestTests(file: string, source: string): Finding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const findings: Finding[] = [];
  const report = (node: ts.Node, rule: Finding['rule']) =>
    findings.push({
      file,
      line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
      rule,
      text: node.getText(sf).split('\n')[0].slice(0, 120),
    });

  const visit = (node: ts.Node, inTest: boolean): void => {
    let childInTest = inTest;
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      // it.skip(...), describe.only(...), it.each(...).skip is not a thing; test.todo(...)
      if (
        ts.isPropertyAccessExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        SUITE_FNS.has(callee.expression.text) &&
        FOCUS_OR_SKIP.has(callee.name.text)
      ) {
        report(node, 'skipped-or-focused');
      }
      if (ts.isIdentifier(callee) && X_OR_F.has(callee.text)) report(node, 'skipped-or-focused');

      const testCallback = testBodyOf(node);
      if (testCallback) {
        childInTest = true;
        if (isEmptyFunction(testCallback)) report(node, 'empty-test');
      }

      if (
        inTest &&
        ts.isPropertyAccessExpression(callee) &&
        callee.name.text === 'catch' &&
        node.arguments.length === 1 &&
        swallows(node.arguments[0]) &&
        resultIsUsed(node)
      ) {
        report(node, 'swallowed-wait');
      }
    }
    if (ts.isTryStatement(node) && node.catchClause && containsAssertion(node.tryBlock)) {
      if (!contains(node.catchClause.block, (n) => ts.isThrowStatement(n)))
        report(node.catchClause, 'swallowed-assertion');
    }
    ts.forEachChild(node, (child) => visit(child, childInTest));
  };
  visit(sf, false);
  return findings;
}

/** The callback of `it('name', fn)`, `test('name', fn)`, or `it.each(table)('name', fn)`. */
function testBodyOf(call: ts.CallExpression): ts.FunctionLikeDeclaration | undefined {
  const callee = call.expression;
  const isTestCallee =
    (ts.isIdentifier(callee) && TEST_FNS.has(callee.text)) ||
    (ts.isPropertyAccessExpression(callee) &&
      ts.isIdentifier(callee.expression) &&
      TEST_FNS.has(callee.expression.text)) ||
    (ts.isCallExpression(callee) &&
      ts.isPropertyAccessExpression(callee.expression) &&
      ts.isIdentifier(callee.expression.expression) &&
      TEST_FNS.has(callee.expression.expression.text));
  if (!isTestCallee) return undefined;
  const fn = call.arguments[1];
  return fn && (ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) ? fn : undefined;
}

function isEmptyFunction(fn: ts.FunctionLikeDeclaration): boolean {
  const body = fn.body;
  if (!body) return true;
  return ts.isBlock(body) && body.statements.length === 0;
}

/** `() => undefined`, `() => null`, `() => {}`, `() => void 0`, `() => false`, `() => []`. */
function swallows(handler: ts.Expression): boolean {
  if (!ts.isArrowFunction(handler) && !ts.isFunctionExpression(handler)) return false;
  const body = handler.body;
  if (ts.isBlock(body)) {
    return body.statements.every(
      (s) => ts.isReturnStatement(s) && (!s.expression || isNothing(s.expression)),
    );
  }
  return isNothing(body);
}

function isNothing(e: ts.Expression): boolean {
  return (
    (ts.isIdentifier(e) && e.text === 'undefined') ||
    e.kind === ts.SyntaxKind.NullKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword ||
    ts.isVoidExpression(e) ||
    (ts.isArrayLiteralExpression(e) && e.elements.length === 0)
  );
}

/** Whether the value of `.catch(...)` flows on: awaited, assigned, passed or returned. */
function resultIsUsed(call: ts.CallExpression): boolean {
  let parent = call.parent;
  while (ts.isParenthesizedExpression(parent)) parent = parent.parent;
  if (ts.isExpressionStatement(parent)) return false;
  if (ts.isVoidExpression(parent) && ts.isExpressionStatement(parent.parent)) return false;
  return true;
}

function containsAssertion(node: ts.Node): boolean {
  return contains(
    node,
    (n) =>
      ts.isCallExpression(n) && ts.isIdentifier(n.expression) && ASSERTIONS.has(n.expression.text),
  );
}

function contains(node: ts.Node, predicate: (n: ts.Node) => boolean): boolean {
  let found = false;
  const walk = (n: ts.Node): void => {
    if (found) return;
    if (predicate(n)) {
      found = true;
      return;
    }
    ts.forEachChild(n, walk);
  };
  walk(node);
  return found;
}
