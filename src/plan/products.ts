import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../ir/types.ts';
import type { ChunkPlan, DraftBuffer, ProductRoles, Stage, ValueClass } from './types.ts';

export function productRoles(
  fn: IrFunction,
  cls: ReadonlyMap<number, ValueClass>,
  rows: readonly Dim[],
  id: number,
): ProductRoles {
  const n = fn.nodes[id] as Node;
  const [x, y] = n.inputs.map((i) => fn.nodes[i] as Node) as [Node, Node];
  const carried = cls.get(id) === 'carried';
  const contracted = [...new Set([...x.dims, ...y.dims])].filter((d) => !n.dims.includes(d));
  const m = carried ? [n.dims[0] ?? ''] : [...rows];
  const nd = carried ? [n.dims[1] ?? ''] : n.dims.filter((d) => !rows.includes(d));
  const k = carried ? [...rows] : contracted;
  const hasAll = (node: Node, dims: readonly Dim[]) => dims.every((d) => node.dims.includes(d));
  const xIsA = hasAll(x, m) && !(nd.length && hasAll(x, nd) && !hasAll(x, m));
  return { a: (xIsA ? x : y).id, b: (xIsA ? y : x).id, m, n: nd, k, accumulate: carried };
}

/** How a buffer lays its elements out: a chunk-scoped one rows first, any other in its dims' order. */
export function storageLayout(b: DraftBuffer, chunkScoped: boolean, rows: readonly Dim[]): Dim[] {
  const held = rows.filter((d) => b.dims.includes(d));
  return chunkScoped ? [...held, ...b.dims.filter((d) => !rows.includes(d))] : [...b.dims];
}

/**
 * P0302 when a product's operand or result holds one of its role's dim groups (the chunk's
 * rows, or the contracted dims) non-consecutively: the strided matmul takes one stride per role.
 */
export function checkProductLayout(
  fn: IrFunction,
  id: number,
  roles: ProductRoles,
  layoutOf: (node: number) => readonly Dim[],
): void {
  const check = (node: number, groups: readonly (readonly Dim[])[]) => {
    const layout = layoutOf(node);
    for (const dims of groups) {
      const first = layout.indexOf(dims[0] ?? '');
      if (dims.length && (first < 0 || dims.some((d, i) => layout[first + i] !== d)))
        throw new UserError({
          severity: 'error',
          code: 'P0302',
          message: `\`${fn.name}\` cannot be run chunked: the product %${id} reads dims [${dims.join(', ')}] that are not consecutive in [${layout.join(', ')}]`,
          help: ['declare the row dims first and in the same order in every parameter'],
        });
    }
  };
  check(roles.a, [roles.m, roles.k]);
  check(roles.b, [roles.n, roles.k]);
  check(id, [roles.m, roles.n]);
}

/**
 * The products of a plan's sweeps, in order, whose output holds no row dim: the
 * projections of the rows onto a weight (z = Xc·Wᵀ over V), not dX or the carried dW.
 */
export function rowProjections(
  plan: Pick<ChunkPlan, 'rows' | 'sweeps'>,
): Extract<Stage, { kind: 'matmul' }>[] {
  return plan.sweeps.flatMap((sw) =>
    sw.stages.flatMap((st) =>
      st.kind === 'matmul' && !st.roles.n.some((d) => plan.rows.includes(d)) ? [st] : [],
    ),
  );
}
