import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../src/ir/types.ts';
import type { ChunkPlan } from '../src/plan/types.ts';
import { BindingSet } from './bindings.ts';
import { unflatten } from './coords.ts';
import { Scope, type EmitEnv } from './emit-values.ts';
import { GRID_X, type KernelModule } from './kernel-module.ts';
import { uniformIndex, type ProgramLayout } from './layout.ts';
import {
  component,
  fromComponents,
  reduction,
  treeReduce,
  type ReductionWgsl,
} from './reduce-wgsl.ts';
import { helperSource } from './wgsl-helpers.ts';
import { fromWord, toWord } from './wgsl-values.ts';
import { accumulatorMonoid } from './layout.ts';

/**
 * What both carry kernels share: the row's coordinates from its global index `g`, the
 * carried value's operand at them, the reduction, and reads/writes of the accumulator in
 * the arena (logsumexp accumulators hold `numel` maxima, then `numel` sums).
 */
function carryParts(
  fn: IrFunction,
  plan: ChunkPlan,
  layout: ProgramLayout,
  id: number,
  coordsInit: ReadonlyMap<Dim, string>,
) {
  const n = fn.nodes[id] as Node;
  const bindings = new BindingSet(plan);
  const env: EmitEnv = { fn, plan, layout, bindings, local: new Set(), helpers: new Set() };
  const U = (pred: Parameters<typeof uniformIndex>[1]) => `uw(${uniformIndex(layout, pred)}u)`;
  const size = (d: Dim) => U((w) => w.kind === 'dim' && w.dim === d);
  const coords = new Map(coordsInit);
  const head: string[] = [];
  for (const c of unflatten('g', plan.rows, size, 'c_')) {
    head.push(c.line);
    coords.set(c.dim, c.name);
  }
  const scope = new Scope(env, coords, undefined, 'lr');
  const x = scope.value(n.inputs[0] ?? -1);
  const acc = plan.buffers.find(
    (b) => b.node === id && b.role === 'accumulator' && b.home === 'arena',
  );
  if (!acc) throw new InternalError(`carried %${id} has no arena accumulator`);
  const r: ReductionWgsl = reduction(accumulatorMonoid(fn, acc), n.dtype);
  for (const h of r.helpers) env.helpers.add(h);
  const slot = U((w) => w.kind === 'slot' && w.buffer === acc.name);
  const arena = bindings.use('arena', 'read_write', 'u32');
  /**
   * Entry `i` of an accumulator of `numel` entries: its state, and the stores of a new one.
   * A state of several components is kept in planes of `numel` f32 words (component k at
   * k·numel + i).
   */
  const entry = (i: string, numel: string) => {
    const at = (k: number) => `${arena}[${slot} + ${k === 0 ? '' : `${k}u * ${numel} + `}${i}]`;
    const planes = Array.from({ length: r.width }, (_, k) => k);
    return {
      old:
        r.width === 1
          ? fromWord(at(0), n.dtype)
          : fromComponents(
              r,
              planes.map((k) => `bitcast<f32>(${at(k)})`),
            ),
      write: (v: string): string[] =>
        r.width === 1
          ? [`${at(0)} = ${toWord(v, n.dtype)};`]
          : planes.map((k) => `${at(k)} = bitcast<u32>(${component(r, v, k)});`),
    };
  };
  const header = (wg: number) => [
    helperSource(env.helpers),
    bindings.declarations(Math.ceil(layout.uniform.length / 4)),
    `var<workgroup> red: array<${r.type}, ${wg}>;`,
    `@compute @workgroup_size(${wg})`,
  ];
  const fold = (wg: number, indent: string) => [
    ...head.map((l) => `${indent}${l}`),
    ...scope.lines.map((l) => `${indent}${l}`),
    `${indent}a = ${r.push('a', x)};`,
  ];
  /** The workgroup's tree, then thread 0 merges the result into the accumulator entry. */
  const finish = (wg: number, acc: ReturnType<typeof entry>) => [
    ...treeReduce('red', 'a', r, wg).map((l) => `  ${l}`),
    '  if (lid == 0u) {',
    `    let m = ${r.merge(acc.old, 'red[0]')};`,
    ...acc.write('m').map((l) => `    ${l}`),
    '  }',
    '}',
    '',
  ];
  return { n, bindings, U, size, r, entry, header, fold, finish };
}

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
  const p = carryParts(fn, plan, layout, id, new Map());
  const inner = reduced.map(p.size).join(' * ') || '1u';
  const acc = p.entry('k', kept.map(p.size).join(' * ') || '1u');
  const cs = p.U((w) => w.kind === 'chunkStart');
  const cr = p.U((w) => w.kind === 'chunkRows');
  const code = [
    ...p.header(wg),
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    `  let inner = ${inner};`,
    `  let k = ${cs} / inner + wid.y * ${GRID_X}u + wid.x;`,
    `  let g0 = max(${cs}, k * inner);`,
    `  let g1 = min(${cs} + ${cr}, (k + 1u) * inner);`,
    '  if (g0 >= g1) { return; }',
    `  var a = ${p.r.init};`,
    `  for (var g = g0 + lid; g < g1; g = g + ${wg}u) {`,
    `    let lr = g - ${cs};`,
    ...p.fold(wg, '    '),
    '  }',
    ...p.finish(wg, acc),
  ].join('\n');
  return {
    name,
    code,
    workgroupSize: wg,
    bindings: p.bindings.specs(),
    dispatch: { kind: 'kept', inner: { dims: reduced } },
  };
}

/**
 * Folds one chunk's rows of a per-row vector into a vector accumulator (Σ over rows of
 * dz[r, v] for the gradient of a bias). One workgroup per element v: its threads stride
 * over the chunk's rows and meet in a tree, in a fixed order (no thread loops over every
 * row: llvmpipe stops a thread's loops after 65,535 iterations in all).
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
  const inner = n.dims.filter((d) => !plan.rows.includes(d));
  if (inner.length !== 1 || n.dims.length !== 1)
    throw new InternalError(`column carry %${id} must keep exactly one non-row dim`);
  const d = inner[0] ?? '';
  const p = carryParts(fn, plan, layout, id, new Map([[d, 'v']]));
  const acc = p.entry('v', p.size(d));
  const cs = p.U((w) => w.kind === 'chunkStart');
  const code = [
    ...p.header(wg),
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    `  let v = wid.y * ${GRID_X}u + wid.x;`,
    `  if (v >= ${p.size(d)}) { return; }`,
    `  var a = ${p.r.init};`,
    `  for (var lr = lid; lr < ${p.U((w) => w.kind === 'chunkRows')}; lr = lr + ${wg}u) {`,
    `    let g = ${cs} + lr;`,
    ...p.fold(wg, '    '),
    '  }',
    ...p.finish(wg, acc),
  ].join('\n');
  return {
    name,
    code,
    workgroupSize: wg,
    bindings: p.bindings.specs(),
    dispatch: { kind: 'groups', count: { dims: [d] } },
  };
}
