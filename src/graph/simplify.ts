import { OPS } from '../ops/registry.ts';
import type { Emit, ValueType } from '../ops/record.ts';
import type { Attrs, Node, Op } from '../ir/types.ts';

/**
 * Local rewrites applied as each node is built, so that derived programs read like what a
 * person would write: constant folding, identities (x + 0, x · 1, --x), no-op casts,
 * broadcasts and transposes, and `dot` seeing through transposes (it contracts by dim name,
 * so operand order is irrelevant). Returns the replacement node, or undefined to build as is.
 *
 * Rewrites never change a value's dtype or dims, and never drop an operand that could be
 * NaN/inf (x · 0 is not folded).
 */
export function simplify(
  b: Emit,
  op: Op,
  inputs: readonly number[],
  attrs: Attrs,
  out: ValueType,
): number | undefined {
  const ns = inputs.map((i) => b.node(i));
  const [x, y] = ns;
  const same = (n: Node | undefined): boolean =>
    n !== undefined && n.dtype === out.dtype && sameDims(n.dims, out.dims);

  // Constant folding of scalar elementwise ops.
  const rec = OPS[op];
  const scalar = rec.kind === 'elementwise' ? rec.scalar : undefined;
  if (scalar && ns.length > 0 && ns.every((n) => n.op === 'const')) {
    const v = scalar(...ns.map((n) => n.attrs.value ?? 0));
    return b.constant(out.dtype === 'i32' ? v | 0 : out.dtype === 'bool' ? +!!v : v, out.dtype);
  }
  // A reduction over no dims is its operand (Σ, max, log Σ e^x of one element).
  if (rec.kind === 'reduction' && x && (attrs.axes ?? []).length === 0 && same(x)) return x.id;
  switch (op) {
    case 'add':
      if (x && isConst(y, 0) && same(x)) return x.id;
      if (y && isConst(x, 0) && same(y)) return y.id;
      break;
    case 'sub':
      if (x && isConst(y, 0) && same(x)) return x.id;
      if (isConst(x, 0) && y) return b.op('neg', [y.id]);
      break;
    case 'mul':
      if (x && isConst(y, 1) && same(x)) return x.id;
      if (y && isConst(x, 1) && same(y)) return y.id;
      if (isConst(y, -1) && x) return b.op('neg', [x.id]);
      if (isConst(x, -1) && y) return b.op('neg', [y.id]);
      break;
    case 'div':
      if (x && isConst(y, 1) && same(x)) return x.id;
      break;
    case 'neg':
      if (x?.op === 'neg') return x.inputs[0];
      break;
    case 'cast':
    case 'broadcast':
    case 'transpose':
      if (x && same(x)) return x.id;
      if (op !== 'cast' && (x?.op === 'broadcast' || x?.op === 'transpose'))
        return b.op(
          op === 'transpose' && x.op === 'transpose' ? 'transpose' : 'broadcast',
          [x.inputs[0] ?? x.id],
          attrs,
        );
      break;
    case 'dot': {
      const seeThrough = ns.map((n) => (n.op === 'transpose' ? (n.inputs[0] ?? n.id) : n.id));
      if (seeThrough.some((id, k) => id !== inputs[k])) return b.op('dot', seeThrough, attrs);
      break;
    }
    default:
      break;
  }
  return undefined;
}

function isConst(n: Node | undefined, v: number): boolean {
  return n !== undefined && n.op === 'const' && n.attrs.value === v && n.dims.length === 0;
}

export function sameDims(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
