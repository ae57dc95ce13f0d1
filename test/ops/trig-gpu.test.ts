// cos and sin in the fused row kernels: WebGPU against the float64 interpreter, forward and
// gradients, on per-logit values (so the WGSL of both records and of their VJPs runs).
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import {
  apiInputs,
  expectRunClose,
  kernelsOf,
  oracle,
  testInputs,
} from '../runtime/gpu-helpers.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.create();
});
afterAll(() => rt?.release());

describe('cos and sin on WebGPU', () => {
  it('match the interpreter, forward and gradients, in chunks', async () => {
    const [k] = kernelsOf(
      'trig.proj',
      `kernel trig(X: f32[N, H], W: f32[V, H], phase: f32 = 0.3) -> f32 {
  z = X @ W.T
  return sum(logsumexp(3 * cos(z + phase) - sin(2 * z), V), N) / size(N) + cos(phase) * sin(phase)
}
`,
    );
    if (!k) throw new Error('no kernel');
    const sizes = new Map([
      ['N', 11],
      ['H', 7],
      ['V', 67],
    ]);
    const inputs = testInputs(k, sizes, 3);
    const ref = oracle(k, inputs, sizes, ['X', 'W']);
    for (const chunkRows of [4, 11]) {
      const got = await rt.run(k, apiInputs(inputs), { grad: ['X', 'W'], chunkRows });
      expectRunClose(got, ref, `chunks of ${chunkRows}`, { label: 'f32' });
    }
  });
});
