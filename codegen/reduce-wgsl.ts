import { InternalError } from '../src/diagnostics/diagnostic.ts';

/** How one reduction accumulates in WGSL: its state type, identity, fold, merge and result. */
export interface ReductionWgsl {
  readonly type: string;
  readonly init: string;
  push(acc: string, x: string): string;
  merge(a: string, b: string): string;
  finish(acc: string): string;
}

/**
 * sum, max, min and logsumexp. max/min propagate NaN (PyTorch's amax); logsumexp keeps an
 * online (max, Σ e^(x − max)) pair, so one pass suffices and logits of any magnitude are safe.
 */
export function reduction(op: string, t: 'f32' | 'i32' | 'bool'): ReductionWgsl {
  const isF = t === 'f32';
  switch (op) {
    case 'sum':
      return {
        type: t,
        init: isF ? '0.0' : '0i',
        push: (a, x) => `${a} + ${x}`,
        merge: (a, b) => `${a} + ${b}`,
        finish: (a) => a,
      };
    case 'max':
      return isF
        ? {
            type: t,
            init: '(-inf_())',
            push: (a, x) => `maximum_(${a}, ${x})`,
            merge: (a, b) => `maximum_(${a}, ${b})`,
            finish: (a) => a,
          }
        : {
            type: t,
            init: '(-2147483647i - 1i)',
            push: (a, x) => `max(${a}, ${x})`,
            merge: (a, b) => `max(${a}, ${b})`,
            finish: (a) => a,
          };
    case 'min':
      return isF
        ? {
            type: t,
            init: 'inf_()',
            push: (a, x) => `minimum_(${a}, ${x})`,
            merge: (a, b) => `minimum_(${a}, ${b})`,
            finish: (a) => a,
          }
        : {
            type: t,
            init: '2147483647i',
            push: (a, x) => `min(${a}, ${x})`,
            merge: (a, b) => `min(${a}, ${b})`,
            finish: (a) => a,
          };
    case 'logsumexp':
      return {
        type: 'vec2<f32>',
        init: 'vec2<f32>(-inf_(), 0.0)',
        push: (a, x) => `lse_push_(${a}, ${x})`,
        merge: (a, b) => `lse_merge_(${a}, ${b})`,
        finish: (a) => `lse_finish_(${a}.x, ${a}.y)`,
      };
    default:
      throw new InternalError(`no WGSL reduction for ${op}`);
  }
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
