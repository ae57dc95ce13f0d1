// TF.js as a peer of `projc bench`, on tiny shapes: it runs through the command on its own
// webgpu device, agrees with the baseline, and the report carries its rows and plot lines.
// A peer whose results disagree is reported as failed, with no ratio, not as a number.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateProgram } from '../../codegen/program.ts';
import { computeChecks } from '../../src/bench/bench-checks.ts';
import { measureShapes } from '../../src/bench/bench-run.ts';
import type { BenchReport } from '../../src/bench/bench-types.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { acquireDevice } from '../../src/runtime/device.ts';
import { tfjsTable } from '../../src/bench/report-markdown.ts';
import { benchCommand, parsePeers } from '../../src/cli/bench-command.ts';
import { UsageError } from '../../src/cli/usage.ts';
import { checkWellFormed } from './xml.ts';

const quiet = { out: () => undefined, err: () => undefined };

describe('--peers', () => {
  it('parses eager,tfjs and requires the eager reference', () => {
    expect(parsePeers(undefined)).toEqual({ tfjs: undefined });
    expect(parsePeers('eager,tfjs')).toEqual({ tfjs: true });
    expect(parsePeers('eager')).toEqual({ tfjs: false });
    expect(() => parsePeers('tfjs')).toThrow(UsageError);
    expect(() => parsePeers('eager,torch')).toThrow(/--peers takes `eager` and `tfjs`/);
  });

  it('refuses tfjs for a kernel the TF.js peer does not implement', async () => {
    await expect(
      benchCommand(
        ['examples/z_loss.proj'],
        { grad: 'X,W', grid: 'N=16,V=32', dims: 'H=8', repeats: '1', peers: 'eager,tfjs' },
        quiet,
        { tty: false, compileRuns: 1 },
      ),
    ).rejects.toThrow(/--peers tfjs: the TF.js peer implements `cross_entropy/);
  });
});

it('runs TF.js beside projc and the baseline, agreeing, with its rows in the report', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'projc-bench-tfjs-')), 'bench');
  let stderr = '';
  const code = await benchCommand(
    ['examples/cross_entropy.proj'],
    {
      grad: 'X,W',
      grid: 'N=64|128,V=128',
      dims: 'H=16',
      repeats: '2',
      'chunk-rows': '16',
      peers: 'eager,tfjs',
      out,
    },
    { out: () => undefined, err: (t) => (stderr += t) },
    { tty: false, compileRuns: 1 },
  );
  expect(stderr).not.toContain('error');
  expect(code).toBe(0);
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
  expect(r.peers).toEqual(['eager', 'tfjs']);
  expect(r.shapes).toHaveLength(2);
  for (const s of r.shapes) {
    const tf = s.configs.find((c) => c.kind === 'tfjs');
    expect(tf?.failure).toBeUndefined();
    expect(tf?.timesMs).toHaveLength(2);
    // Its inputs alone: X, W, the one-hot labels and the row weights, in f32.
    const n = s.dims['N'] ?? 0;
    expect(tf?.peakBytes).toBeGreaterThan(4 * (n * 16 + 128 * 16 + n * 128 + n));
    expect(Object.keys(tf?.maxRelError ?? {}).sort()).toEqual(['grad.W', 'grad.X', 'out']);
    for (const e of Object.values(tf?.maxRelError ?? {})) expect(e).toBeLessThanOrEqual(1e-4);
  }
  const md = readFileSync(join(out, 'README.md'), 'utf8');
  expect(md).toContain('## TF.js');
  expect(md).toContain('--peers eager,tfjs');
  expect(md).toMatch(/\| N=64 H=16 V=128 +\| [0-9.]+ +\| [0-9.]+ KiB .*\| agrees \(/);
  expect(md).toMatch(/\| N=128 H=16 V=128 +\| TF\.js +\|/);
  const plot = readFileSync(join(out, 'time-vs-rows.svg'), 'utf8');
  checkWellFormed(plot);
  expect(plot).toContain('>TF.js<');
  expect(existsSync(join(out, 'peak-bytes-vs-rows.svg'))).toBe(true);

  // The same report with TF.js's loss made wrong at one shape: a failure, no ratio there.
  const broken: BenchReport = {
    ...r,
    shapes: r.shapes.map((s, i) =>
      i === 0
        ? {
            ...s,
            configs: s.configs.map((c) =>
              c.kind === 'tfjs' ? { ...c, failure: 'disagrees with the baseline on `out`' } : c,
            ),
          }
        : s,
    ),
  };
  const [, , failed, fine] = tfjsTable(broken).split('\n');
  expect(failed).toContain('**FAIL**: disagrees with the baseline on `out`');
  expect(failed).not.toMatch(/×/);
  expect(fine).toMatch(/\d\.\d\d× \(/);
});

it('records a baseline past a binding limit as failed and checks TF.js against projc there', async () => {
  const path = 'examples/cross_entropy.proj';
  const kernel = compileFile({ path, text: readFileSync(path, 'utf8') }).kernels.get(
    'cross_entropy',
  );
  if (!kernel) throw new Error('no kernel');
  const planned = planKernel({ kernel, grad: ['X', 'W'] });
  const dev = await acquireDevice();
  // 64 × 128 f32 logits are 32 KiB: the baseline materializes them in one binding, projc's
  // own chunk choice stays under 16 KiB per binding.
  const limits = { ...dev.limits, maxStorageBufferBindingSize: 16 * 1024 };
  try {
    const [s] = await measureShapes({
      dev: { ...dev, limits },
      program: generateProgram(planned.fn, planned.plan),
      kernel,
      shapes: [
        new Map([
          ['N', 64],
          ['H', 16],
          ['V', 128],
        ]),
      ],
      chunks: [],
      repeats: 1,
      seed: 0,
      tolerance: 1e-4,
      tfjs: true,
      grad: ['X', 'W'],
    });
    const base = s?.configs.find((c) => c.kind === 'baseline');
    expect(base?.failure).toMatch(/maxStorageBufferBindingSize/);
    expect(base?.timesMs).toEqual([]);
    // No ratio to a baseline that did not run (not NaN, which results.json cannot hold).
    for (const c of s?.configs ?? []) if (c.kind !== 'baseline') expect(c.timeRatio?.n).toBe(0);
    const tf = s?.configs.find((c) => c.kind === 'tfjs');
    expect(tf?.failure).toBeUndefined();
    expect(tf?.maxRelError['out']).toBeLessThanOrEqual(1e-4);
    expect(tf?.timesMs).toHaveLength(1);
    if (!s) throw new Error('no shape');
    expect(computeChecks([s]).peakOk).toBe(false);
  } finally {
    dev.release();
  }
});
