// `npm run bench:gpu` on the adapter the tests have (the CPU one, Dawn on llvmpipe): the
// script itself, unchanged, in --smoke mode. It must run the whole pipeline at the small
// shapes, agree with the interpreter and the baseline, and skip every real-size shape with
// the printed reason.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterKind, deviceFacts, knownPeak } from '../../src/bench/gpu/adapter.ts';
import {
  baselineProblem,
  deviceCeInputs,
  hostBytes,
  hostProblem,
} from '../../src/bench/gpu/ce-bench.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { bf16BitsToF32 } from '../../src/io/dtype-bits.ts';
import { BufferPool } from '../../src/runtime/buffers.ts';
import {
  parseGpuBenchArgs,
  realSizeSkipReason,
  REAL_CE,
  REAL_MATMUL,
  SMOKE_CE,
  SMOKE_MATMUL,
} from '../../src/bench/gpu/main.ts';
import type { GpuBenchReport } from '../../src/bench/gpu/report.ts';
import { gpuTimer } from '../../src/runtime/gpu-timer.ts';
import { acquireDevice } from '../../src/runtime/device.ts';

const run = promisify(execFile);
const scratch: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'projc-bench-gpu-'));
  scratch.push(d);
  return d;
};
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe('npm run bench:gpu -- --smoke', () => {
  it('runs the small shapes, agrees with its references and skips the real sizes with a reason', async () => {
    const out = tempDir();
    const dev = await acquireDevice();
    const kind = adapterKind(deviceFacts(dev.device), dev.adapterInfo);
    dev.release();
    const { stdout } = await run(
      join('node_modules', '.bin', 'tsx'),
      ['scripts/bench-gpu.ts', '--smoke', '--repeats', '2', '--out', out],
      { timeout: 60_000 },
    );
    const reason = kind.cpu ? (kind.reason ?? '') : '--smoke runs the small shapes only';
    expect(reason).not.toBe('');
    for (const m of REAL_MATMUL)
      expect(stdout).toContain(
        `matmul ${m.name} ${m.dtype} ${m.M}×${m.K}×${m.N}: skipped: ${reason}`,
      );
    for (const c of REAL_CE)
      expect(stdout).toContain(
        `cross-entropy ${c.name} N=${c.N} H=${c.H} V=${c.V}: skipped: ${reason}`,
      );

    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as GpuBenchReport;
    expect(r.ok).toBe(true);
    expect(r.failed).toEqual([]);
    expect(r.cpuAdapter !== null).toBe(kind.cpu);
    expect(r.skipped.map((s) => s.name).sort()).toEqual(
      [...REAL_MATMUL.map((m) => `${m.name} ${m.dtype}`), ...REAL_CE.map((c) => c.name)].sort(),
    );
    expect(r.matmul.map((m) => [m.M, m.K, m.N, m.dtype])).toEqual(
      SMOKE_MATMUL.map((m) => [m.M, m.K, m.N, m.dtype]),
    );
    for (const m of r.matmul) {
      expect(m.timesMs).toHaveLength(2);
      expect(Number.isFinite(m.gflops) && m.gflops > 0).toBe(true);
      expect(m.checked).toBe(m.M * m.N);
      expect(m.maxRelError).toBeLessThan(1e-5);
    }
    expect(r.crossEntropy.map((c) => c.name)).toEqual(SMOKE_CE.map((c) => c.name));
    for (const c of r.crossEntropy) {
      expect(Number.isFinite(c.loss)).toBe(true);
      // Uniform logits of unit variance: the loss is near ln V.
      expect(Math.abs(c.loss - Math.log(c.V))).toBeLessThan(1.5);
      expect(Number.isFinite(c.projc.gflops) && c.projc.gflops > 0).toBe(true);
      expect(c.projc.peakBytes).toBeGreaterThan(0);
      expect(c.baseline.fits).toBe(true);
      if (c.baseline.fits) expect(c.projc.peakBytes).toBeLessThan(c.baseline.peakBytes);
      for (const against of ['interpreter', 'baseline', 'Runtime.run']) {
        const errs = c.agreement[against] ?? {};
        expect(Object.keys(errs).sort()).toEqual(['grad.W', 'grad.X', 'out']);
        for (const e of Object.values(errs)) expect(e).toBeLessThan(1e-4);
      }
    }
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toContain('## Skipped');
    expect(md).toContain(`cross-entropy **seed**: ${reason}`);
  }, 60_000);
});

