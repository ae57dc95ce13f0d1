import type { Code } from '../diagnostics/codes.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { typeText } from '../ir/print.ts';
import type { Dim, IrFunction } from '../ir/types.ts';

/**
 * Binds every dim of `fn` to a size from the shapes of the inputs (by parameter name) and
 * the `explicit` sizes. Throws a UserError when a tensor parameter has no input (P0401),
 * an input has the wrong rank (P0408), two uses of a dim disagree (P0403), or a dim gets
 * no size at all (P0403). Scalar parameters may be absent (defaults, `--set`); dtypes are
 * the caller's to check. Explicit sizes must name dims of `fn` (P0405).
 */
export function bindDims(
  fn: IrFunction,
  shapes: ReadonlyMap<string, readonly number[]>,
  explicit: ReadonlyMap<string, number> = new Map(),
): Map<Dim, number> {
  const dims = allDims(fn);
  // Where each size came from, for the message when a later use disagrees.
  const bound = new Map<Dim, { size: number; from: string }>();
  for (const [d, size] of explicit) {
    if (!dims.includes(d))
      fail('P0405', `\`${fn.name}\` has no dim \`${d}\``, [`its dims: ${dims.join(', ')}`]);
    if (!Number.isInteger(size) || size < 0)
      fail('P0405', `the size of dim \`${d}\` must be a non-negative integer, got ${size}`);
    bound.set(d, { size, from: 'given explicitly' });
  }
  for (const p of fn.params) {
    const shape = shapes.get(p.name);
    if (shape === undefined) {
      if (p.dims.length > 0 && !p.optional)
        fail('P0401', `missing input \`${p.name}\`: a tensor ${typeText(p)} is expected`);
      continue;
    }
    if (shape.length !== p.dims.length)
      fail(
        'P0408',
        `input \`${p.name}\` has ${rank(shape)} [${shape.join(', ')}], but \`${p.name}\` is declared ${typeText(p)}`,
        [`${typeText(p)} has ${rank(p.dims)}`],
      );
    p.dims.forEach((d, axis) => {
      const size = shape[axis] ?? 0;
      const from = `in \`${p.name}\` (dim ${axis})`;
      const prev = bound.get(d);
      if (!prev) bound.set(d, { size, from });
      else if (prev.size !== size)
        fail('P0403', `dim \`${d}\` is ${prev.size} ${prev.from} but ${size} ${from}`);
    });
  }
  applyConstraints(fn, bound);
  const sizes = new Map<Dim, number>();
  for (const d of dims) {
    const b = bound.get(d);
    if (!b)
      fail(
        'P0403',
        `the size of dim \`${d}\` is unknown: no input has it`,
        [],
        [`give the size of \`${d}\` explicitly`],
      );
    sizes.set(d, b.size);
  }
  return sizes;
}

/**
 * The signature's dim constraints (`S: dim = 2`, `N: dim = M`): a dim no input sized takes
 * its size from the constraint; a size that breaks one is P0430, naming where each size
 * came from.
 */
function applyConstraints(fn: IrFunction, bound: Map<Dim, { size: number; from: string }>): void {
  const cs = fn.dimConstraints ?? [];
  // Fill first, until nothing changes (chains like `N: dim = M, M: dim = 4`), then check.
  for (let changed = true; changed;) {
    changed = false;
    for (const c of cs) {
      const want = typeof c.equals === 'number' ? undefined : c.equals.dim;
      const mine = bound.get(c.dim);
      const other = want === undefined ? undefined : bound.get(want);
      const rule = `\`${c.dim}: dim = ${want ?? c.equals}\``;
      const fill = (d: Dim, size: number) => {
        bound.set(d, { size, from: `by ${rule}` });
        changed = true;
      };
      if (typeof c.equals === 'number') {
        if (!mine) fill(c.dim, c.equals);
      } else if (want !== undefined && !mine && other) fill(c.dim, other.size);
      else if (want !== undefined && mine && !other) fill(want, mine.size);
    }
  }
  for (const c of cs) {
    const mine = bound.get(c.dim);
    if (!mine) continue;
    if (typeof c.equals === 'number') {
      if (mine.size !== c.equals)
        fail(
          'P0430',
          `dim \`${c.dim}\` is ${mine.size} ${mine.from}, but the signature requires \`${c.dim}: dim = ${c.equals}\``,
        );
      continue;
    }
    const other = bound.get(c.equals.dim);
    if (other && other.size !== mine.size)
      fail(
        'P0430',
        `dim \`${c.dim}\` is ${mine.size} ${mine.from}, but the signature requires \`${c.dim}: dim = ${c.equals.dim}\` and \`${c.equals.dim}\` is ${other.size} ${other.from}`,
      );
  }
}

/** The dims of the parameters, then any other dim a node uses. */
function allDims(fn: IrFunction): Dim[] {
  const out: Dim[] = [];
  const add = (d: Dim): void => {
    if (!out.includes(d)) out.push(d);
  };
  fn.dims.forEach(add);
  for (const p of fn.params) p.dims.forEach(add);
  for (const n of fn.nodes) {
    n.dims.forEach(add);
    n.attrs.axes?.forEach(add);
    if (n.attrs.dim !== undefined) add(n.attrs.dim);
  }
  return out;
}

function rank(dims: readonly unknown[]): string {
  return dims.length === 0
    ? 'no dims (a scalar)'
    : dims.length === 1
      ? '1 dim'
      : `${dims.length} dims`;
}

function fail(
  code: Code,
  message: string,
  notes: readonly string[] = [],
  help: readonly string[] = [],
): never {
  throw new UserError({ severity: 'error', code, message, notes, help });
}
