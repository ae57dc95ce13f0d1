// One tiny benchmark end to end on the WebGPU device: the report, the plots and the raw
// data are written, and the agreement and peak checks pass.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BenchCheckError, measureShapes } from '../../src/bench/bench-run.ts';
import type { BenchReport } from '../../src/bench/bench-types.ts';
import { generateProgram } from '../../codegen/program.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { acquireDevice } from '../../src/runtime/device.ts';
import { benchCommand } from '../../src/cli/bench-command.ts';
import { checkWellFormed } from './xml.ts';

it('benchmarks N=64 V=128 H=16 twice and writes a passing report', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'projc-bench-')), 'bench');
  let stdout = '';
  let stderr = '';
  const code = await benchCommand(
    ['examples/cross_entropy.proj'],
    { grad: 'X,W', grid: 'N=64,V=128', dims: 'H=16', repeats: '2', 'chunk-rows': '16,all', out },
    { out: (t) => (stdout += t), err: (t) => (stderr += t) },
    { tty: false, compileRuns: 1 },
  );
  expect(stderr).not.toContain('error');
  expect(code).toBe(0);
  expect(stderr).toContain('bench: shape 1/1 N=64 H=16 V=128');
  expect(stdout).toContain('| N=64 H=16 V=128 |');

  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
  expect(r.checks.agreement).toBe(true);
  expect(r.checks.peakOk).toBe(true);
  expect(r.checks.worstRelError).toBeLessThanOrEqual(1e-4);
  expect(r.shapes).toHaveLength(1);
  const s = r.shapes[0];
  // baseline, 16 rows, 64 rows (auto and all), and TF.js: installed, so a default peer.
  expect(r.peers).toEqual(['eager', 'tfjs']);
  expect(s?.configs.map((c) => [c.label, c.requests])).toEqual([
    ['baseline', []],
    ['projc 16', ['16']],
    ['projc 64', ['auto', 'all']],
    ['tfjs', []],
  ]);
  for (const c of s?.configs ?? []) {
    expect(c.timesMs).toHaveLength(2);
    expect(c.peakBytes).toBeGreaterThan(0);
    if (c.kind === 'projc')
      expect(Object.keys(c.maxRelError).sort()).toEqual(['grad.W', 'grad.X', 'out']);
  }
  // projc's own choice carries a profile of one more run, every step of its schedule in it.
  const profiled = s?.configs.filter((c) => c.profile);
  expect(profiled?.map((c) => c.label)).toEqual(['projc 64']);
  const steps = profiled?.[0]?.profile?.steps ?? [];
  expect(steps.filter((x) => / matmul /.test(x.step)).map((x) => x.calls)).toEqual([1, 1, 1]);
  expect(steps.find((x) => x.step === 'sweep1_row1')?.calls).toBe(1);
  expect(s?.matmulFlops).toBe(3 * 2 * 64 * 128 * 16);
  // Both sides ran the tiles the tuner chose on this device.
  expect(r.matmulTiles?.tileM).toBeGreaterThan(0);
  expect(r.compile.length).toBeGreaterThan(0);
  expect(r.paper.ratio).toBeGreaterThan(0);
  expect(r.paper.ratio).toBeLessThan(0.5);

  const md = readFileSync(join(out, 'README.md'), 'utf8');
  expect(md).toContain('**pass** Every projc run agrees');
  expect(md).toContain("**pass** projc's peak device bytes");
  expect(md).toContain('--grid N=64,V=128 --repeats 2');
  expect(md).toContain("## Where projc's time goes");
  expect(md).toContain(`**Matmul tiles**: projc and the baseline run the tiles the autotuner`);
  expect(md).toMatch(
    /\| N=64 H=16 V=128 \| `sweep1 matmul %\d+ \[N, V\] = in\.X · in\.W` +\| chunk +\| 1 /,
  );
  for (const f of [
    'peak-bytes-vs-rows.svg',
    'time-vs-rows.svg',
    'peak-bytes-vs-chunk.svg',
    'time-vs-chunk.svg',
  ]) {
    expect(existsSync(join(out, f))).toBe(true);
    checkWellFormed(readFileSync(join(out, f), 'utf8'));
  }
});

