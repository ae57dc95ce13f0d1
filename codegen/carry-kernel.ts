import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../src/ir/types.ts';
import type { ChunkPlan } from '../src/plan/types.ts';
import { BindingSet } from './bindings.ts';
import { LSE_HELPERS, Scope, type EmitEnv } from './emit-values.ts';
import { GRID_X, type KernelModule } from './kernel-module.ts';
import { unflatten } from './coords.ts';
import { uniformIndex, type ProgramLayout } from './layout.ts';
import { reduction, treeReduce } from './reduce-wgsl.ts';
import { WGSL_HELPERS } from './wgsl-helpers.ts';
import { fromWord, toWord, wgslType } from './wgsl-values.ts';

/**
 * Folds one chunk's per-row values of a carried reduction into its accumulator. The
 * accumulator keeps the leading row dims (none for a full reduction; [B] for a sum over T
 * of rows [B, T]); `inner` consecutive rows share an entry, and one workgroup folds the
 * chunk's rows of one entry, in a fixed order (results do not depend on timing).
 */
export function carryKernel(
  fn: IrFunction,
  plan: ChunkPlan,
  layout: ProgramLayout,
  id: number,
  name: string,
  wg: number,
): KernelModule {
  const n = fn.nodes[id] as Node;
  const rows = plan.rows;
  if (n.dims.some((d) => !rows.includes(d)))
    return columnCarryKernel(fn, plan, layout, id, name, wg);
  const kept = rows.filter((d) => n.dims.includes(d));
  if (n.dims.join() !== kept.join())
    throw new InternalError(`carried %${id} keeps dims out of row order`);
  const reduced = rows.slice(kept.length);
  const bindings = new BindingSet(plan);
  const env: EmitEnv = { fn, plan, layout, bindings, local: new Set() };
  const U = (pred: Parameters<typeof uniformIndex>[1]) => `uw(${uniformIndex(layout, pred)}u)`;
  const size = (d: Dim) => U((w) => w.kind === 'dim' && w.dim === d);
  const inner = reduced.map(size).join(' * ') || '1u';
  const coords = new Map<Dim, string>();
  const head: string[] = [];
  for (const c of unflatten('g', rows, size, 'c_')) {
    head.push(c.line);
    coords.set(c.dim, c.name);
  }
  const scope = new Scope(env, coords, undefined, 'lr');
  const x = scope.value(n.inputs[0] ?? -1);
  const r = reduction(n.op, wgslType(n.dtype));
  const acc = plan.buffers.find(
    (b) => b.node === id && b.role === 'accumulator' && b.home === 'arena',
  );
  if (!acc) throw new InternalError(`carried %${id} has no arena accumulator`);
  const slot = U((w) => w.kind === 'slot' && w.buffer === acc.name);
  const arena = bindings.use('arena', 'read_write', 'u32');
  const numel = kept.map(size).join(' * ') || '1u';
  const isLse = n.op === 'logsumexp';
  const old = isLse
    ? `vec2<f32>(bitcast<f32>(${arena}[${slot} + k]), bitcast<f32>(${arena}[${slot} + ${numel} + k]))`
    : fromWord(`${arena}[${slot} + k]`, n.dtype);
  const merged = r.merge(old, `red[0]`);
  const write = isLse
    ? [
        `let m = ${merged};`,
        `${arena}[${slot} + k] = bitcast<u32>(m.x);`,
        `${arena}[${slot} + ${numel} + k] = bitcast<u32>(m.y);`,
      ]
    : [`${arena}[${slot} + k] = ${toWord(merged, n.dtype)};`];
  const cs = U((w) => w.kind === 'chunkStart');
  const cr = U((w) => w.kind === 'chunkRows');
  const code = [
    WGSL_HELPERS,
    LSE_HELPERS,
    bindings.declarations(Math.ceil(layout.uniform.length / 4)),
    `var<workgroup> red: array<${r.type}, ${wg}>;`,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    `  let inner = ${inner};`,
    `  let k = ${cs} / inner + wid.y * ${GRID_X}u + wid.x;`,
    `  let g0 = max(${cs}, k * inner);`,
    `  let g1 = min(${cs} + ${cr}, (k + 1u) * inner);`,
    '  if (g0 >= g1) { return; }',
    `  var a = ${r.init};`,
    `  for (var g = g0 + lid; g < g1; g = g + ${wg}u) {`,
    `    let lr = g - ${cs};`,
    ...head.map((l) => `    ${l}`),
    ...scope.lines.map((l) => `    ${l}`),
    `    a = ${r.push('a', x)};`,
    '  }',
    ...treeReduce('red', 'a', r, wg).map((l) => `  ${l}`),
    '  if (lid == 0u) {',
    ...write.map((l) => `    ${l}`),
    '  }',
    '}',
    '',
  ].join('\n');
  return {
    name,
    code,
    workgroupSize: wg,
    bindings: bindings.specs(),
    dispatch: { kind: 'kept', inner: { dims: reduced } },
  };
}

