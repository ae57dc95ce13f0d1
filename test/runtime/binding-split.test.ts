// A weight (and an accumulator) larger than the storage-binding limit: the products are
// split along the vocabulary and the results still match the interpreter.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProgram } from '../../codegen/program.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { execute } from '../../src/runtime/execute.ts';

let dev: AcquiredDevice;
beforeAll(async () => {
  dev = await acquireDevice();
});
afterAll(() => dev.release());

describe('weights past the binding limit', () => {
  it('splits z = X·Wᵀ, dX = dz·W and dW += dzᵀ·X along the vocabulary', async () => {
    const k = compileFile({
      path: 'ce',
      text: readFileSync('examples/cross_entropy.proj', 'utf8'),
    }).kernels.get('cross_entropy')!;
    const dims = new Map([
      ['N', 20],
      ['H', 16],
      ['V', 300],
    ]);
    const inputs = randomInputs(k, dims, 3);
    const { fn, plan } = planKernel({ kernel: k, grad: ['X', 'W'] });
    // W is 300·16 bf16 = 9.6 KB and dW 19.2 KB, both past a 4 KiB binding limit.
    const limit = 4096;
    const res = await execute(dev, generateProgram(fn, plan), inputs, dims, {
      chunkRows: 6,
      maxStorageBufferBindingSize: limit,
    });
    const cpu = runCpu({ fn: k, inputs, sizes: dims, grad: ['X', 'W'], cotangents: new Map() });
    for (const [name, t] of res.values) {
      const want = name.startsWith('grad.') ? cpu.grads.get(name.slice(5)) : cpu.outputs.get(name);
      let diff = 0;
      let scale = 0;
      t.data.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - (want?.data[i] ?? NaN)));
        scale = Math.max(scale, Math.abs(want?.data[i] ?? 0));
      });
      expect(diff / scale, name).toBeLessThan(1e-5);
    }
  });
});
