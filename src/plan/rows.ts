import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim, IrFunction } from '../ir/types.ts';

/**
 * The row dims of a kernel (spec §8): the dims of the left operand of its projections other
 * than the contracted one, in the left operand's order. Empty when there is no projection.
 * Computed on the forward program (the backward's products would add the vocab dim).
 */
export function rowDimsOf(fn: IrFunction): Dim[] {
  const rows: Dim[] = [];
  for (const n of fn.nodes) {
    if (n.op !== 'dot') continue;
    const left = fn.nodes[n.inputs[0] ?? -1];
    for (const d of left?.dims ?? []) if (n.dims.includes(d) && !rows.includes(d)) rows.push(d);
  }
  return rows;
}

/**
 * Every projection of a kernel must run over all of its rows: the chunk loop walks one set
 * of rows. `sum(f(X @ W.T), N) + sum(g(Y @ W.T), M)` has two sets, [N] and [M]; it is
 * reported at the projection that lacks rows (P0302), with the workaround.
 */
export function checkOneRowSet(fn: IrFunction, rows: readonly Dim[]): void {
  const sets: { id: number; rows: Dim[] }[] = [];
  for (const n of fn.nodes) {
    if (n.op !== 'dot') continue;
    const left = fn.nodes[n.inputs[0] ?? -1];
    sets.push({ id: n.id, rows: (left?.dims ?? []).filter((d) => n.dims.includes(d)) });
  }
  const partial = sets.find((s) => rows.some((r) => !s.rows.includes(r)));
  const other = sets.find((s) => s !== partial && s.rows.some((r) => !partial?.rows.includes(r)));
  if (!partial) return;
  const label = (id: number) => fn.labels?.get(id);
  const span = fn.spans?.get(partial.id);
  const otherRows = other ? other.rows : rows.filter((r) => !partial.rows.includes(r));
  throw new UserError({
    severity: 'error',
    code: 'P0302',
    ...(span ? { span } : {}),
    message: `\`${fn.name}\` cannot be run chunked: this projection${label(partial.id) ? ` (\`${label(partial.id)}\`)` : ''} runs over the rows [${partial.rows.join(', ')}], another over [${otherRows.join(', ')}]`,
    notes: [
      `the rows of a kernel are the dims of its projections' left operands besides the contracted one, here [${rows.join(', ')}]; the chunk loop walks one set of rows, and every projection must have all of them`,
    ],
    help: [
      'write one kernel per set of rows and add their results, e.g. a kernel for the X rows and one for the Y rows',
    ],
  });
}
