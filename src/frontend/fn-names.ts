import type { Expr, FnDecl, Stmt } from './ast.ts';
import { BUILTINS } from './builtins.ts';
import type { DiagnosticSink } from './diagnostics-sink.ts';
import { didYouMean } from './suggest.ts';
import { walkExpr } from './walk.ts';

/**
 * Checks the names in a fn body before any call inlines it, so that a typo in an unused
 * fn is still reported: every name must be an argument or an earlier assignment, every
 * callee a fn or built-in, and the body must end with its only `return`. Types are checked
 * per call, when the arguments are known.
 */
export function checkFnNames(
  fn: FnDecl,
  fns: ReadonlyMap<string, FnDecl>,
  sink: DiagnosticSink,
): void {
  const known = new Set(fn.args.map((a) => a.name.name));
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'name':
        if (!known.has(e.name))
          sink.push({
            severity: 'error',
            code: 'P0101',
            message: `unknown name \`${e.name}\``,
            span: e.span,
            help: didYouMean(e.name, known),
            notes: [
              'a fn sees only its arguments and its own assignments; pass dims as `d: dim` arguments',
            ],
          });
        return;
      case 'call':
        if (!fns.has(e.callee.name) && !BUILTINS.has(e.callee.name))
          sink.push({
            severity: 'error',
            code: 'P0105',
            message: `unknown function \`${e.callee.name}\``,
            span: e.callee.span,
            help: didYouMean(e.callee.name, [...BUILTINS.keys(), ...fns.keys()]),
          });
        return;
      default:
        return;
    }
  };
  const stmts: readonly Stmt[] = fn.body;
  stmts.forEach((s, i) => {
    walkExpr(s.value, visit);
    if (s.kind === 'assign') known.add(s.target.name);
    else if (i !== stmts.length - 1)
      sink.push({
        severity: 'error',
        code: 'P0109',
        message: '`return` must be the last statement',
        span: s.span,
      });
  });
  // Reported here too (inlining reports it per call), so that an uncalled fn is checked.
  if (!stmts.some((s) => s.kind === 'return'))
    sink.push({
      severity: 'error',
      code: 'P0108',
      message: `fn \`${fn.name.name}\` has no \`return\``,
      span: fn.name.span,
      help: ['end the body with `return EXPR`'],
    });
}
