// The report writer and the checks, on made-up measurements.
import { describe, expect, it } from 'vitest';
import { computeChecks } from '../../src/bench/bench-checks.ts';
import type { ShapeResult } from '../../src/bench/bench-types.ts';
import {
  benchMarkdown,
  findings,
  measurementsTable,
  summaryTable,
  table,
} from '../../src/bench/report-markdown.ts';
import { benchPlots, groupByInner } from '../../src/bench/report-plots.ts';
import { readFileSync } from 'node:fs';
import { generateProgram } from '../../codegen/program.ts';
import { recomputedSteps } from '../../src/bench/bench-run.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import {
  fakeReport,
  fakeShapes,
  fakeTiledReport,
  FORWARD_STEP,
  MiB,
  shape,
  tiledTwin,
} from './fake-report.ts';
import { checkWellFormed } from './xml.ts';

const shapes = fakeShapes();
/** Tables are padded to align their columns: compare them with single spaces. */
const squash = (t: string) => t.replace(/ {2,}/g, ' ');

describe('checks', () => {
  it('pass when projc stays under half the baseline and agrees', () => {
    const c = computeChecks(shapes);
    expect(c.agreement).toBe(true);
    expect(c.worstRelError).toBe(3e-6);
    expect(c.peakOk).toBe(true);
    expect(c.worstPeakRatio).toBeCloseTo(1.5 / 4);
    expect(c.largestShape).toEqual({ N: 1024, H: 64, V: 512 });
    expect(c.largestShapeRatio).toBeCloseTo(1 / 16);
    expect(c.largestShapeConfig).toBe('projc 64');
  });

  it('fail when a peak passes half the baseline, or an error the tolerance', () => {
    const bad = [shape(256, 512, 4 * MiB, [[256, 2.5 * MiB, 80]])];
    expect(computeChecks(bad).peakOk).toBe(false);
    const s = shape(256, 512, 4 * MiB, [[256, 1 * MiB, 80]]);
    const wrong: ShapeResult = {
      ...s,
      configs: s.configs.map((c) =>
        c.kind === 'projc' ? { ...c, maxRelError: { out: 2e-3 } } : c,
      ),
    };
    expect(computeChecks([wrong]).agreement).toBe(false);
    expect(computeChecks([]).peakOk).toBe(false);
  });
});

