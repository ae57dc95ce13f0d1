// A caller may force schedule choices (Halide style): validated, and results do not change.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProgram } from '../../codegen/program.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { planSummary } from '../../src/plan/print-plan.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { execute } from '../../src/runtime/execute.ts';

let dev: AcquiredDevice;
beforeAll(async () => {
  dev = await acquireDevice();
});
afterAll(() => dev.release());

const kernel = compileFile({
  path: 'ce',
  text: readFileSync('examples/cross_entropy.proj', 'utf8'),
}).kernels.get('cross_entropy')!;

/** The node id of the loss sum (the carried value of the last sweep that is not a product). */
function lossSum(): number {
  const { fn, plan } = planKernel({ kernel, grad: ['X', 'W'] });
  const last = plan.sweeps[plan.sweeps.length - 1]!;
  const id = last.carried.find((c) => fn.nodes[c]?.op === 'sum');
  if (id === undefined) throw new Error('no carried sum');
  return id;
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof UserError ? e.diagnostics[0]?.code : 'not a UserError';
  }
  return undefined;
}

describe('planKernel({ schedule })', () => {
  it('moves the loss sum into the first sweep; the results are the same', async () => {
    const id = lossSum();
    const base = planKernel({ kernel, grad: ['X', 'W'] });
    const forced = planKernel({
      kernel,
      grad: ['X', 'W'],
      schedule: { carriedIn: new Map([[id, 0]]) },
    });
    expect(base.plan.sweeps[0]?.carried).not.toContain(id);
    expect(forced.plan.sweeps[0]?.carried).toContain(id);
    // Sweep 0 now computes the logits to sum the loss: no longer a pre-pass.
    expect(planSummary(forced.fn, forced.plan)[0]).toMatch(/^sweep 0: .*X·W \[N, V\]/);
    const dims = new Map([
      ['N', 13],
      ['H', 8],
      ['V', 40],
    ]);
    const inputs = randomInputs(kernel, dims, 5);
    const run = (p: typeof base) =>
      execute(dev, generateProgram(p.fn, p.plan), inputs, dims, { chunkRows: 4 });
    const [a, b] = [await run(base), await run(forced)];
    for (const [name, t] of a.values) {
      const u = b.values.get(name);
      expect(u, name).toBeDefined();
      t.data.forEach((v, i) => expect(u?.data[i], `${name}[${i}]`).toBeCloseTo(v, 5));
    }
  });

  it('refuses an override that cannot hold (P0405)', () => {
    const id = lossSum();
    const plan = (carriedIn: Map<number, number>) => () =>
      planKernel({ kernel, grad: ['X', 'W'], schedule: { carriedIn } });
    expect(code(plan(new Map([[id, 2]])))).toBe('P0405');
    expect(code(plan(new Map([[id, -1]])))).toBe('P0405');
    // Not a carried value: the logits.
    expect(code(plan(new Map([[5, 0]])))).toBe('P0405');
  });
});
