// The cross-entropy family of the loss library (examples/ce_*.proj) against PyTorch:
// reductions, soft-capping, z-loss, bias and class weights, on the fixtures of
// scripts/fixtures/make_ce_fixtures.py (float64 autograd on the exact stored inputs, and
// PyTorch natively in the stored dtype). Each fixture runs on the float64 interpreter and
// on the WebGPU runtime in chunks of 7 rows and of all rows.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import {
  compared,
  expectMatchesTorch,
  maxAbs,
  reference,
  runInterpreter,
  runWebgpu,
  type Fixture,
  type Values,
  ErrorLog,
  fixtureDir,
} from './fixture-harness.ts';

const DIR = 'test/fixtures/losses/ce';
const DOC = 'docs/losses/cross-entropy.md';
const { files, fixture } = fixtureDir(DIR);

const log = new ErrorLog();

let rt: Runtime;

beforeAll(async () => {
  rt = await Runtime.create();
});

afterAll(() => {
  rt?.release();
  log.print('cross-entropy');
});

describe('the cross-entropy fixtures', () => {
  it('cover every kernel of examples/ce_*.proj in f32 and bf16', () => {
    const seen = new Set(
      files.map((f) => {
        const m = fixture(f).file.metadata;
        return `${m['kernel']}:${m['storage'] === 'f32' ? 'f32' : 'bf16'}`;
      }),
    );
    const kernels = [
      'ce_mean',
      'ce_sum',
      'ce_none',
      'ce_softcap',
      'ce_z_loss',
      'ce_bias',
      'ce_weighted',
    ];
    for (const k of kernels) for (const d of ['f32', 'bf16']) expect(seen).toContain(`${k}:${d}`);
  });

  it('store bf16 inputs for bf16 runs and f32 for f32 runs', () => {
    for (const file of files) {
      const f = fixture(file);
      const want = f.file.metadata['storage'] === 'f32' ? 'F32' : 'BF16';
      expect(f.file.tensors.get('X')?.dtype, file).toBe(want);
      expect(f.file.tensors.get('W')?.dtype, file).toBe(want);
    }
  });
});

describe('cross-entropy family matches PyTorch', () => {
  for (const file of files) {
    describe(file, () => {
      it('interpreter', () => {
        const f = fixture(file);
        const got = runInterpreter(f);
        log.record(file, 'interp', f, got);
        expectMatchesTorch(f, got, `${file} interpreter`);
      });

      for (const chunk of [7, 'all'] as const) {
        it(`webgpu, chunks of ${chunk} rows`, async () => {
          const f = fixture(file);
          const rows = f.sizes.get('N') ?? 0;
          const got = await runWebgpu(rt, f, chunk === 'all' ? rows : chunk);
          log.record(file, `webgpu/${chunk}`, f, got);
          expectMatchesTorch(f, got, `${file} webgpu chunks of ${chunk}`);
        });
      }
    });
  }
});

describe(DOC, () => {
  it('pastes each example verbatim', () => {
    const doc = readFileSync(DOC, 'utf8');
    const pasted = [...doc.matchAll(/<!-- file: (\S+) -->\s*```proj\n([\s\S]*?)```/g)];
    const examples = readdirSync('examples')
      .filter((f) => /^ce_.*\.proj$/.test(f))
      .map((f) => `examples/${f}`)
      .sort();
    expect(pasted.map((m) => m[1]).sort()).toEqual(examples);
    for (const m of pasted) expect(m[2], m[1]).toBe(readFileSync(m[1] ?? '', 'utf8'));
  });
});
