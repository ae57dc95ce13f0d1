import type { Code } from '../diagnostics/codes.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Span } from '../diagnostics/source.ts';
import type { Attrs, DType, Op } from '../ir/types.ts';
import { ERROR, type Arg, type Value } from './values.ts';

/** What `@` needs from the expression elaborator (an interface, so this file does not import it back). */
export interface MatmulHost {
  dimAsValue(a: Arg): Value;
  dimsOf(v: Value): readonly string[];
  dtypeOf(v: Value): DType | undefined;
  describe(v: Value): string;
  report(code: Code, message: string, span: Span, extra?: Partial<Diagnostic>): Value;
  apply(op: Op, args: readonly Arg[], attrs: Attrs, span: Span, opSpan?: Span): Value;
}

/**
 * `A @ B` (spec §4): contracts the last dim of A with the first dim of B, which must be the
 * same dim; the result has A's other dims then B's other dims, and is f32. A dim other than
 * the contracted one may not appear in both (that would be a batch dim, which `@` lacks).
 */
export function matmul(x: MatmulHost, a: Arg, b: Arg, span: Span, opSpan: Span): Value {
  if (a.value.kind === 'error' || b.value.kind === 'error') return ERROR;
  for (const side of [a, b]) {
    if (side.value.kind === 'dim') return x.dimAsValue(side);
    if (side.value.kind !== 'node' || x.dimsOf(side.value).length === 0)
      return x.report(
        'P0212',
        `\`@\` needs tensors on both sides, found ${x.describe(side.value)}`,
        side.span,
        {
          help: ['use `*` to scale by a scalar'],
        },
      );
  }
  const ad = x.dimsOf(a.value);
  const bd = x.dimsOf(b.value);
  const last = ad[ad.length - 1] ?? '';
  const first = bd[0] ?? '';
  const shapes = [`left is ${x.describe(a.value)}`, `right is ${x.describe(b.value)}`];
  if (last !== first) {
    const help: string[] = [];
    if (bd.length === 2 && bd[1] === last) help.push(`did you mean \`${exprText(b)}.T\`?`);
    else if (ad.length === 2 && ad[0] === first) help.push(`did you mean \`${exprText(a)}.T\`?`);
    return x.report(
      'P0204',
      `\`@\` contracts the last dim of the left side with the first dim of the right side, but they are \`${last}\` and \`${first}\``,
      opSpan,
      { notes: shapes, help },
    );
  }
  const out = [...ad.slice(0, -1), ...bd.slice(1)];
  const repeated = out.find((d, i) => out.indexOf(d) !== i);
  if (repeated !== undefined)
    return x.report(
      'P0210',
      `dim \`${repeated}\` appears on both sides of \`@\` besides the contracted \`${last}\``,
      opSpan,
      {
        notes: shapes,
      },
    );
  // A vector side (`X @ w` with `w: f32[H]`) is a weighted sum, not a projection: no output
  // dim to chunk over. Lowered as one, it is row-local and runs on every backend.
  if ((ad.length === 1 || bd.length === 1) && isFloatValue(x, a) && isFloatValue(x, b)) {
    const prod = x.apply('mul', [a, b], {}, span, opSpan);
    return x.apply('sum', [{ value: prod, span }], { axes: [last] }, span, opSpan);
  }
  return x.apply('dot', [a, b], { dims: out }, span, opSpan);
}

function isFloatValue(x: MatmulHost, a: Arg): boolean {
  const t = x.dtypeOf(a.value);
  return t === 'f32' || t === 'f16' || t === 'bf16';
}

/** The source text of an operand, for help messages. */
function exprText(a: Arg): string {
  const t = a.span.file.text.slice(a.span.start, a.span.end);
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(t) ? t : `(${t})`;
}
