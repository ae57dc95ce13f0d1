import { UserError } from '../diagnostics/diagnostic.ts';
import type { Span } from '../diagnostics/source.ts';
import { nodeText } from '../ir/print.ts';
import type { Dim, IrFunction, Node } from '../ir/types.ts';
import { SCAN_HELP, scanOperandProblem } from './scan-operands.ts';
import type { ValueClass } from './types.ts';
import { monoidOf } from '../ops/registry.ts';

export function hasAll(dims: readonly Dim[], rows: readonly Dim[]): boolean {
  return rows.length > 0 && rows.every((r) => dims.includes(r));
}

/** A value that cannot be scheduled chunk by chunk: names the value and the reason (spec §8). */
export function notChunkable(
  fn: IrFunction,
  rows: readonly Dim[],
  n: Node,
  why: string,
  help?: string,
  spanOf: number = n.id,
  note = `the rows are [${rows.join(', ')}]: the dims of the projections' left operands besides the contracted one`,
): never {
  const label = fn.labels?.get(n.id);
  const span = nearestSpan(fn, spanOf);
  throw new UserError({
    severity: 'error',
    code: 'P0302',
    ...(span ? { span } : {}),
    message: `\`${fn.name}\` cannot be run chunked: ${label ? `\`${label}\` (${nodeText(n)})` : nodeText(n)} ${why}`,
    notes: [note],
    ...(help ? { help: [help] } : {}),
  });
}

/**
 * Classifies every node of a (joint) graph for the chunked schedule; see `ValueClass`.
 * Throws P0302 for values the schedule cannot compute per chunk, saying which and why.
 */
export function classify(fn: IrFunction, rows: readonly Dim[]): Map<number, ValueClass> {
  const cls = new Map<number, ValueClass>();
  const fail = (n: Node, why: string): never => notChunkable(fn, rows, n, why);
  for (const n of fn.nodes) {
    const ins = n.inputs.map((i) => fn.nodes[i] as Node);
    const inCls = n.inputs.map((i) => cls.get(i));
    if (n.op === 'param') {
      cls.set(n.id, 'input');
      continue;
    }
    if (n.op === 'const' || n.op === 'size' || n.op === 'index') {
      cls.set(n.id, hasAll(n.dims, rows) ? 'row' : 'invariant');
      continue;
    }
    if (n.op === 'shift' || n.op === 'cumsum') {
      const why = scanOperandProblem(fn, n);
      if (why) {
        // A scan without a source span is a gradient: point at the scan it differentiates.
        const fwd = fn.spans?.has(n.id) ? undefined : forwardScan(fn, n);
        const what = fwd === undefined ? 'is' : 'is the gradient of';
        const msg = `${what} a \`${n.op}\` along \`${n.attrs.dim}\` that ${why}`;
        notChunkable(fn, rows, n, msg, SCAN_HELP, fwd);
      }
    }
    const rowInput = ins.some((x) => hasAll(x.dims, rows));
    if (hasAll(n.dims, rows)) {
      const extra = n.dims.filter((d) => !rows.includes(d));
      if (extra.length > 1)
        fail(
          n,
          `has dims [${n.dims.join(', ')}]: a per-row value may have at most one dim besides the rows`,
        );
      if (n.op === 'dot') {
        const withRows = ins.filter((x) => hasAll(x.dims, rows));
        if (withRows.length !== 1)
          fail(
            n,
            'multiplies two per-row values; a projection multiplies per-row values by a weight',
          );
        // A computed weight (`W / norm(W, H)`) is fine when it has no rows and reads no
        // carried value: the plan materializes it once, before the sweeps (computedWeights).
        const weight = ins.find((x) => !hasAll(x.dims, rows));
        const wc = weight && cls.get(weight.id);
        if (weight && wc !== 'input' && wc !== 'invariant')
          fail(
            n,
            "reads a weight computed from a reduction over rows; a projection's weight may be a parameter or computed from parameters only",
          );
      }
      if (n.op === 'gather' && rows.includes(n.attrs.dim ?? '')) fail(n, 'gathers along a row dim');
      cls.set(n.id, 'row');
      continue;
    }
    if (rowInput && (monoidOf(n.op) !== undefined || n.op === 'dot')) {
      const x = ins.find((i) => hasAll(i.dims, rows)) as Node;
      const kept = rows.filter((r) => n.dims.includes(r));
      if (kept.some((d, i) => d !== rows[i]))
        fail(
          n,
          `keeps [${kept.join(', ')}] of the rows [${rows.join(', ')}]; a reduction over rows may keep only leading row dims`,
        );
      if (n.op === 'dot') {
        if (kept.length) fail(n, 'contracts only some of the row dims');
        if (ins.some((i) => !hasAll(i.dims, rows)))
          fail(n, 'contracts rows of a value with a weight');
      } else if (x.dims.some((d) => !rows.includes(d) && n.dims.includes(d)) && kept.length)
        fail(
          n,
          'reduces a per-row vector over some row dims and keeps its vector dim (only column sums over every row dim are supported)',
        );
      cls.set(n.id, 'carried');
      continue;
    }
    if (rowInput) fail(n, `drops row dims from a per-row value with \`${n.op}\``);
    cls.set(n.id, inCls.some((c) => c === 'carried' || c === 'post') ? 'post' : 'invariant');
  }
  return cls;
}

/** The forward scan a gradient scan differentiates: same op and dim, opposite direction. */
function forwardScan(fn: IrFunction, g: Node): number | undefined {
  return fn.nodes.find(
    (m) =>
      m.op === g.op &&
      m.attrs.dim === g.attrs.dim &&
      fn.spans?.has(m.id) &&
      (g.op === 'shift'
        ? m.attrs.offset === -(g.attrs.offset ?? 0)
        : !m.attrs.reverse === !!g.attrs.reverse),
  )?.id;
}

/**
 * The source span of a node, or of the closest node it is computed from that has one (a
 * derived gradient points at the forward expression it differentiates).
 */
function nearestSpan(fn: IrFunction, id: number): Span | undefined {
  const seen = new Set<number>();
  const queue = [id];
  while (queue.length) {
    const i = queue.shift() as number;
    if (seen.has(i)) continue;
    seen.add(i);
    const s = fn.spans?.get(i);
    if (s) return s;
    queue.push(...(fn.nodes[i]?.inputs ?? []));
  }
  return undefined;
}
