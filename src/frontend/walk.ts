import type { Expr } from './ast.ts';

/** Calls `visit` on `e` and every sub-expression, parents first, left to right. */
export function walkExpr(e: Expr, visit: (e: Expr) => void): void {
  visit(e);
  switch (e.kind) {
    case 'unary':
    case 'transpose':
      return walkExpr(e.operand, visit);
    case 'binary':
      walkExpr(e.left, visit);
      return walkExpr(e.right, visit);
    case 'call':
      return e.args.forEach((a) => walkExpr(a, visit));
    default:
      return;
  }
}
