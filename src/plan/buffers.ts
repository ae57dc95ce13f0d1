import type { IrFunction, Node } from '../ir/types.ts';
import { tieOperands } from './tie-operands.ts';
import type { DraftBuffer, Stage, Sweep, ValueClass } from './types.ts';

/**
 * Decides which values are materialized and where: what each row stage stores, the chunk
 * buffers (with dz reusing the logits' storage), arena slots and buffers of their own.
 */
export function assignBuffers(
  fn: IrFunction,
  cls: ReadonlyMap<number, ValueClass>,
  sweeps: readonly Sweep[],
  results: ReadonlySet<number>,
  rows: readonly string[],
): { buffers: DraftBuffer[]; sweeps: Sweep[] } {
  const users: number[][] = fn.nodes.map(() => []);
  for (const n of fn.nodes) for (const i of n.inputs) users[i]?.push(n.id);
  const node = (id: number) => fn.nodes[id] as Node;
  const resultName = new Map(fn.results.map((r) => [r.node, r.name]));
  const buffers = new Map<string, DraftBuffer>();
  const add = (b: DraftBuffer) => {
    if (!buffers.has(b.name)) buffers.set(b.name, b);
  };
  const rowsOf = (n: Node) => n.dims;

  // Inputs: products read them from buffers of their own, everything else from the arena.
  for (const p of fn.params) {
    if (p.node === undefined || p.dims.length === 0) continue;
    const us = users[p.node] ?? [];
    if (us.some((u) => node(u).op === 'dot'))
      add({
        name: `in.${p.name}`,
        home: 'own',
        node: p.node,
        dtype: p.dtype,
        dims: p.dims,
        role: 'input',
      });
    if (us.some((u) => node(u).op !== 'dot') || results.has(p.node))
      add({
        name: `arena.${p.name}`,
        home: 'arena',
        node: p.node,
        dtype: p.dtype,
        dims: p.dims,
        role: 'input',
      });
  }

  const ties = tieOperands(fn);
  const out: Sweep[] = [];
  for (const sw of sweeps) {
    const inSweep = new Set([...sw.rows, ...sw.carried]);
    const stageOf = new Map<number, number>();
    sw.stages.forEach((st, k) => {
      if (st.kind === 'row') for (const id of st.nodes) stageOf.set(id, k);
      else stageOf.set(st.node, k);
    });
    // A row result is written by the last sweep that computes it (with several row sets,
    // the last sweep of its set).
    const lastOf = (id: number) =>
      Math.max(...sweeps.filter((o) => o.rows.includes(id)).map((o) => o.index));
    const stages: Stage[] = sw.stages.map((st, k) => {
      if (st.kind !== 'row') return st;
      // A stage computing a tie operand stores what any stage of any sweep reads from it, so
      // that it is the same module in every sweep (tie-operands.ts).
      const tieStage = st.nodes.some((id) => ties.has(id));
      const stores = st.nodes.filter((id) => {
        if (results.has(id) && lastOf(id) === sw.index) return true;
        return (users[id] ?? []).some((u) => {
          if (tieStage && !st.nodes.includes(u))
            return cls.get(u) === 'row' || cls.get(u) === 'carried';
          if (!inSweep.has(u)) return false;
          return node(u).op === 'dot' || cls.get(u) === 'carried' || stageOf.get(u) !== k;
        });
      });
      return { ...st, stores };
    });
    out.push({ ...sw, stages });

    // Where the stored and computed values live.
    for (const st of stages) {
      if (st.kind === 'matmul') {
        const n = node(st.node);
        const name = resultName.get(n.id);
        if (cls.get(n.id) === 'carried')
          add({
            name: `acc.%${n.id}`,
            home: 'own',
            node: n.id,
            dtype: 'f32',
            dims: n.dims,
            role: name ? 'result' : 'accumulator',
            ...(name ? { result: name } : {}),
          });
        else if (name)
          add({
            name: `result.${name}`,
            home: 'own',
            node: n.id,
            dtype: 'f32',
            dims: n.dims,
            role: 'result',
            result: name,
          });
        else
          add({
            name: `chunk.%${n.id}`,
            home: 'chunk',
            node: n.id,
            dtype: 'f32',
            dims: n.dims,
            role: 'value',
          });
      } else if (st.kind === 'row') {
        for (const id of st.stores) {
          const n = node(id);
          const name = resultName.get(id);
          if (name && lastOf(id) === sw.index) {
            add({
              name: `result.${name}`,
              home: 'own',
              node: id,
              dtype: n.dtype,
              dims: rowsOf(n),
              role: 'result',
              result: name,
            });
            if (!(users[id] ?? []).some((u) => inSweep.has(u))) continue;
          }
          const vector = n.dims.some((d) => !rows.includes(d));
          const feedsCarry = (users[id] ?? []).some(
            (u) => cls.get(u) === 'carried' && node(u).op !== 'dot',
          );
          add({
            name: vector ? `chunk.%${id}` : `arena.%${id}`,
            home: vector ? 'chunk' : 'arena',
            node: id,
            dtype: n.dtype,
            dims: n.dims,
            role: feedsCarry && !vector ? 'partial' : 'value',
          });
        }
      } else {
        const n = node(st.node);
        const name = resultName.get(n.id);
        add({
          name: `acc.%${n.id}`,
          home: 'arena',
          node: n.id,
          dtype: n.dtype,
          dims: n.dims,
          role: 'accumulator',
          ...(name ? { result: name } : {}),
        });
      }
    }
  }
  aliasChunks(fn, out, buffers, users);
  return { buffers: [...buffers.values()], sweeps: out };
}

/**
 * Lets a chunk buffer written by a row stage take over the storage of a chunk buffer of the
 * same dims that nothing reads after that stage (dz overwrites the logits z in place: the
 * row kernel reads z[r, v] and writes dz[r, v] at the same element, after its reductions).
 */
function aliasChunks(
  fn: IrFunction,
  sweeps: readonly Sweep[],
  buffers: Map<string, DraftBuffer>,
  users: number[][],
): void {
  for (const sw of sweeps) {
    sw.stages.forEach((st) => {
      if (st.kind !== 'row') return;
      for (const id of st.stores) {
        const b = buffers.get(`chunk.%${id}`);
        if (!b || b.aliasOf) continue;
        const n = fn.nodes[id];
        for (const src of st.nodes.flatMap((x) => fn.nodes[x]?.inputs ?? [])) {
          const sb = buffers.get(`chunk.%${src}`);
          // Same dims and dtype: a bool chunk buffer is u32 words, an f32 one f32.
          if (!sb || sb.aliasOf || sb.dims.join() !== n?.dims.join() || sb.dtype !== b.dtype)
            continue;
          // In every sweep that stores id, every reader of src must be in that stage or earlier.
          const laterReader = sweeps.some((sw2) => {
            const at = sw2.stages.findIndex((s2) => s2.kind === 'row' && s2.stores.includes(id));
            return (
              at >= 0 &&
              (users[src] ?? []).some((u) =>
                sw2.stages.some(
                  (s2, k2) => k2 > at && (s2.kind === 'row' ? s2.nodes.includes(u) : s2.node === u),
                ),
              )
            );
          });
          const taken = [...buffers.values()].some((o) => o.aliasOf === sb.name);
          if (laterReader || taken) continue;
          buffers.set(b.name, { ...b, aliasOf: sb.name });
          break;
        }
      }
    });
  }
}