describe('Markdown report', () => {
  it('escapes table cells', () => {
    expect(table(['a', 'b'], [['x|y', 'z']])).toBe(
      '| a    | b   |\n| ---- | --- |\n| x\\|y | z   |',
    );
  });

  it('tabulates every configuration with its ratios to the baseline', () => {
    const t = squash(measurementsTable(fakeReport(shapes)));
    const lines = t.split('\n');
    expect(lines).toHaveLength(2 + 6);
    expect(t).toContain('| N=256 H=64 V=512 | baseline (materialized) | 1 | 38 | 4.0 MiB |');
    expect(t).toContain(
      '| N=1024 H=64 V=512 | projc 64 rows [64] | 16 × 64 | 113 | 1.0 MiB | 6.3% | 400 (IQR 380–420; 360–440) | 4.00× (4.00–4.00) | 1.50 |',
    );
    expect(t).toContain('projc 1024 rows [auto, all]');
  });

  it('summarizes each shape: auto and smallest peaks, time ratios', () => {
    const t = squash(summaryTable(fakeReport(shapes)));
    expect(t).toContain(
      '| N=256 H=64 V=512 | 4.0 MiB | 37.5% (256 rows) | 25.0% (64 rows) | 100 | 0.80× (0.80–0.80) | 0.80× (256 rows) |',
    );
    expect(t).toContain(
      '| N=1024 H=64 V=512 | 16.0 MiB | 31.3% (1024 rows) | 6.3% (64 rows) | 100 | 2.00× (2.00–2.00) | 2.00× (1024 rows) |',
    );
  });

  it('explains from the data where projc is slower and what chunks cost', () => {
    const f = findings(fakeReport(shapes)).join('\n');
    expect(f).toContain('sweep 0: 2 steps per chunk, 0 of them products');
    expect(f).toContain(
      'Both run 3 products per pass over the rows, so projc recomputes no logits',
    );
    expect(f).toContain('projc is faster in every round at N=256 H=64 V=512 (0.80× (0.80–0.80))');
    expect(f).toContain('It is slower in every round at N=1024 H=64 V=512 (2.00× (2.00–2.00))');
    expect(f).not.toContain('either way');
    // 16 chunks of 64 rows: 1 + 16·7 = 113 steps against 8, 400 against 200 ms.
    expect(f).toContain('16 chunks of 64 rows launch 113 steps against 8 for 1 chunk of 1024');
    expect(f).toContain(
      'and take 2.00× (2.00–2.00) the time, round by round (1.90 ms per extra step, from the medians): the price of cutting the peak from 5.0 MiB to 1.0 MiB.',
    );
    expect(f).toMatch(/within 2\.\d% of the measured projc peak/);
    expect(f).toContain(
      "The automatic chunk size** (given) put all the rows in one chunk at 2 of 2 shapes. It was also the fastest of projc's chunk sizes at every shape.",
    );
  });

  it('calls a shape within the noise when its rounds go either way', () => {
    const s = shape(256, 512, 4 * MiB, [[256, 1 * MiB, 80]]);
    const noisy: ShapeResult = {
      ...s,
      configs: s.configs.map((c) => (c.kind === 'projc' ? { ...c, timesMs: [80, 120, 90] } : c)),
    };
    const f = findings(fakeReport([noisy])).join('\n');
    expect(f).toContain(
      'At N=256 H=64 V=512 (1.00× (0.80–1.09)) some rounds go either way: the difference is within the noise.',
    );
    expect(f).toContain('It is slower in every round at no shape.');
  });

  it('says when smaller chunks were faster, with the sizes of their logits buffers', () => {
    const fast = [
      shape(4096, 512, 64 * MiB, [
        [64, 2 * MiB, 50],
        [4096, 10 * MiB, 100],
      ]),
    ];
    const f = findings(fakeReport(fast)).join('\n');
    expect(f).toContain(
      '64 chunks of 64 rows launch 449 steps against 8 for 1 chunk of 4096, and take 0.50× (0.50–0.50) the time, round by round: more, smaller chunks are faster here in every round despite 441 more launches',
    );
    expect(f).toContain("A chunk's logits buffer is 128.0 KiB against 8.0 MiB");
    expect(f).toContain(
      "It was the fastest of projc's chunk sizes at 0 of 1 shapes; at the others the fastest had 64 rows per chunk.",
    );
  });

  it('writes the whole page: command, checks, tables, plots, compile times, the paper case', () => {
    const r = fakeReport(shapes);
    const md = squash(benchMarkdown(r, benchPlots(r)));
    expect(md).toContain('on `fake adapter`');
    expect(md).toContain(r.command);
    expect(md).toContain('**pass** Every projc run agrees');
    expect(md).toContain("**pass** projc's peak device bytes are at most 50.0%");
    expect(md).toContain('**met** At the largest shape (N=1024 H=64 V=512)');
    expect(md).toContain('![Peak device bytes against rows](peak-bytes-vs-rows.svg)');
    expect(md).toContain(
      '| examples/cross_entropy.proj | cross_entropy | 5 | 23,860 | 4.00 (3.00–5.00) |',
    );
    expect(md).toContain('**15.7%** of it');
    expect(md).toContain('wall time 123 s');
    expect(md).not.toMatch(/NaN|undefined/);
  });

  it('draws four well-formed plots from the data', () => {
    const r = fakeReport(shapes);
    const plots = benchPlots(r);
    expect(plots.map((p) => p.file)).toEqual([
      'peak-bytes-vs-rows.svg',
      'time-vs-rows.svg',
      'peak-bytes-vs-chunk.svg',
      'time-vs-chunk.svg',
    ]);
    for (const p of plots) {
      checkWellFormed(p.svg);
      expect(p.svg).not.toMatch(/NaN|undefined|Infinity/);
    }
    // One V: no group suffix in the legend.
    expect(groupByInner(r).map((g) => g.key)).toEqual(['']);
    expect(plots[0]?.svg).toContain('>projc auto</text>');
    expect(plots[2]?.svg).toContain('>projc, N=1024</text>');
  });

  it('groups shapes by the dims other than the rows that vary', () => {
    const r = fakeReport([...shapes, shape(256, 2048, 16 * MiB, [[256, 3 * MiB, 90]])]);
    expect(groupByInner(r).map((g) => [g.key, g.shapes.length])).toEqual([
      ['V=512', 2],
      ['V=2048', 1],
    ]);
  });
});