describe('adapter kinds and peaks', () => {
  it('tells CPU rasterizers and fallback adapters from GPUs', () => {
    expect(adapterKind({ device: 'llvmpipe-llvm-15' }, '').cpu).toBe(true);
    expect(adapterKind({ vendor: 'google', description: 'SwiftShader Device' }, '').cpu).toBe(true);
    expect(adapterKind({ description: 'lavapipe' }, '').cpu).toBe(true);
    expect(adapterKind({ isFallbackAdapter: true, vendor: 'nvidia' }, '').cpu).toBe(true);
    expect(adapterKind({ vendor: 'nvidia', description: 'NVIDIA H200' }, 'nvidia').cpu).toBe(false);
  });

  it('knows the f32 peak of an H200, tells an H100 PCIe from an SXM, and admits the rest', () => {
    expect(knownPeak({ vendor: 'nvidia', description: 'NVIDIA H200' }, '')?.gflops).toBe(67_000);
    expect(knownPeak({ description: 'NVIDIA H100 PCIe' }, '')?.gflops).toBe(51_200);
    expect(knownPeak({ description: 'NVIDIA H100 80GB HBM3' }, '')?.gflops).toBe(67_000);
    expect(knownPeak({ description: 'NVIDIA L40S' }, '')?.name).toBe('l40s');
    expect(knownPeak({ description: 'Some Integrated GPU' }, '')).toBeUndefined();
  });
});

