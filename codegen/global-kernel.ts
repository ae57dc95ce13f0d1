import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../src/ir/types.ts';
import type { ChunkPlan, PlanBuffer } from '../src/plan/types.ts';
import { BindingSet } from './bindings.ts';
import { Scope, type EmitEnv } from './emit-values.ts';
import { GRID_X, type KernelModule } from './kernel-module.ts';
import { unflatten } from './coords.ts';
import { uniformIndex, type ProgramLayout } from './layout.ts';
import { reduction, treeReduce } from './reduce-wgsl.ts';
import { helperSource } from './wgsl-helpers.ts';
import { monoidOf } from '../src/ops/registry.ts';

/**
 * One thread per element of a value without rows, written to `dest`: the epilogue's results
 * (loss = Σ/count...) and reductions of values without rows (Σ over B of a per-sequence
 * mean), which loop over their reduced dims. Everything they read is complete already.
 */
export function globalKernel(
  fn: IrFunction,
  plan: ChunkPlan,
  layout: ProgramLayout,
  id: number,
  dest: PlanBuffer,
  name: string,
  wg: number,
): KernelModule {
  const n = fn.nodes[id] as Node;
  const bindings = new BindingSet(plan);
  // A value stored elsewhere (an accumulator that is a result) is read, not recomputed.
  const stored = plan.buffers.some(
    (b) => b.node === id && b !== dest && b.role !== 'result' && b.role !== 'input',
  );
  const env: EmitEnv = {
    fn,
    plan,
    layout,
    bindings,
    local: new Set(stored ? [] : [id]),
    helpers: new Set(),
  };
  const U = (pred: Parameters<typeof uniformIndex>[1]) => `uw(${uniformIndex(layout, pred)}u)`;
  const size = (d: Dim) => U((w) => w.kind === 'dim' && w.dim === d);
  const unflat = (flat: string, dims: readonly Dim[], prefix: string) =>
    unflatten(flat, dims, size, prefix).map((c) => ({ d: c.dim, line: c.line }));
  const out = unflat('e', dest.dims, 'o_');
  const scope = new Scope(env, new Map(out.map(({ d }) => [d, `o_${d}`])));
  const body: string[] = out.map((o) => o.line);
  let value: string;
  const count = dest.dims.map(size).join(' * ') || '1u';
  const monoid = stored ? undefined : monoidOf(n.op);
  const r = monoid && reduction(monoid, n.dtype);
  const reduce = r !== undefined;
  if (r) {
    for (const h of r.helpers) env.helpers.add(h);
    // One workgroup per output element; its threads stride over the reduced elements and
    // meet in a tree (no thread loops over them all: llvmpipe stops a thread's loops after
    // 65,535 iterations in all).
    const axes = n.attrs.axes ?? [];
    const red = unflat('j', axes, 'j_');
    const loop = scope.child(new Map(red.map(({ d }) => [d, `j_${d}`])));
    const x = loop.value(n.inputs[0] ?? -1);
    body.push(
      `var a = ${r.init};`,
      `for (var j = lid; j < ${axes.map(size).join(' * ') || '1u'}; j = j + ${wg}u) {`,
      ...red.map((x2) => `  ${x2.line}`),
      ...loop.lines.map((l) => `  ${l}`),
      `  a = ${r.push('a', x)};`,
      '}',
      ...treeReduce('red', 'a', r, wg),
      'if (lid == 0u) {',
      `  ${scope.store(dest, r.finish('red[0]'))}`,
      '}',
    );
  } else {
    if (n.op === 'dot')
      throw new InternalError(`%${id}: a product of values without rows is not supported`);
    const value = scope.value(id);
    body.push(...scope.lines, scope.store(dest, value));
    scope.lines.length = 0;
  }
  const code = [
    helperSource(env.helpers),
    bindings.declarations(Math.ceil(layout.uniform.length / 4)),
    ...(r ? [`var<workgroup> red: array<${r.type}, ${wg}>;`] : []),
    `@compute @workgroup_size(${wg})`,
    reduce
      ? 'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {'
      : 'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    reduce ? `  let e = wid.y * ${GRID_X}u + wid.x;` : `  let e = gid.y * ${GRID_X * wg}u + gid.x;`,
    `  if (e >= ${count}) { return; }`,
    ...body.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
  return {
    name,
    code,
    workgroupSize: wg,
    bindings: bindings.specs(),
    dispatch: { kind: reduce ? 'groups' : 'elements', count: { dims: dest.dims } },
  };
}
