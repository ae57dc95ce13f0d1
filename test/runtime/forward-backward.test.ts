// Runtime.forward then Runtime.backward (checkpointing: the backward recomputes each
// chunk's logits from the saved inputs) gives what Runtime.run gives in one go, and what
// the interpreter gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import {
  apiInputs,
  exampleKernels,
  expectClose,
  expectRunClose,
  floatTensorParams,
  oracle,
  randomCotangents,
  sizesFor,
  testInputs,
} from './gpu-helpers.ts';

let rt: Runtime;

beforeAll(async () => {
  rt = await Runtime.create();
});

afterAll(() => rt?.release());

describe('token_entropy: results logp, ent [B, T] with tensor cotangents', () => {
  const kernel = exampleKernels('token_entropy.proj')[0]!;
  const sizes = sizesFor(kernel, { B: 3, T: 7, H: 20, V: 75 });
  const inputs = testInputs(kernel, sizes, 7);
  const api = apiInputs(inputs);
  const grad = floatTensorParams(kernel);
  const cot = randomCotangents(kernel, sizes, 8);

  it('has tensor cotangents for both results', () => {
    expect(kernel.results.map((r) => r.name)).toEqual(['logp', 'ent']);
    expect([...cot.cot.values()]).toEqual([{ kind: 'tensor' }, { kind: 'tensor' }]);
  });

  for (const chunkRows of [undefined, 1, 4]) {
    it(`forward + backward = run = interpreter (chunkRows ${chunkRows ?? 'auto'})`, async () => {
      const opts = chunkRows === undefined ? {} : { chunkRows };
      const fwd = await rt.forward(kernel, api, opts);
      const bwd = await rt.backward(fwd.saved, grad, cot.api);
      const run = await rt.run(kernel, api, { ...opts, grad, cotangents: cot.api });
      const want = oracle(kernel, inputs, sizes, grad, cot);

      // The backward reuses the forward's options, and computes only the gradients.
      const rows = 3 * 7;
      expect(bwd.stats.chunkRows).toBe(chunkRows ?? rows);
      expect(fwd.stats.chunkRows).toBe(chunkRows ?? rows);
      expect([...bwd.grads.keys()].sort()).toEqual([...grad].sort());

      expectRunClose(
        { outputs: fwd.outputs, grads: new Map() },
        oracle(kernel, inputs, sizes),
        'forward',
      );
      expectRunClose({ outputs: run.outputs, grads: bwd.grads }, want, 'forward/backward');
      for (const [k, t] of run.outputs)
        expectClose(fwd.outputs.get(k), t, `forward ${k} vs run`, { rtol: 1e-5 });
      for (const [k, t] of run.grads)
        expectClose(bwd.grads.get(k), t, `backward grad.${k} vs run`, { rtol: 1e-5 });
    });
  }

  it('backward with number cotangents, one result left out (cotangent 0)', async () => {
    const fwd = await rt.forward(kernel, api);
    const bwd = await rt.backward(fwd.saved, ['W'], { ent: 0.5 });
    const run = await rt.run(kernel, api, { grad: ['W'], cotangents: { ent: 0.5 } });
    const want = oracle(kernel, inputs, sizes, ['W'], {
      api: {},
      cot: new Map([['ent', { kind: 'const', value: 0.5 }]]),
      tensors: new Map(),
    });
    expect([...bwd.grads.keys()]).toEqual(['W']);
    expectClose(bwd.grads.get('W'), run.grads.get('W'), 'backward vs run', { rtol: 1e-5 });
    expectClose(bwd.grads.get('W'), want.grads.get('W'), 'backward vs interpreter');
  });

  it('one saved forward serves several backwards', async () => {
    const fwd = await rt.forward(kernel, api, { chunkRows: 5 });
    const a = await rt.backward(fwd.saved, grad, cot.api);
    const b = await rt.backward(fwd.saved, ['X'], { logp: 1 });
    const a2 = await rt.backward(fwd.saved, grad, cot.api);
    for (const k of grad) expect(a2.grads.get(k)?.data).toEqual(a.grads.get(k)?.data);
    const want = oracle(kernel, inputs, sizes, ['X'], {
      api: {},
      cot: new Map([['logp', { kind: 'const', value: 1 }]]),
      tensors: new Map(),
    });
    expectClose(b.grads.get('X'), want.grads.get('X'), 'grad.X of Σ logp');
  });
});

describe('cross_entropy: one scalar result', () => {
  for (const storage of [undefined, 'f32'] as const) {
    const kernel = exampleKernels('cross_entropy.proj', storage)[0]!;
    const sizes = sizesFor(kernel, { N: 45, H: 16, V: 99 });
    const inputs = testInputs(kernel, sizes, 11);
    const api = apiInputs(inputs);
    const grad = floatTensorParams(kernel);

    it(`${storage ?? 'bf16'}: forward's loss equals run's, backward's default cotangent is 1`, async () => {
      const fwd = await rt.forward(kernel, api, { chunkRows: 8 });
      const run = await rt.run(kernel, api, { chunkRows: 8, grad });
      const loss = fwd.outputs.get('out')?.data[0];
      expect(loss).toBeDefined();
      expect(Number.isFinite(loss)).toBe(true);
      expect(loss).toBe(run.outputs.get('out')?.data[0]);
      const want = oracle(kernel, inputs, sizes, grad);
      expectClose(fwd.outputs.get('out'), want.outputs.get('out'), 'loss vs interpreter');

      const bwd = await rt.backward(fwd.saved, grad, {});
      const scaled = await rt.backward(fwd.saved, grad, { out: 2.5 });
      for (const k of grad) {
        expectClose(bwd.grads.get(k), run.grads.get(k), `grad.${k} vs run`, { rtol: 1e-5 });
        expectClose(bwd.grads.get(k), want.grads.get(k), `grad.${k} vs interpreter`);
        const g = bwd.grads.get(k)!;
        expectClose(
          scaled.grads.get(k),
          { ...g, data: g.data.map((x) => 2.5 * x) },
          `2.5·grad.${k}`,
          { rtol: 1e-6 },
        );
      }
    });
  }
});
