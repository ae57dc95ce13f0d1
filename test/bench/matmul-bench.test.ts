// The matmul benchmark against TF.js: its arguments, its report, and one small round at
// each layout on the CPU adapter, where both sides must agree with a float64 product (no
// timing is asserted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, parseMatmulBenchArgs } from '../../src/bench/matmul/main.ts';
import { matmulMarkdown, type MatmulBenchReport } from '../../src/bench/matmul/matmul-report.ts';
import { runMatmulBench } from '../../src/bench/matmul/run-matmul-bench.ts';
import { layoutStrides, parseMatmulShapes } from '../../src/bench/matmul/shapes.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import type { MatmulTiles } from '../../codegen/matmul.ts';

const DIRECT: MatmulTiles = {
  ...{ tileM: 6, tileN: 16, tileK: 2, threadsX: 8, threadsY: 1 },
  ...{ staging: 'direct', mFastest: true },
};

describe('matmul bench arguments', () => {
  it('parses shapes with layouts and gives their strides', () => {
    expect(parseMatmulShapes('1024,1024,1024; 2048,512,8192/nt;3,4,5/tn')).toEqual([
      { M: 1024, K: 1024, N: 1024, layout: 'nn' },
      { M: 2048, K: 512, N: 8192, layout: 'nt' },
      { M: 3, K: 4, N: 5, layout: 'tn' },
    ]);
    expect(layoutStrides({ M: 3, K: 4, N: 5, layout: 'nn' })).toEqual({
      sAm: 4,
      sAk: 1,
      sBk: 5,
      sBn: 1,
    });
    expect(layoutStrides({ M: 3, K: 4, N: 5, layout: 'nt' })).toEqual({
      sAm: 4,
      sAk: 1,
      sBk: 1,
      sBn: 4,
    });
    expect(layoutStrides({ M: 3, K: 4, N: 5, layout: 'tn' })).toEqual({
      sAm: 1,
      sAk: 3,
      sBk: 5,
      sBn: 1,
    });
    expect(() => parseMatmulShapes('1,2')).toThrow(/'1,2' is not 'M,K,N'/);
    expect(() => parseMatmulShapes('1,2,0')).toThrow(/positive integers/);
    expect(() => parseMatmulShapes('1,2,3/tt')).toThrow(/layout 'tt' is not one of nn, nt, tn/);
    expect(() => parseMatmulShapes(' ; ')).toThrow(/no matmul shapes/);
  });

  it('defaults to the two shapes of issue 14, 5 rounds and tuned tiles', () => {
    const a = parseMatmulBenchArgs([]);
    expect([a.shapes.length, a.rounds, a.tiles, a.out]).toEqual([2, 5, 'tune', 'docs/bench']);
    const t = parseMatmulBenchArgs(['--tiles', JSON.stringify(DIRECT), '--rounds', '2']);
    expect([t.tiles, t.rounds]).toEqual([DIRECT, 2]);
    expect(() => parseMatmulBenchArgs(['--rounds', '0'])).toThrow(/not a positive integer/);
    expect(() =>
      parseMatmulBenchArgs([
        '--tiles',
        '{"tileM":3,"tileN":4,"tileK":1,"threadsX":1,"threadsY":2}',
      ]),
    ).toThrow(/tileM 3 is not a multiple of threadsY 2/);
    expect(() => parseMatmulBenchArgs(['--bogus', '1'])).toThrow(/unknown option --bogus/);
  });
});

describe('matmul bench on the CPU adapter', () => {
  let gpu: AcquiredDevice;
  beforeAll(async () => {
    gpu = await acquireDevice();
  });
  afterAll(() => gpu?.release());

  it('runs both sides at each layout; they agree with each other and a float64 product', async () => {
    const shapes = parseMatmulShapes('33,17,45;20,9,70/nt;41,13,30/tn');
    const defaultTiles = { tileM: 8, tileN: 16, tileK: 8, threadsX: 4, threadsY: 4 };
    const rows = await runMatmulBench(gpu, { shapes, rounds: 2, tiles: DIRECT, defaultTiles });
    expect(rows.map((r) => r.name)).toEqual(['33×17×45', '20×9×70 nt', '41×13×30 tn']);
    for (const r of rows) {
      expect(r.projc.timesMs).toHaveLength(2);
      expect(r.projc.errorVsF64, r.name).toBeLessThan(1e-5);
      expect(r.projcDefault?.errorVsF64, r.name).toBeLessThan(1e-5);
      if ('error' in r.tfjs) throw new Error(`TF.js failed: ${r.tfjs.error}`);
      expect(r.tfjs.timesMs).toHaveLength(2);
      expect(r.tfjs.errorVsF64, r.name).toBeLessThan(1e-5);
      expect(r.agreement, r.name).toBeLessThan(1e-5);
      expect(r.ratio).toBeCloseTo(r.tfjs.time.median / r.projc.time.median, 6);
      expect(r.checked).toBe(r.shape.M * r.shape.N);
    }
  });

  it('the command writes matmul.md and matmul.json naming itself', async () => {
    const { mkdtemp, readFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = await mkdtemp(join(tmpdir(), 'projc-matmul-'));
    const argv = [
      '--shapes',
      '8,8,8;5,3,7/nt',
      '--rounds',
      '1',
      '--tiles',
      'default',
      '--out',
      out,
    ];
    expect(await main(argv)).toBe(0);
    const md = await readFile(join(out, 'matmul.md'), 'utf8');
    expect(md).toContain(
      `\`npm run bench:matmul -- --shapes '8,8,8;5,3,7/nt' --rounds 1 --tiles default --out ${out}\``,
    );
    expect(md).toMatch(/\| 5×3×7 nt +\| +0\.00 \|/);
    const prettier = await import('prettier');
    for (const name of ['matmul.md', 'matmul.json']) {
      const file = join(out, name);
      const text = await readFile(file, 'utf8');
      const options = { ...(await prettier.resolveConfig(file)), filepath: file };
      expect(await prettier.format(text, options), name).toBe(text);
    }
    const json = JSON.parse(await readFile(join(out, 'matmul.json'), 'utf8')) as MatmulBenchReport;
    expect(json.rows).toHaveLength(2);
    expect(json.tuning).toBe('given');
  });
});

describe('matmul bench report', () => {
  it('shows a failing peer as a row, without a ratio', () => {
    const side = {
      timesMs: [10, 12],
      time: { median: 11, q1: 10.5, q3: 11.5, min: 10, max: 12, n: 2 },
      gflops: 2,
      gflopsRange: [1.8, 2.2] as const,
      errorVsF64: 1e-7,
    };
    const report: MatmulBenchReport = {
      ...{ command: 'npm run bench:matmul', date: '2026-01-01T00:00:00.000Z', adapter: 'llvmpipe' },
      ...{ tfjs: 'TF.js 4.22.0', rounds: 2, tiles: DIRECT, tuning: 'given' },
      ...{ load: { before: 1, after: 2 }, cpus: 2 },
      rows: [
        {
          shape: { M: 2, K: 2, N: 2, layout: 'nn' },
          ...{ name: '2×2×2', flops: 16, checked: 4 },
          projc: { ...side, dispatches: 1 },
          tfjs: { error: 'binding too large' },
        },
      ],
    };
    const md = matmulMarkdown(report);
    expect(md).toContain(
      '| 2×2×2 | 0.00 | 11 (10–12) | 2.00 (1.80–2.20) | fails: binding too large | — | — |',
    );
    expect(md).toContain(
      '6×16×2 tiles, 8×1 threads (direct, M fastest), given on the command line.',
    );
  });
});
