import { remapAnnotations } from './annotations.ts';
import type { IrFunction, Node } from './types.ts';

/**
 * Dead-code elimination and renumbering: keeps the nodes the results need, in their order,
 * with ids 0..n-1. Parameters nobody reads lose their node reference.
 */
export function compact(fn: IrFunction): IrFunction {
  const live = new Set<number>();
  const stack = fn.results.map((r) => r.node);
  while (stack.length) {
    const id = stack.pop() as number;
    if (live.has(id)) continue;
    live.add(id);
    for (const i of fn.nodes[id]?.inputs ?? []) stack.push(i);
  }
  const renum = new Map<number, number>();
  const nodes: Node[] = [];
  for (const n of fn.nodes) {
    if (!live.has(n.id)) continue;
    const id = nodes.length;
    renum.set(n.id, id);
    nodes.push({ ...n, id, inputs: n.inputs.map((i) => renum.get(i) ?? -1) });
  }
  const { labels, spans } = remapAnnotations(fn, (id) => renum.get(id));
  return {
    ...fn,
    nodes,
    labels,
    spans,
    params: fn.params.map((p) => {
      const node = p.node === undefined ? undefined : renum.get(p.node);
      const { node: _old, ...rest } = p;
      return node === undefined ? rest : { ...rest, node };
    }),
    results: fn.results.map((r) => ({ ...r, node: renum.get(r.node) ?? -1 })),
  };
}
