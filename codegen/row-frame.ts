import type { Dim, IrFunction } from '../src/ir/types.ts';
import type { ChunkPlan } from '../src/plan/types.ts';
import { BindingSet } from './bindings.ts';
import { unflatten } from './coords.ts';
import { Scope, type EmitEnv } from './emit-values.ts';
import { uniformIndex, type ProgramLayout } from './layout.ts';

/** The emit environment of a per-row kernel that computes `nodes` itself. */
export function rowEnv(
  fn: IrFunction,
  plan: ChunkPlan,
  layout: ProgramLayout,
  nodes: readonly number[],
): EmitEnv {
  return {
    fn,
    plan,
    layout,
    bindings: new BindingSet(plan),
    local: new Set(nodes),
    helpers: new Set(),
  };
}

/**
 * What every per-row kernel (rows-only and tile row kernels) starts from: `U(pred)` reads a
 * word of the uniform block; `head` unflattens the row g = chunkStart + lr into the row dims'
 * coordinates; `row` is the scope the row's values are emitted in, whose lines `flush` moves
 * to `body`; `shared` collects workgroup declarations.
 */
export function rowFrame(env: EmitEnv, layout: ProgramLayout, rows: readonly Dim[]) {
  const U = (pred: Parameters<typeof uniformIndex>[1]) => `uw(${uniformIndex(layout, pred)}u)`;
  const head: string[] = [];
  const coords = new Map<Dim, string>();
  for (const c of unflatten('g', rows, (d) => U((w) => w.kind === 'dim' && w.dim === d), 'c_')) {
    head.push(c.line);
    coords.set(c.dim, c.name);
  }
  const row = new Scope(env, coords, undefined, 'lr');
  const body: string[] = [];
  const shared: string[] = [];
  const flush = () => {
    body.push(...row.lines);
    row.lines.length = 0;
  };
  return { U, head, row, body, shared, flush };
}
