// The language features of issue 13 on PyTorch fixtures (scripts/fixtures/make_lang_fixtures.py):
// SimCSE with `M: dim = N` enforced, CosFace with its W normalised in the kernel (a computed
// weight), Liger's `bias=None` / `ce_weight=None` through optional tensors, and
// multi-token prediction with its labels shifted in the kernel. Each fixture runs on the
// float64 interpreter and on the WebGPU runtime in chunks of 7 rows and of all rows.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { bindDims } from '../../src/interp/bind.ts';
import {
  ErrorLog,
  expectMatchesTorch,
  fixtureDir,
  runInterpreter,
  runWebgpu,
  type Fixture,
} from './fixture-harness.ts';

const DIR = 'test/fixtures/losses/lang';
const { files, fixture } = fixtureDir(DIR);
const log = new ErrorLog();

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.create();
});
afterAll(() => {
  rt?.release();
  log.print('language features');
});

// The saturated-rows precision case has its own test (test/losses/precision.test.ts).
const LOSSES = files.filter((f) => !f.startsWith('saturated'));

describe('the language-feature fixtures', () => {
  it('cover SimCSE, CosFace, ArcFace, Liger with and without bias and MTP', () => {
    const kernels = new Set(LOSSES.map((f) => fixture(f).file.metadata['kernel']));
    expect([...kernels].sort()).toEqual([
      'arcface',
      'ce_liger',
      'clip',
      'cosface',
      'mtp',
      'simcse',
    ]);
    const liger = LOSSES.filter((f) => fixture(f).file.metadata['kernel'] === 'ce_liger');
    const withBias = liger.map((f) => fixture(f).file.tensors.has('bias'));
    expect(withBias).toContain(true);
    expect(withBias).toContain(false);
  });
});

describe('language features match PyTorch', () => {
  for (const file of LOSSES) {
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
          const got = await runWebgpu(rt, f, chunk === 'all' ? undefined : chunk);
          log.record(file, `webgpu/${chunk}`, f, got);
          expectMatchesTorch(f, got, `${file} webgpu chunks of ${chunk}`);
        });
      }
    });
  }
});

/** The fixture with its tensor `name` cut to its first `rows` rows. */
function truncated(f: Fixture, name: string, rows: number): Fixture {
  const t = f.inputs.get(name);
  if (!t) throw new Error(`no ${name}`);
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const cut = { ...t, shape: [rows, ...t.shape.slice(1)], data: t.data.slice(0, rows * per) };
  return { ...f, inputs: new Map([...f.inputs, [name, cut]]) };
}

describe('SimCSE enforces M == N', () => {
  it('a batch with one positive missing is P0430 at bind time, on every backend', async () => {
    const f = truncated(fixture('simcse_f32.safetensors'), 'B', 36);
    const shapes = new Map([...f.inputs].map(([k, t]) => [k, t.shape]));
    let message = '';
    try {
      bindDims(f.kernel, shapes);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      message = `${e.diagnostics[0]?.code}: ${e.diagnostics[0]?.message}`;
    }
    expect(message).toBe(
      'P0430: dim `M` is 36 in `B` (dim 0), but the signature requires `M: dim = N` and `N` is 37 in `A` (dim 0)',
    );
    await expect(runWebgpu(rt, f)).rejects.toMatchObject({ diagnostics: [{ code: 'P0430' }] });
  });
});

describe("Liger's bias=None", () => {
  it('leaves the optional tensor out: the fixture has no bias and the run binds none', () => {
    const f = fixture('liger_nobias_f32.safetensors');
    expect(f.file.tensors.has('bias')).toBe(false);
    expect(f.inputs.has('bias')).toBe(false);
    expect(f.kernel.params.find((p) => p.name === 'bias')?.optional).toBe(true);
  });
});

describe('docs/losses/contrastive.md and docs/losses/mtp.md', () => {
  it('paste their examples verbatim', () => {
    const want: Record<string, string[]> = {
      'docs/losses/contrastive.md': [
        'examples/arcface.proj',
        'examples/clip.proj',
        'examples/cosface.proj',
        'examples/simcse.proj',
      ],
      'docs/losses/mtp.md': ['examples/mtp.proj'],
    };
    for (const [doc, examples] of Object.entries(want)) {
      const text = readFileSync(doc, 'utf8');
      const pasted = [...text.matchAll(/<!-- file: (\S+) -->\s*```proj\n([\s\S]*?)```/g)];
      expect(pasted.map((m) => m[1]).sort(), doc).toEqual(examples);
      for (const m of pasted) expect(m[2], m[1]).toBe(readFileSync(m[1] ?? '', 'utf8'));
    }
  });
});
