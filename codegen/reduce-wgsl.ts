import type { DType } from '../src/ir/types.ts';
import type { Monoid, WgslHelper } from '../src/ops/record.ts';
import { literal, wgslType } from './wgsl-values.ts';

/** A reduction's monoid rendered for one value type: state type, identity, fold, merge, result. */
export interface ReductionWgsl {
  readonly type: string;
  readonly init: string;
  readonly width: number;
  push(acc: string, x: string): string;
  merge(a: string, b: string): string;
  finish(acc: string): string;
  readonly helpers: readonly WgslHelper[];
}

/** The WGSL state of a monoid: the value itself, or `vec2<f32>` for a pair. */
export function stateType(m: Monoid, d: DType): string {
  return m.width === 1 ? wgslType(d) : `vec${m.width}<f32>`;
}

/** The WGSL of a reduction with monoid `m` whose result has dtype `d`. */
export function reduction(m: Monoid, d: DType): ReductionWgsl {
  const t = wgslType(d);
  const id = m.identity(d).map((v) => literal(v, m.width === 1 ? d : 'f32'));
  return {
    type: stateType(m, d),
    init: m.width === 1 ? (id[0] ?? '') : `vec${m.width}<f32>(${id.join(', ')})`,
    width: m.width,
    push: (a, x) => m.push(a, x, t),
    merge: (a, b) => m.merge(a, b, t),
    finish: (a) => m.finish(a, t),
    helpers: m.helpers,
  };
}

/** Component `k` of a state (lanes of a vector state). */
export function component(r: ReductionWgsl, acc: string, k: number): string {
  return r.width === 1 ? acc : `${acc}.${'xyzw'[k] ?? 'x'}`;
}

/** A state from its components. */
export function fromComponents(r: ReductionWgsl, parts: readonly string[]): string {
  return r.width === 1 ? (parts[0] ?? '') : `${r.type}(${parts.join(', ')})`;
}

/** A workgroup tree reduction of each thread's `acc` into `shared[0]` (wg a power of two). */
export function treeReduce(shared: string, acc: string, r: ReductionWgsl, wg: number): string[] {
  return [
    `${shared}[lid] = ${acc};`,
    'workgroupBarrier();',
    `for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {`,
    `  if (lid < s) { ${shared}[lid] = ${r.merge(`${shared}[lid]`, `${shared}[lid + s]`)}; }`,
    '  workgroupBarrier();',
    '}',
  ];
}
