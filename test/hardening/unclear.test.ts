// Issue 13, "Unclear or silent": each reproduction gets a clear message (or the right answer).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, Runtime } from '../../src/index.ts';
import { decodeToF64, readSafetensors } from '../../src/io/safetensors.ts';
import { outValue, proj, projc } from './helpers.ts';

const CE = 'examples/cross_entropy.proj';
const RUN = ['run', CE, '--dims', 'N=4,H=4,V=8'];

describe('Unclear or silent: duplicate result names', () => {
  it('are a located error (it was `ok: 1 file, 0 kernels`, exit 0)', async () => {
    const r = await projc(
      'check',
      proj(
        'kernel k(X: f32[N, H], W: f32[V, H]) -> (a: f32, a: f32) {\n  a = sum(logsumexp(X @ W.T, V), N)\n}\n',
      ),
    );
    expect(r.err).toContain('error[P0503]: result `a` is declared twice');
    expect(r.err).toMatch(/--> .*:1:50/);
    expect(r.err).toContain('first declared here');
    expect(r.code).toBe(1);
  });
});

describe('Unclear or silent: X @ w with w: f32[H]', () => {
  // Spec §4 allows it (the last dim of X with the only dim of w); webgpu said "reads dims []
  // that are not consecutive in [H]". It is a weighted sum over H, on both backends.
  const file = proj(`kernel k(X: f32[N, H], W: f32[V, H], w: f32[H], t: i32[N]) -> f32 {
  z = X @ W.T
  b = X @ w
  return sum(logsumexp(z, V) - gather(z, t, V) + b * b, N)
}
`);
  it('runs on webgpu and agrees with cpu, gradients included', async () => {
    const got = new Map<string, Map<string, Float64Array>>();
    for (const backend of ['cpu', 'webgpu']) {
      const out = `${file}.${backend}.st`;
      const args = ['run', file, '--dims', 'N=5,H=4,V=6', '--grad', 'X,W,w', '--out', out];
      const r = await projc(...args, '--backend', backend);
      expect(r.code, r.err).toBe(0);
      const st = readSafetensors(readFileSync(out), out);
      got.set(backend, new Map([...st.tensors].map(([k, t]) => [k, decodeToF64(t, out)])));
    }
    const cpu = got.get('cpu');
    const gpu = got.get('webgpu');
    expect([...(cpu?.keys() ?? [])].sort()).toEqual(['grad.W', 'grad.X', 'grad.w', 'out']);
    for (const [k, a] of cpu ?? []) {
      const b = gpu?.get(k) ?? new Float64Array();
      const scale = Math.max(1, ...a.map(Math.abs));
      a.forEach((x, i) => expect(Math.abs((b[i] ?? NaN) - x), k).toBeLessThan(1e-4 * scale));
    }
  }, 60_000);
});

describe('Unclear or silent: rt.run after release()', () => {
  it('says the runtime is released (it was an empty AbortError)', async () => {
    const k = compile(
      'kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {\n  return sum(logsumexp(X @ W.T, V), N)\n}\n',
    ).kernels.get('k');
    if (!k) throw new Error('no kernel');
    const rt = await Runtime.create();
    const inputs = { X: { data: [1, 2], shape: [1, 2] }, W: { data: [1, 2], shape: [1, 2] } };
    expect((await rt.run(k, inputs)).outputs.get('out')?.data[0]).toBeCloseTo(5, 5);
    rt.release();
    await expect(rt.run(k, inputs)).rejects.toThrow(
      "Runtime.run() after release(): this runtime's device is released; make a new one with Runtime.create()",
    );
    await expect(rt.forward(k, inputs)).rejects.toThrow('Runtime.forward() after release()');
  });
});

describe('Unclear or silent: --memory-budget 0.1', () => {
  it('is a usage error (it said "budget of 0 bytes")', async () => {
    const r = await projc(...RUN, '--memory-budget', '0.1');
    expect(r.err).toContain('error: --memory-budget must be at least 1 byte, got `0.1`');
    expect(r.code).toBe(2);
  });
});

describe('Unclear or silent: --chunk-rows 8 --memory-budget 1B', () => {
  it('is an error when the chunk does not fit the budget (it ignored the budget)', async () => {
    for (const cmd of ['run', 'plan']) {
      const r = await projc(
        cmd,
        CE,
        '--dims',
        'N=4,H=4,V=8',
        '--chunk-rows',
        '8',
        '--memory-budget',
        '1B',
      );
      expect(r.err).toMatch(
        /error\[P0405\]: chunks of 8 rows need \d+ bytes, over the memory budget of 1 bytes/,
      );
      expect(r.code).toBe(1);
    }
  });

  it('honours both when the chunk fits', async () => {
    const r = await projc(...RUN, '--chunk-rows', '2', '--memory-budget', '1MiB');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('2 chunks of 2 rows');
  });
});

describe('Unclear or silent: repeated --dims / --cotangent', () => {
  it('merges --dims with distinct dims', async () => {
    const r = await projc('run', CE, '--dims', 'N=4,H=4', '--dims', 'V=8', '--backend', 'cpu');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('N=4 H=4 V=8');
  });

  it('refuses a dim sized twice, a --cotangent named twice, any other option twice (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['--dims', 'N=4,H=4,V=8', '--dims', 'N=8'], '--dims sizes `N` twice'],
      [['--dims', 'N=4,N=5,H=4,V=8'], '--dims sizes `N` twice'],
      [
        ['--dims', 'N=4,H=4,V=8', '--cotangent', 'out=1', '--cotangent', 'out=2'],
        '--cotangent out is given twice',
      ],
      [
        ['--dims', 'N=4,H=4,V=8', '--set', 'ignore_index=1', '--set', 'ignore_index=2'],
        '--set ignore_index is given twice',
      ],
      [['--dims', 'N=4,H=4,V=8', '--seed', '1', '--seed', '2'], '--seed is given twice'],
    ];
    for (const [extra, msg] of cases) {
      const r = await projc('run', CE, ...extra);
      expect(r.err, extra.join(' ')).toContain(`error: ${msg}`);
      expect(r.code).toBe(2);
    }
  });
});

describe('Unclear or silent: --seed -7', () => {
  it('is parsed as the seed -7 (it was "ambiguous")', async () => {
    const a = await projc(...RUN, '--seed', '-7', '--backend', 'cpu');
    const b = await projc(...RUN, '--seed=-7', '--backend', 'cpu');
    const c = await projc(...RUN, '--seed', '7', '--backend', 'cpu');
    expect(a.code, a.err).toBe(0);
    expect(outValue(a.out)).toBe(outValue(b.out));
    expect(outValue(a.out)).not.toBe(outValue(c.out));
    const neg = await projc(...RUN, '--set', 'label_smoothing=-0.1', '--backend', 'cpu');
    expect(neg.code, neg.err).toBe(0);
  });
});

describe('Unclear or silent: --backend cpu --chunk-rows 7', () => {
  it('warns that the cpu backend ignores chunking (it silently ran one chunk)', async () => {
    const r = await projc(...RUN, '--backend', 'cpu', '--chunk-rows', '7');
    expect(r.err).toContain('warning[P0405]: --chunk-rows is ignored by the cpu backend');
    expect(r.code).toBe(0);
  });
});

describe('Unclear or silent: docs/language.md §10 says cpu is the only backend', () => {
  it('no longer says so', () => {
    const doc = readFileSync('docs/language.md', 'utf8');
    expect(doc).not.toMatch(/only backend|only one in this build/);
    expect(doc).toContain('`--backend webgpu\\|cpu`');
  });
});
