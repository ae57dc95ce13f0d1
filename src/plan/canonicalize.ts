import { GraphBuilder } from '../graph/builder.ts';
import { remapAnnotations } from '../ir/annotations.ts';
import { compact } from '../ir/compact.ts';
import type { Dim, IrFunction } from '../ir/types.ts';
import { monoidOf } from '../ops/registry.ts';
import { hasAll } from './classify.ts';

/**
 * Splits each reduction over rows and an inner dim into an inner reduction (per row) and a
 * reduction over rows: sum(x, N, V) = sum(sum(x, V), N), and likewise for max, min and
 * logsumexp (log Σ_N Σ_V e^x = lse_N(lse_V(x))). The row kernel then computes the inner
 * part and the carried accumulator only ever sees one value per row. Every reduction
 * record's monoid nests this way (see `Monoid`).
 */
export function splitRowReductions(fn: IrFunction, rows: readonly Dim[]): IrFunction {
  const b = new GraphBuilder();
  const map = new Map<number, number>();
  for (const n of fn.nodes) {
    const ins = n.inputs.map((i) => map.get(i) ?? -1);
    const x = fn.nodes[n.inputs[0] ?? -1];
    const axes = n.attrs.axes ?? [];
    const inner = axes.filter((d) => !rows.includes(d));
    const outer = axes.filter((d) => rows.includes(d));
    let id: number;
    if (monoidOf(n.op) && x && hasAll(x.dims, rows) && inner.length && outer.length) {
      const perRow = b.op(n.op, ins, { axes: inner });
      id = b.op(n.op, [perRow], { axes: outer });
    } else id = b.intern(n.op, ins, n.attrs, n.dtype, n.dims);
    map.set(n.id, id);
  }
  return compact({
    ...fn,
    nodes: b.nodes,
    ...remapAnnotations(fn, (id) => map.get(id)),
    params: fn.params.map((p) =>
      p.node === undefined ? p : { ...p, node: map.get(p.node) ?? -1 },
    ),
    results: fn.results.map((r) => ({ ...r, node: map.get(r.node) ?? -1 })),
  });
}
