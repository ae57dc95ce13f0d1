import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../ir/types.ts';
import { classify, hasAll, notChunkable } from './classify.ts';
import type { SweepAssignment } from './sweeps.ts';
import type { ValueClass } from './types.ts';

/**
 * The row sets of a kernel: for each projection, the dims of its left operand besides the
 * contracted one (spec §8), distinct, in the order of the first projection over each.
 * `sum(f(X @ W.T), N) + sum(g(Y @ W.T), M)` has two, [N] and [M]: each is walked by sweeps
 * of its own (its own chunk loop), and the two meet only through values without rows.
 */
export function rowSetsOf(fn: IrFunction): Dim[][] {
  const sets: Dim[][] = [];
  for (const n of fn.nodes) {
    if (n.op !== 'dot') continue;
    const left = fn.nodes[n.inputs[0] ?? -1];
    const set = (left?.dims ?? []).filter((d) => n.dims.includes(d));
    if (set.length && !sets.some((s) => s.join() === set.join())) sets.push(set);
  }
  return sets;
}

/**
 * Row sets must be disjoint: two projections whose rows overlap without being the same set
 * (`[B, T]` and `[B]`) cannot be walked as one chunk loop nor as two independent ones
 * (P0302 at the projection with fewer rows, with the workaround).
 */
