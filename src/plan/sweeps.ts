import { InternalError, UserError } from '../diagnostics/diagnostic.ts';
import type { IrFunction } from '../ir/types.ts';
import type { ValueClass } from './types.ts';

export interface SweepAssignment {
  /** How many sweeps over the chunks. */
  readonly count: number;
  /** The sweep in which each carried value is accumulated. */
  readonly carried: Map<number, number>;
  /** The sweeps in which each row value is (re)computed. */
  readonly rows: Map<number, Set<number>>;
  /**
   * When each post value is first needed: a sweep index, or `count` for the end. A
   * materialized post value is computed before that sweep, after its inputs complete.
   */
  readonly postNeed: Map<number, number>;
}

/**
 * Decides how many sweeps over the row chunks a graph needs and what each computes.
 *
 * A row value can run in a sweep only once every carried value it reads (directly or
 * through post values) was completed by an earlier sweep; the number of sweeps is one more
 * than the longest chain carried → row → carried. Carried values are then placed as LATE as
 * their consumers allow, so that, e.g., cross-entropy's loss sum is accumulated in the same
 * sweep as the gradient, and only the count of kept rows (which needs no projection) runs
 * in a sweep of its own before it.
 */
export function assignSweeps(
  fn: IrFunction,
  cls: ReadonlyMap<number, ValueClass>,
  forced: ReadonlyMap<number, number> = new Map(),
): SweepAssignment {
  for (const id of forced.keys())
    if (cls.get(id) !== 'carried')
      throw badOverride(`%${id} is not a carried value (one accumulated over the chunks)`);
  const n = fn.nodes.length;
  // ASAP: the first sweep in which a value is available to row work.
  const avail = new Array<number>(n).fill(0);
  const earliest = new Map<number, number>();
  for (const node of fn.nodes) {
    const c = cls.get(node.id);
    const inAvail = Math.max(0, ...node.inputs.map((i) => avail[i] ?? 0));
    if (c === 'carried') {
      earliest.set(node.id, inAvail);
      avail[node.id] = inAvail + 1;
    } else avail[node.id] = inAvail;
  }
  const results = new Set(fn.results.map((r) => r.node));
  let count = 0;
  for (const [id, e] of earliest) count = Math.max(count, e + 1);
  for (const id of results)
    if (cls.get(id) === 'row') count = Math.max(count, (avail[id] ?? 0) + 1);

  // Consumers of each node.
  const users: number[][] = fn.nodes.map(() => []);
  for (const node of fn.nodes) for (const i of node.inputs) users[i]?.push(node.id);

  // ALAP, consumers first.
  const rows = new Map<number, Set<number>>();
  const carried = new Map<number, number>();
  const postNeed = new Map<number, number>();
  const needOf = (u: number): number => {
    const c = cls.get(u);
    if (c === 'row') return Math.min(...(rows.get(u) ?? new Set([count])));
    if (c === 'carried') return carried.get(u) ?? count;
    if (c === 'post') return postNeed.get(u) ?? count;
    return count;
  };
  for (let id = n - 1; id >= 0; id--) {
    const c = cls.get(id);
    const us = users[id] ?? [];
    if (c === 'row') {
      const set = new Set<number>();
      if (results.has(id)) set.add(count - 1);
      for (const u of us) {
        const uc = cls.get(u);
        if (uc === 'row') for (const s of rows.get(u) ?? []) set.add(s);
        else if (uc === 'carried') set.add(carried.get(u) ?? count - 1);
      }
      rows.set(id, set);
    } else if (c === 'carried') {
      let s = results.has(id) ? count - 1 : count - 1;
      for (const u of us) s = Math.min(s, needOf(u) - 1);
      if (s < (earliest.get(id) ?? 0))
        throw new InternalError(`carried %${id} scheduled in sweep ${s} before its inputs`);
      // An override may move it earlier (never later than its consumers allow, never before
      // its inputs are complete): the same values, computed in another sweep.
      const f = forced.get(id);
      if (f !== undefined) {
        const lo = earliest.get(id) ?? 0;
        if (!Number.isSafeInteger(f) || f < lo || f > s)
          throw badOverride(
            `%${id} can be accumulated in sweeps ${lo}${s > lo ? ` to ${s}` : ''} only, not ${f}`,
          );
        s = f;
      }
      carried.set(id, s);
    } else if (c === 'post') {
      let need = results.has(id) ? count : count;
      for (const u of us) need = Math.min(need, needOf(u));
      postNeed.set(id, need);
    }
  }
  return { count, carried, rows, postNeed };
}

function badOverride(message: string): UserError {
  return new UserError({
    severity: 'error',
    code: 'P0405',
    message: `schedule override: ${message}`,
  });
}
