import type { Expr } from './ast.ts';

/**
 * Calls `visit` on `e` and every sub-expression, parents first, left to right. Iterative:
 * `a + b + c + ...` is a left-nested tree as deep as the sum is long, and a recursive walk
 * would run out of stack on a few thousand terms.
 */
export function walkExpr(e: Expr, visit: (e: Expr) => void): void {
  const stack: Expr[] = [e];
  for (let x = stack.pop(); x !== undefined; x = stack.pop()) {
    visit(x);
    // Children pushed last-first, so the first child is visited next.
    switch (x.kind) {
      case 'unary':
      case 'transpose':
        stack.push(x.operand);
        break;
      case 'binary':
        stack.push(x.right, x.left);
        break;
      case 'call':
        stack.push(...[...x.args].reverse());
        break;
      default:
        break;
    }
  }
}