export function checkRowSets(fn: IrFunction, sets: readonly (readonly Dim[])[]): void {
  for (const a of sets)
    for (const b of sets) {
      if (a === b || !a.some((d) => b.includes(d)) || a.length > b.length) continue;
      const partial = fn.nodes.find((n) => {
        if (n.op !== 'dot') return false;
        const left = fn.nodes[n.inputs[0] ?? -1];
        return (left?.dims ?? []).filter((d) => n.dims.includes(d)).join() === a.join();
      });
      const label = partial && fn.labels?.get(partial.id);
      const span = partial && fn.spans?.get(partial.id);
      throw new UserError({
        severity: 'error',
        code: 'P0302',
        ...(span ? { span } : {}),
        message: `\`${fn.name}\` cannot be run chunked: this projection${label ? ` (\`${label}\`)` : ''} runs over the rows [${a.join(', ')}], another over [${b.join(', ')}]`,
        notes: [
          'the rows of a projection are the dims of its left operand besides the contracted one; projections over disjoint sets of rows get sweeps of their own, but these two sets share a dim',
        ],
        help: [
          'write one kernel per set of rows and add their results, or declare both left operands over the same row dims',
        ],
      });
    }
}

/** The row set (index) whose every dim `dims` holds, if any. */
function setOf(dims: readonly Dim[], sets: readonly (readonly Dim[])[]): number | undefined {
  const k = sets.findIndex((s) => hasAll(dims, s));
  return k < 0 ? undefined : k;
}

/**
 * Classifies a graph over several disjoint row sets: each set classifies the graph as if it
 * were the only one (a value over another set's rows is then a value without rows), and a
 * node takes the class it has for its own set. A value over the rows of two sets at once
 * (`[N, M]`, e.g. `lse_N + lse_M` broadcast) would need both chunk loops at the same time:
 * P0302 at that value. With one set this is `classify`.
 */
export function classifyRowSets(
  fn: IrFunction,
  sets: readonly (readonly Dim[])[],
): Map<number, ValueClass> {
  if (sets.length <= 1) return classify(fn, sets[0] ?? []);
  const each = sets.map((s) => classify(fn, s));
  const out = new Map<number, ValueClass>();
  for (const n of fn.nodes) {
    const cs = each.map((m) => m.get(n.id));
    const busy = cs.flatMap((c, k) => (c === 'row' || c === 'carried' ? [k] : []));
    if (busy.length > 1) bothSets(fn, sets, n, busy);
    const own = busy[0];
    // A projection's weight computed from another set's reduction over rows is complete
    // only after that set's sweep, and products read their weight before the sweeps.
    if (n.op === 'dot' && own !== undefined && cs[own] === 'row') {
      const weight = n.inputs.find((i) => !hasAll(fn.nodes[i]?.dims ?? [], sets[own] ?? []));
      const wc = weight === undefined ? undefined : out.get(weight);
      if (wc !== undefined && wc !== 'input' && wc !== 'invariant')
        notChunkable(
          fn,
          sets[own] ?? [],
          n,
          "reads a weight computed from a reduction over rows; a projection's weight may be a parameter or computed from parameters only",
        );
    }
    out.set(
      n.id,
      own !== undefined
        ? (cs[own] ?? 'row')
        : cs.includes('input')
          ? 'input'
          : cs.includes('post')
            ? 'post'
            : 'invariant',
    );
  }
  return out;
}

function bothSets(
  fn: IrFunction,
  sets: readonly (readonly Dim[])[],
  n: Node,
  busy: readonly number[],
): never {
  const named = busy.map((k) => `[${(sets[k] ?? []).join(', ')}]`);
  return notChunkable(
    fn,
    sets.flat(),
    n,
    `needs the rows ${named.join(' and ')} at once; each set of rows is walked by a chunk loop of its own, so a value may hold the rows of one set only`,
    `reduce over one set of rows before combining it with the other (e.g. \`sum(.., ${sets[busy[0] ?? 0]?.[0] ?? 'N'})\` first: the sets may meet through values without rows)`,
    n.id,
    `the row sets are ${sets.map((s) => `[${s.join(', ')}]`).join(' and ')}: the dims of each projection's left operand besides the contracted one`,
  );
}

/**
 * Splits each sweep of an assignment into one sweep per row set that has work in it, in set
 * order: sweep s of set k reads only values completed before sweep s (by any set), so the
 * order of the sets within s does not matter. Returns the new assignment (post values needed
 * at sweep s are needed before the first of s's parts) and the row dims of each new sweep.
 */
export function splitByRowSet(
  fn: IrFunction,
  cls: ReadonlyMap<number, ValueClass>,
  a: SweepAssignment,
  sets: readonly (readonly Dim[])[],
): { assignment: SweepAssignment; rowDims: (readonly Dim[])[] } {
  if (sets.length <= 1)
    return { assignment: a, rowDims: Array.from({ length: a.count }, () => sets[0] ?? []) };
  const setOfId = (id: number): number => {
    const n = fn.nodes[id];
    if (!n) return 0;
    if (cls.get(id) === 'row') return setOf(n.dims, sets) ?? 0;
    for (const i of n.inputs) {
      const x = fn.nodes[i];
      const k = x && cls.get(i) === 'row' ? setOf(x.dims, sets) : undefined;
      if (k !== undefined) return k;
    }
    return 0;
  };
  const used = new Set<string>();
  for (const [id, ss] of a.rows) for (const s of ss) used.add(`${s}:${setOfId(id)}`);
  for (const [id, s] of a.carried) used.add(`${s}:${setOfId(id)}`);
  const index = new Map<string, number>();
  const first: number[] = [];
  const rowDims: (readonly Dim[])[] = [];
  for (let s = 0; s < a.count; s++) {
    first.push(rowDims.length);
    for (let k = 0; k < sets.length; k++)
      if (used.has(`${s}:${k}`)) {
        index.set(`${s}:${k}`, rowDims.length);
        rowDims.push(sets[k] ?? []);
      }
  }
  first.push(rowDims.length);
  const at = (s: number, id: number) => index.get(`${s}:${setOfId(id)}`) ?? 0;
  return {
    assignment: {
      count: rowDims.length,
      rows: new Map([...a.rows].map(([id, ss]) => [id, new Set([...ss].map((s) => at(s, id)))])),
      carried: new Map([...a.carried].map(([id, s]) => [id, at(s, id)])),
      postNeed: new Map([...a.postNeed].map(([id, s]) => [id, first[s] ?? rowDims.length])),
    },
    rowDims,
  };
}
