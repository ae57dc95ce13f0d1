// Distillation, per-token log-probs and entropy, NLL with an entropy bonus, and DPO against
// PyTorch: every fixture of test/fixtures/losses/distill (scripts/fixtures/
// make_distill_fixtures.py) runs through the float64 interpreter and through WebGPU in
// chunks of 7 rows and in one chunk, and must meet the loss library's bar
// (expectMatchesTorch: Liger's tolerances for f32, no worse than PyTorch for bf16).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import {
  expectMatchesTorch,
  fixtureDir,
  runInterpreter,
  runWebgpu,
  type Fixture,
} from './fixture-harness.ts';

const dir = 'test/fixtures/losses/distill';
const { files: names, fixture } = fixtureDir(dir);

/** Every row of a kernel, the product of its row dims (the dims of the projection's rows). */
function rowCount(f: Fixture): number {
  const rows = f.kernel.params.find((p) => p.name === 'X' || p.name === 'Xs');
  return (rows?.dims.slice(0, -1) ?? []).reduce((n, d) => n * (f.sizes.get(d) ?? 1), 1);
}

describe('distillation, log-probs, NLL + entropy and DPO match PyTorch', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt?.release());

  it('has the fixtures of every loss', () => {
    for (const kernel of [
      'distill_jsd',
      'distill_forward_kl',
      'distill_reverse_kl',
      'selective_logprobs',
      'logprobs_entropy',
      'nll_entropy',
      'dpo',
    ])
      expect(names.some((n) => n.startsWith(kernel))).toBe(true);
  });

  for (const name of names) {
    it(name, async () => {
      const f = fixture(name);
      expectMatchesTorch(f, runInterpreter(f), `${name} interpreter`);
      for (const chunkRows of [7, rowCount(f)])
        expectMatchesTorch(
          f,
          await runWebgpu(rt, f, chunkRows),
          `${name} webgpu ${chunkRows} rows`,
        );
    });
  }
});