/**
 * Folds one chunk's rows of a per-row vector into a vector accumulator (Σ over rows of
 * dz[r, v] for the gradient of a bias): one thread per element v, looping over the chunk's
 * rows in order.
 */
function columnCarryKernel(
  fn: IrFunction,
  plan: ChunkPlan,
  layout: ProgramLayout,
  id: number,
  name: string,
  wg: number,
): KernelModule {
  const n = fn.nodes[id] as Node;
  const rows = plan.rows;
  const inner = n.dims.filter((d) => !rows.includes(d));
  if (inner.length !== 1 || n.dims.length !== 1)
    throw new InternalError(`column carry %${id} must keep exactly one non-row dim`);
  const d = inner[0] ?? '';
  const bindings = new BindingSet(plan);
  const env: EmitEnv = { fn, plan, layout, bindings, local: new Set() };
  const U = (pred: Parameters<typeof uniformIndex>[1]) => `uw(${uniformIndex(layout, pred)}u)`;
  const size = (x: Dim) => U((w) => w.kind === 'dim' && w.dim === x);
  const coords = new Map<Dim, string>([[d, 'v']]);
  const head: string[] = [];
  for (const c of unflatten('g', rows, size, 'c_')) {
    head.push(c.line);
    coords.set(c.dim, c.name);
  }
  const scope = new Scope(env, coords, undefined, 'lr');
  const x = scope.value(n.inputs[0] ?? -1);
  const r = reduction(n.op, wgslType(n.dtype));
  const acc = plan.buffers.find(
    (b) => b.node === id && b.role === 'accumulator' && b.home === 'arena',
  );
  if (!acc) throw new InternalError(`carried %${id} has no arena accumulator`);
  const slot = U((w) => w.kind === 'slot' && w.buffer === acc.name);
  const arena = bindings.use('arena', 'read_write', 'u32');
  const isLse = n.op === 'logsumexp';
  const old = isLse
    ? `vec2<f32>(bitcast<f32>(${arena}[${slot} + v]), bitcast<f32>(${arena}[${slot} + ${size(d)} + v]))`
    : fromWord(`${arena}[${slot} + v]`, n.dtype);
  const write = isLse
    ? [
        `${arena}[${slot} + v] = bitcast<u32>(a.x);`,
        `${arena}[${slot} + ${size(d)} + v] = bitcast<u32>(a.y);`,
      ]
    : [`${arena}[${slot} + v] = ${toWord('a', n.dtype)};`];
  const cs = U((w) => w.kind === 'chunkStart');
  // One workgroup per element v: its threads stride over the chunk's rows and meet in a
  // tree, in a fixed order (no thread loops over every row: llvmpipe stops a thread's loops
  // after 65,535 iterations in all).
  const code = [
    WGSL_HELPERS,
    LSE_HELPERS,
    bindings.declarations(Math.ceil(layout.uniform.length / 4)),
    `var<workgroup> red: array<${r.type}, ${wg}>;`,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    `  let v = wid.y * ${GRID_X}u + wid.x;`,
    `  if (v >= ${size(d)}) { return; }`,
    `  var a = ${r.init};`,
    `  for (var lr = lid; lr < ${U((w) => w.kind === 'chunkRows')}; lr = lr + ${wg}u) {`,
    `    let g = ${cs} + lr;`,
    ...head.map((l) => `    ${l}`),
    ...scope.lines.map((l) => `    ${l}`),
    `    a = ${r.push('a', x)};`,
    '  }',
    ...treeReduce('red', 'a', r, wg).map((l) => `  ${l}`),
    '  if (lid == 0u) {',
    `    let a = ${r.merge(old, 'red[0]')};`,
    ...write.map((l) => `    ${l}`),
    '  }',
    '}',
    '',
  ].join('\n');
  return {
    name,
    code,
    workgroupSize: wg,
    bindings: bindings.specs(),
    dispatch: { kind: 'groups', count: { dims: [d] } },
  };
}
