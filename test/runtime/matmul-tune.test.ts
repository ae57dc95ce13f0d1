// The matmul autotuner on the CPU adapter: it times the candidates that fit (timings logged,
// never asserted), names why the others were left out, caches its choice per adapter, and
// a Runtime created with tiles (tuned or given) generates its programs with them, with the
// same results as the default tiles.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmulWgsl, type MatmulTiles } from '../../codegen/matmul.ts';
import { generateProgram } from '../../codegen/program.ts';
import { manifest } from '../../src/api/manifest.ts';
import { compile, Runtime, type IrFunction } from '../../src/index.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { mulberry32 } from '../../src/run/rng.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { tuneMatmulTiles, tuneShapeOf } from '../../src/runtime/matmul-tune.ts';

const STAGED: MatmulTiles = { tileM: 8, tileN: 16, tileK: 8, threadsX: 4, threadsY: 4 };
const DIRECT: MatmulTiles = {
  ...{ tileM: 6, tileN: 16, tileK: 2, threadsX: 8, threadsY: 1 },
  ...{ staging: 'direct', mFastest: true },
};
const TOO_BIG: MatmulTiles = { tileM: 64, tileN: 64, tileK: 4, threadsX: 64, threadsY: 64 };
const SHAPE = { rows: 24, hidden: 16, vocab: 40 };

let gpu: AcquiredDevice;
beforeAll(async () => {
  gpu = await acquireDevice();
});
afterAll(() => gpu?.release());

function kernel(): IrFunction {
  const text = readFileSync(new URL('../../examples/cross_entropy.proj', import.meta.url), 'utf8');
  const k = compile(text).kernels.get('cross_entropy');
  if (!k) throw new Error('no cross_entropy');
  return k;
}

describe('matmul autotuner', () => {
  it('times the candidates that fit, skips the rest with the reason, and caches', async () => {
    const candidates = [STAGED, TOO_BIG, DIRECT];
    const opts = { candidates, source: matmulWgsl, shape: SHAPE, runs: 1 };
    const first = await tuneMatmulTiles(gpu, opts);
    console.log(`[tune] ${JSON.stringify(first.timings.map((t) => [t.key, t.ms ?? t.skipped]))}`);
    expect(first.cached).toBe(false);
    expect([STAGED, DIRECT]).toContainEqual(first.tiles);
    expect(first.timings.map((t) => t.tiles)).toEqual(candidates);
    const [staged, big, direct] = first.timings;
    expect(staged?.ms).toBeGreaterThan(0);
    expect(direct?.ms).toBeGreaterThan(0);
    expect(big?.ms).toBeUndefined();
    expect(big?.skipped).toMatch(/4096 invocations > maxComputeInvocationsPerWorkgroup/);
    const again = await tuneMatmulTiles(gpu, opts);
    expect(again.cached).toBe(true);
    expect(again.tiles).toEqual(first.tiles);
    // Another candidate list is another question.
    const other = await tuneMatmulTiles(gpu, { ...opts, candidates: [DIRECT] });
    expect([other.cached, other.tiles]).toEqual([false, DIRECT]);
    await expect(tuneMatmulTiles(gpu, { ...opts, candidates: [TOO_BIG] })).rejects.toThrow(
      /no matmul tile candidate fits this device/,
    );
  });

  it('tunes on a chunk of the call: its rows (at most a chunk), H, and up to 4096 of V', () => {
    const planned = planKernel({ kernel: kernel(), grad: ['X', 'W'] });
    const sizes = (N: number, H: number, V: number) => new Map(Object.entries({ N, H, V }));
    expect(tuneShapeOf(planned, sizes(4096, 256, 8192), 512)).toEqual({
      rows: 512,
      hidden: 256,
      vocab: 4096,
    });
    expect(tuneShapeOf(planned, sizes(64, 16, 128), 512)).toEqual({
      rows: 64,
      hidden: 16,
      vocab: 128,
    });
  });

  it('codegen records the tiles it was given and rejects invalid ones', () => {
    const planned = planKernel({ kernel: kernel(), grad: ['X', 'W'] });
    const p = generateProgram(planned.fn, planned.plan, { tiles: DIRECT });
    expect(p.matmul.tiles).toEqual(DIRECT);
    expect(p.matmul.variants.every((v) => v.config.tiles === DIRECT)).toBe(true);
    expect(p.matmul.variants[0]?.code).toMatch(/_6x16x2_8x1_direct_mfast/);
    // dX = dz·W reads the f32 dz with k stride 1: the program also holds its vec4 variant.
    expect(p.matmul.variants.map((v) => v.name)).toContain('matmul_f32_bf16_set_va');
    // The manifest says which modules read vec4s (another runtime must bind them alike).
    const mods = manifest(p).matmul.modules;
    expect(mods.find((m) => m.name === 'matmul_f32_bf16_set_va')).toMatchObject({ vecA: true });
    expect(mods.find((m) => m.name === 'matmul_f32_bf16_set')?.vecA).toBeUndefined();
    const staged = generateProgram(planned.fn, planned.plan, { tiles: STAGED });
    expect(staged.matmul.variants.filter((v) => /_v[ab]/.test(v.name))).toEqual([]);
    expect(() =>
      generateProgram(planned.fn, planned.plan, { tiles: { ...DIRECT, tileM: 5, threadsY: 2 } }),
    ).toThrow(/tileM 5 is not a multiple of threadsY 2/);
  });

  it('a Runtime with given or tuned tiles runs its programs with them, as the default does', async () => {
    const k = kernel();
    // V = 72: dz's rows are whole vec4s, so dX reads it as vec4 with the direct tiles.
    const [N, H, V] = [19, 12, 72];
    const u = mulberry32(5);
    const X = Float32Array.from({ length: N * H }, () => 2 * u() - 1);
    const W = Float32Array.from({ length: V * H }, () => 2 * u() - 1);
    const target = Int32Array.from({ length: N }, (_, i) => (i * 11) % V);
    const inputs = {
      X: { data: X, shape: [N, H] },
      W: { data: W, shape: [V, H] },
      target: { data: target, shape: [N] },
    };
    const results = [];
    for (const matmulTiles of [undefined, DIRECT, 'tune'] as const) {
      const rt = await Runtime.create(matmulTiles ? { matmulTiles } : {});
      try {
        if (matmulTiles === DIRECT) expect(rt.program(k, ['X', 'W']).matmul.tiles).toEqual(DIRECT);
        if (matmulTiles === 'tune') expect(rt.matmulTiles).toBeDefined();
        const out = await rt.run(k, inputs, { grad: ['X', 'W'], chunkRows: 8 });
        results.push(out);
      } finally {
        rt.release();
      }
    }
    const [base, ...others] = results;
    for (const r of others) {
      for (const [name, t] of base?.grads ?? []) {
        const g = r.grads.get(name)?.data ?? [];
        const scale = Math.max(...t.data.map(Math.abs));
        const diff = Math.max(...t.data.map((x, i) => Math.abs(x - (g[i] ?? NaN))));
        expect(diff / scale, name).toBeLessThan(1e-5);
      }
      const loss = (x: typeof base) => [...(x?.outputs.values() ?? [])][0]?.data[0] ?? NaN;
      expect(Math.abs(loss(r) - loss(base))).toBeLessThan(1e-5 * Math.abs(loss(base)));
    }
  });
});