describe('sizing', () => {
  it('says why the baseline cannot hold the real-size logits', () => {
    const limits = { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 32 - 4 };
    const sizes = (c: { N: number; V: number }) =>
      new Map([
        ['N', c.N],
        ['V', c.V],
      ]);
    const [, cce, seed] = REAL_CE;
    if (!cce || !seed) throw new Error('missing shapes');
    // 8192 × 256000 f32 logits are 7.8 GiB.
    expect(baselineProblem(sizes(cce), limits)).toMatch(/logits \(7\.81 GiB\) pass maxBufferSize/);
    expect(baselineProblem(sizes(seed), limits)).toMatch(/logits \(7\.83 GiB\) pass maxBufferSize/);
    expect(baselineProblem(sizes({ N: 8192, V: 32000 }), limits)).toBeUndefined();
    expect(
      baselineProblem(sizes({ N: 8192, V: 32000 }), {
        ...limits,
        maxStorageBufferBindingSize: 2 ** 27,
      }),
    ).toMatch(/maxStorageBufferBindingSize/);
  });

  it('builds no float64 host copies at the real sizes, and skips a shape whose copies do not fit', () => {
    const seed = { name: 'seed', N: 16384, H: 4096, V: 128256 };
    const cce = { name: 'cce-paper', N: 8192, H: 2304, V: 256000 };
    // Inputs generated a slice at a time into device buffers: tens of MiB of host memory.
    expect(hostBytes(seed, false)).toBeLessThan(128 * 2 ** 20);
    expect(hostBytes(cce, false)).toBeLessThan(128 * 2 ** 20);
    expect(hostProblem(seed, 8 * 2 ** 30)).toBeUndefined();
    expect(hostProblem(cce, 1 * 2 ** 30)).toBeUndefined();
    // Where a host reference runs, its float64 copies count.
    expect(hostProblem(seed, 8 * 2 ** 30, true)).toMatch(
      /needs ~\d+\.\d GiB of host memory \(float64 inputs and results/,
    );
    expect(hostProblem(seed, 128 * 2 ** 30, true)).toBeUndefined();
  });

  it("generates the inputs into device buffers in the parameters' storage", async () => {
    const dev = await acquireDevice();
    try {
      const text = readFileSync('examples/cross_entropy.proj', 'utf8');
      const fn = compileFile({ path: 'ce', text }).kernels.get('cross_entropy');
      if (!fn) throw new Error('no kernel');
      // Odd element counts: the last 16-bit word is padded.
      const c = { name: 'odd', N: 3, H: 5, V: 7 };
      const a = deviceCeInputs(dev.device, fn, c, 4, true);
      const b = deviceCeInputs(dev.device, fn, c, 4, false);
      const pool = new BufferPool(dev.device, dev.limits);
      try {
        expect(a.X.dtype).toBe('bf16');
        expect(a.W.shape).toEqual([7, 5]);
        expect(b.host).toBeUndefined();
        expect(b.target).toEqual(a.target);
        for (const name of ['X', 'W'] as const) {
          const t = a[name];
          const n = t.shape.reduce((p, q) => p * q, 1);
          const bits = new Uint16Array(await pool.readback(t.buffer, t.buffer.size), 0, n);
          const same = new Uint16Array(await pool.readback(b[name].buffer, t.buffer.size), 0, n);
          expect(same).toEqual(bits);
          expect(Array.from(bits, bf16BitsToF32)).toEqual(
            Array.from(a.host?.get(name)?.data ?? []),
          );
          expect(Math.max(...Array.from(bits, (x) => Math.abs(bf16BitsToF32(x))))).toBeLessThan(
            Math.sqrt(3) * 5 ** -0.25 + 1e-2,
          );
        }
        for (const x of a.target) expect(x >= 0 && x < 7).toBe(true);
      } finally {
        pool.destroyAll();
        a.release();
        b.release();
      }
    } finally {
      dev.release();
    }
  });

  it('skips the real sizes on a CPU adapter (whatever the flags) and under --smoke only', () => {
    const cpu = adapterKind({ device: 'llvmpipe' }, '');
    const gpu = adapterKind({ description: 'NVIDIA H200' }, '');
    expect(realSizeSkipReason(cpu, false)).toMatch(/CPU rasterizer \(llvmpipe\).*GPU only/);
    expect(realSizeSkipReason(cpu, true)).toMatch(/CPU rasterizer/);
    expect(realSizeSkipReason(gpu, true)).toBe('--smoke runs the small shapes only');
    expect(realSizeSkipReason(gpu, false)).toBeUndefined();
  });

  it('parses its flags and rejects unknown ones', () => {
    expect(
      parseGpuBenchArgs(['--smoke', '--out', 'x', '--repeats', '3', '--memory-budget', '8GiB']),
    ).toMatchObject({ smoke: true, out: 'x', repeats: 3, memoryBudget: 8 * 2 ** 30 });
    expect(parseGpuBenchArgs([]).memoryBudget).toBeUndefined();
    expect(() => parseGpuBenchArgs(['--frobnicate'])).toThrow(/unknown argument --frobnicate/);
    expect(parseGpuBenchArgs(['--memory-budget', '1.5e9']).memoryBudget).toBe(1.5e9);
    expect(() => parseGpuBenchArgs(['--memory-budget', '8 parsecs'])).toThrow(/takes a size/);
  });
});

describe('timer', () => {
  it('falls back to wall time without timestamp-query and times recorded work', async () => {
    const dev = await acquireDevice();
    try {
      const timer = gpuTimer(dev.device);
      expect(timer.kind).toBe(
        dev.features.has('timestamp-query') ? 'timestamp-query' : 'wall (onSubmittedWorkDone)',
      );
      const ms = await timer.time((enc) => enc.beginComputePass().end());
      expect(Number.isFinite(ms) && ms >= 0).toBe(true);
      timer.destroy();
    } finally {
      dev.release();
    }
  });
});

describe('scripts/bench-gpu-device.sh bundle', () => {
  it('makes one file that runs the benchmark with no node_modules but webgpu', async () => {
    const dir = tempDir();
    await run('bash', ['scripts/bench-gpu-device.sh', 'bundle'], {
      env: { ...process.env, GPUBENCH_DIR: dir },
      timeout: 60_000,
    });
    // The device machine has only the bundle and the webgpu package beside it.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(resolve('node_modules/webgpu'), join(dir, 'node_modules', 'webgpu'));
    const out = join(dir, 'out');
    const { stdout } = await run(
      process.execPath,
      // A budget that splits the seed/128 rows into chunks: the chunk loop runs too.
      [
        join(dir, 'bench-gpu.mjs'),
        '--smoke',
        '--repeats',
        '1',
        '--memory-budget',
        '768KiB',
        '--out',
        out,
      ],
      { env: { ...process.env, PROJC_BENCH_GPU_COMMAND: 'bundled' }, timeout: 60_000 },
    );
    expect(stdout).toContain('all results agree with their references');
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as GpuBenchReport;
    expect(r.ok).toBe(true);
    expect(r.command).toBe('bundled');
    expect(r.crossEntropy).toHaveLength(SMOKE_CE.length);
    expect(r.memoryBudget).toBe(768 * 1024);
    expect(Math.max(...r.crossEntropy.map((c) => c.projc.chunks))).toBeGreaterThan(1);
  }, 90_000);
});
