// GRPO and GSPO (examples/grpo.proj, examples/gspo.proj) against TRL's GRPOTrainer loss as
// replicated in PyTorch by scripts/fixtures/make_grpo_fixtures.py: every loss_type (grpo,
// bnpo, dr_grpo, dapo), token- and sequence-level importance ratios, both clip bounds,
// delta, the KL term and temperature, f32 and bf16. Each fixture runs on the float64
// interpreter and on the WebGPU runtime in chunks of 5 rows and of all rows.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { compileFile } from '../../src/frontend/compile.ts';
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

const DIR = 'test/fixtures/losses/grpo';
const DOC = 'docs/losses/grpo.md';
const EXAMPLES = ['examples/grpo.proj', 'examples/gspo.proj'];
const { files, fixture } = fixtureDir(DIR);

/** The rows of a fixture: B·T. */
function rows(f: Fixture): number {
  return (f.sizes.get('B') ?? 0) * (f.sizes.get('T') ?? 0);
}

const log = new ErrorLog();

let rt: Runtime;

beforeAll(async () => {
  rt = await Runtime.create();
});

afterAll(() => {
  rt?.release();
  log.print('grpo');
});

describe('the GRPO fixtures', () => {
  it('cover every kernel of examples/grpo.proj and examples/gspo.proj in f32 and bf16', () => {
    const seen = new Set(
      files.map((f) => {
        const m = fixture(f).file.metadata;
        return `${m['example']}:${m['kernel']}:${m['storage'] === 'f32' ? 'f32' : 'bf16'}`;
      }),
    );
    for (const example of EXAMPLES) {
      const c = compileFile({ path: example, text: readFileSync(example, 'utf8') });
      expect(c.kernels.size, example).toBeGreaterThan(0);
      for (const k of c.kernels.keys())
        for (const d of ['f32', 'bf16']) expect(seen).toContain(`${example}:${k}:${d}`);
    }
  });

  it('store bf16 inputs for bf16 runs, f32 for f32 runs, and a bool completion mask', () => {
    for (const file of files) {
      const f = fixture(file);
      const want = f.file.metadata['storage'] === 'f32' ? 'F32' : 'BF16';
      expect(f.file.tensors.get('X')?.dtype, file).toBe(want);
      expect(f.file.tensors.get('W')?.dtype, file).toBe(want);
      expect(f.file.tensors.get('mask')?.dtype, file).toBe('BOOL');
      expect(f.grad, file).toEqual(['X', 'W']);
    }
  });

  it('hit both clip bounds, delta, padding and advantages of both signs', () => {
    const regions = { low_clipped: 0, high_clipped: 0, delta_capped: 0, unclipped: 0 };
    let padded = 0;
    let empty = 0;
    for (const file of files) {
      const f = fixture(file);
      const r = JSON.parse(f.file.metadata['clip_regions'] ?? '{}') as typeof regions;
      for (const k of Object.keys(regions) as (keyof typeof regions)[]) regions[k] += r[k];
      const lengths = JSON.parse(f.file.metadata['completion_lengths'] ?? '[]') as number[];
      const T = f.sizes.get('T') ?? 0;
      padded += lengths.filter((n) => n < T).length;
      empty += lengths.filter((n) => n === 0).length;
      const adv = reference(f, 'advantages');
      expect(adv.some((a) => a > 0) && adv.some((a) => a < 0), file).toBe(true);
    }
    for (const [k, n] of Object.entries(regions)) expect(n, k).toBeGreaterThan(0);
    expect(padded).toBeGreaterThan(0);
    expect(empty).toBeGreaterThan(0);
  });
});

describe('GRPO and GSPO match TRL (float64 reference, PyTorch in the stored dtype)', () => {
  for (const file of files) {
    describe(file, () => {
      it('interpreter', () => {
        const f = fixture(file);
        const got = runInterpreter(f);
        log.record(file, 'interp', f, got);
        expectMatchesTorch(f, got, `${file} interpreter`);
      });

      for (const chunk of [5, 'all'] as const) {
        it(`webgpu, chunks of ${chunk} rows`, async () => {
          const f = fixture(file);
          const got = await runWebgpu(rt, f, chunk === 'all' ? rows(f) : chunk);
          log.record(file, `webgpu/${chunk}`, f, got);
          expectMatchesTorch(f, got, `${file} webgpu chunks of ${chunk}`);
        });
      }
    });
  }
});

describe(DOC, () => {
  const doc = () => readFileSync(DOC, 'utf8');

  it('pastes each example verbatim', () => {
    const pasted = [...doc().matchAll(/<!-- file: (\S+) -->\s*```proj\n([\s\S]*?)```/g)];
    expect(pasted.map((m) => m[1]).sort()).toEqual(EXAMPLES);
    for (const m of pasted) expect(m[2], m[1]).toBe(readFileSync(m[1] ?? '', 'utf8'));
  });

  it('quotes the examples verbatim in its other proj blocks', () => {
    const sources = EXAMPLES.map((e) => readFileSync(e, 'utf8'));
    const blocks = [...doc().matchAll(/(<!-- file: \S+ -->\s*)?```proj\n([\s\S]*?)```/g)];
    const quotes = blocks.filter((m) => !m[1]).map((m) => m[2] ?? '');
    expect(quotes.length).toBeGreaterThan(0);
    for (const q of quotes)
      expect(
        sources.some((s) => s.includes(q)),
        q,
      ).toBe(true);
  });
});