describe('vocabulary-tiling twins', () => {
  const tiling = { dim: 'V', widths: [128], recomputed: [{ step: FORWARD_STEP, passes: 2 }] };
  // A shape whose 256-row run also ran rows × V tiles of 128: its twin, at the same rows.
  const withTwin = (): ShapeResult[] => {
    const s = shape(1024, 512, 100 * MiB, [[256, 40 * MiB, 60]]);
    const rowsOnly = s.configs[1];
    if (!rowsOnly) throw new Error('no projc config');
    return [{ ...s, configs: [...s.configs, tiledTwin(rowsOnly, 128, 20 * MiB, 1.2)] }];
  };

  it('get a section: tiled time over rows-only per round, both peaks and the model', () => {
    const r = { ...fakeReport(withTwin()), vocabTiling: tiling };
    const md = squash(benchMarkdown(r, benchPlots(r)));
    expect(md).toContain('## Vocabulary tiling');
    // 4 tiles of 128 over V=512; no profile in this report: nothing to predict from.
    expect(md).toContain(
      '| N=1024 H=64 V=512 | 256 | 128 | 4 | 40.0 MiB | 20.0 MiB | 0.100% | 1.20× (1.10–1.30) | – |',
    );
    expect(md).toContain('projc 256 rows × V tiles of 128 [256 tiles]');
    expect(md).toContain('about 1 + s_z·(t − 1)/t of rows-only');
    expect(md).toContain(`(\`${FORWARD_STEP}\` in 2 passes;`);
  });

  // fakeTiledReport: rows-only at 256 rows (profiled: 100 ms, 40 of them in z = X·Wᵀ) and at
  // 1024 rows, each with twins of 128 and 256 (4 and 2 tiles over V=512).
  it('get one row per chunk rows and width, predicted from the profile at its chunk rows', () => {
    const r = fakeTiledReport();
    const md = squash(benchMarkdown(r, benchPlots(r)));
    const rows = md.split('\n').filter((l) => /^\| N=1024 H=64 V=512 \| \d+ \| \d+ \|/.test(l));
    expect(rows).toEqual([
      // By chunk rows, then width. (100 + 40·3/4)/100 and (100 + 40·1/2)/100 at the
      // profiled run's chunk rows.
      '| N=1024 H=64 V=512 | 256 | 128 | 4 | 40.0 MiB | 20.0 MiB | 0.100% | 1.31× (1.21–1.41) | 1.30× |',
      '| N=1024 H=64 V=512 | 256 | 256 | 2 | 40.0 MiB | 25.0 MiB | 0.100% | 1.18× (1.08–1.28) | 1.20× |',
      // No profile at 1024 rows.
      '| N=1024 H=64 V=512 | 1024 | 128 | 4 | 60.0 MiB | 30.0 MiB | 0.100% | 1.25× (1.15–1.35) | – |',
      '| N=1024 H=64 V=512 | 1024 | 256 | 2 | 60.0 MiB | 40.0 MiB | 0.100% | 1.15× (1.05–1.25) | – |',
    ]);
    expect(md).toContain('one tiled program per width (128, 256)');
    // How the ratio and the peak move with the width, per chunk rows.
    expect(md).toContain(
      "- At N=1024 H=64 V=512, 256 rows: 1.31× at 128 (4 tiles) for a peak of 20.0 MiB, 1.18× at 256 (2 tiles) for a peak of 25.0 MiB, against rows-only's 40.0 MiB.",
    );
    expect(md).not.toMatch(/NaN|undefined/);
  });

  it('predict nothing where the profile lacks the recomputed steps', () => {
    const r = {
      ...fakeTiledReport(),
      vocabTiling: { ...tiling, recomputed: [{ step: 'no such step', passes: 2 }] },
    };
    const md = squash(benchMarkdown(r, benchPlots(r)));
    expect(md).toContain(
      '| 256 | 128 | 4 | 40.0 MiB | 20.0 MiB | 0.100% | 1.31× (1.21–1.41) | – |',
    );
  });

  it('take no part in the chunk-size comparison of the rows-only runs', () => {
    expect(findings(fakeReport(withTwin())).join('\n')).not.toContain('**Chunk size');
  });

  it('leave the section out of a report without them', () => {
    const r = fakeReport(shapes);
    expect(benchMarkdown(r, benchPlots(r))).not.toContain('## Vocabulary tiling');
  });
});

describe('recomputedSteps', () => {
  it("names the rows-only profile's step of the product the tiled passes project: z = X·Wᵀ", () => {
    const path = 'examples/cross_entropy.proj';
    const kernel = compileFile({ path, text: readFileSync(path, 'utf8') }).kernels.get(
      'cross_entropy',
    );
    if (!kernel) throw new Error('no kernel');
    const gen = (vocabTile?: number, grad = ['X', 'W']) => {
      const p = planKernel({
        kernel,
        grad,
        ...(vocabTile ? { schedule: { vocabTile } } : {}),
      });
      return generateProgram(p.fn, p.plan);
    };
    const rowsOnly = gen();
    // Statistics pass, then the backward pass: z_t is projected in both.
    expect(recomputedSteps(rowsOnly, gen(512))).toEqual([
      {
        step: expect.stringMatching(/^sweep\d+ matmul %\d+ \[N, V\] = in\.X · in\.W$/),
        passes: 2,
      },
    ]);
    // Without gradients the one statistics pass computes z once: nothing extra to predict.
    expect(recomputedSteps(gen(undefined, []), gen(512, [])).map((x) => x.passes)).toEqual([1]);
    // Not a tiled program: nothing is recomputed.
    expect(recomputedSteps(rowsOnly, rowsOnly)).toEqual([]);
  });
});

describe('matmul tiles', () => {
  it('say whether the products ran tuned or portable tiles', () => {
    const tiles = { tileM: 64, tileN: 64, tileK: 16, threadsX: 16, threadsY: 16 };
    const tuned = benchMarkdown({ ...fakeReport(shapes), matmulTiles: tiles }, []);
    expect(tuned).toContain('found fastest on this device before the measurements');
    const portable = benchMarkdown(
      { ...fakeReport(shapes), matmulTiles: tiles, matmulTilesPortable: true },
      [],
    );
    expect(portable).toContain('the portable default tiles (`--matmul-tiles portable`)');
    expect(portable).not.toContain('found fastest');
  });
});
