import type { IrFunction } from '../ir/types.ts';
import type { DraftBuffer, ValueClass } from './types.ts';

/**
 * Results that are a sum of carried products, `grad.W = dzₙᵀ·X + dzₘᵀ·Y` (a weight read by
 * two row sets, or twice by one): both products accumulate into one buffer, which is the
 * result, instead of two accumulators added by the epilogue. Since dW += dzᵀ·Xc only ever
 * adds to its accumulator, the shared buffer ends holding the sum (in the order the chunks
 * ran). Maps each such result node to its products, the first holding the buffer. Only
 * results read by nothing else qualify (a reader would add the shared buffer to itself).
 */
export function sharedAccumulators(
  fn: IrFunction,
  cls: ReadonlyMap<number, ValueClass>,
): Map<number, readonly number[]> {
  const users = new Map<number, number>();
  for (const n of fn.nodes) for (const i of n.inputs) users.set(i, (users.get(i) ?? 0) + 1);
  const results = new Map<number, number>();
  for (const r of fn.results) results.set(r.node, (results.get(r.node) ?? 0) + 1);
  const out = new Map<number, readonly number[]>();
  for (const r of fn.results) {
    const p = fn.nodes[r.node];
    if (!p || p.op !== 'add' || users.has(p.id) || results.get(p.id) !== 1) continue;
    const parts = p.inputs.map((i) => fn.nodes[i]);
    const ok = parts.every(
      (x) =>
        x !== undefined &&
        x.op === 'dot' &&
        cls.get(x.id) === 'carried' &&
        x.dims.join() === p.dims.join() &&
        users.get(x.id) === 1 &&
        !results.has(x.id),
    );
    if (ok && new Set(p.inputs).size === p.inputs.length) out.set(p.id, p.inputs);
  }
  return out;
}

/**
 * The buffers of shared accumulators: the first product's accumulator becomes the result's
 * buffer, the others reuse its storage (their products accumulate into it).
 */
export function shareAccumulatorBuffers(
  fn: IrFunction,
  buffers: readonly DraftBuffer[],
  shared: ReadonlyMap<number, readonly number[]>,
): DraftBuffer[] {
  const resultOf = new Map(fn.results.map((r) => [r.node, r.name]));
  const role = new Map<string, Partial<DraftBuffer>>();
  for (const [p, [first, ...rest]] of shared) {
    const name = resultOf.get(p);
    if (first === undefined || name === undefined) continue;
    role.set(`acc.%${first}`, { role: 'result', result: name });
    for (const o of rest) role.set(`acc.%${o}`, { aliasOf: `acc.%${first}` });
  }
  return buffers.map((b) => ({ ...b, ...role.get(b.name) }));
}