it('runs a tiled twin per tile width, skipping a width that holds all of V', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'projc-bench-')), 'bench');
  let stdout = '';
  let stderr = '';
  const code = await benchCommand(
    ['examples/cross_entropy.proj'],
    {
      grad: 'X,W',
      grid: 'N=64,V=128',
      dims: 'H=16',
      repeats: '1',
      'chunk-rows': 'all',
      'vocab-tile': '64,32,128',
      peers: 'eager',
      out,
    },
    { out: (t) => (stdout += t), err: (t) => (stderr += t) },
    { tty: false, compileRuns: 1 },
  );
  expect(stderr).not.toContain('error');
  expect(code).toBe(0);
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
  expect(r.command).toContain('--vocab-tile 64,32,128');
  expect(r.vocabTiling?.dim).toBe('V');
  expect(r.vocabTiling?.widths).toEqual([32, 64, 128]);
  const s = r.shapes[0];
  // Tiles of 128 hold all of V=128: not tiling, not run.
  expect(s?.configs.map((c) => [c.label, c.vocabTile])).toEqual([
    ['baseline', undefined],
    ['projc 64', undefined],
    ['projc 64 tiles 32', 32],
    ['projc 64 tiles 64', 64],
  ]);
  for (const c of s?.configs.filter((x) => x.vocabTile !== undefined) ?? []) {
    expect(c.rowsOnlyRatio?.n).toBe(1);
    expect(c.chunkRows).toBe(64);
  }
  // The forward product the tiled passes recompute is a step of the rows-only profile.
  const recomputed = r.vocabTiling?.recomputed ?? [];
  expect(recomputed.map((x) => x.passes)).toEqual([2]);
  const profile = s?.configs.find((c) => c.profile)?.profile;
  expect(profile?.steps.map((x) => x.step)).toContain(recomputed[0]?.step);
  const lines = stdout.split('\n').filter((l) => l.startsWith('vocabulary tiles of'));
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(
    /^vocabulary tiles of 32 \(4 tiles\) at N=64 H=16 V=128, 64 rows: [\d.]+× the rows-only time \([\d.]+–[\d.]+\), [\d.]+× from the profile, peak /,
  );
  expect(lines[1]).toMatch(/^vocabulary tiles of 64 \(2 tiles\) at /);
  const md = readFileSync(join(out, 'README.md'), 'utf8');
  expect(md).toContain('one tiled program per width (32, 64, 128)');
  expect(md).toMatch(/\| N=64 H=16 V=128 \| 64 +\| 32 +\| 4 +\|/);
  expect(md).toMatch(/\| N=64 H=16 V=128 \| 64 +\| 64 +\| 2 +\|/);
});

it('fails loudly, naming the shape, the chunk size and the result, when a run disagrees', async () => {
  const path = 'examples/cross_entropy.proj';
  const kernel = compileFile({ path, text: readFileSync(path, 'utf8') }).kernels.get(
    'cross_entropy',
  );
  if (!kernel) throw new Error('no kernel');
  const planned = planKernel({ kernel, grad: ['X', 'W'] });
  const dev = await acquireDevice();
  try {
    // A negative tolerance: even identical results fail.
    await expect(
      measureShapes({
        dev,
        program: generateProgram(planned.fn, planned.plan),
        kernel,
        shapes: [
          new Map([
            ['N', 16],
            ['H', 8],
            ['V', 32],
          ]),
        ],
        chunks: [],
        repeats: 1,
        seed: 0,
        tolerance: -1,
      }),
    ).rejects.toThrow(
      expect.objectContaining({
        name: BenchCheckError.name,
        message: expect.stringMatching(
          /^at N=16 H=8 V=32, projc with chunks of 16 rows disagrees with the baseline in run 0 on `out`/,
        ),
      }),
    );
  } finally {
    dev.release();
  }
});
