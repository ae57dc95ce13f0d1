// docs/bench/README.md from the measurements: the checks, one table per measure, the plots,
// the compile times, the seed case on paper, and what the numbers say about where the time
// goes (every sentence there is computed from the data).
import { formatBytes } from '../shell/format-bytes.ts';
import { NPM_BENCH_COMMAND, shapeText } from './bench-args.ts';
import { spread, type Spread } from './bench-stats.ts';
import type { BenchReport, ConfigResult, ShapeResult } from './bench-types.ts';
import { autoOf, baselineOf, groupByInner, tfjsOf, type Plot } from './report-plots.ts';
import { floorCheckLine, floorSection } from './report-floor.ts';
import { pct, ratio, table } from './report-table.ts';

export { pct, ratio, table } from './report-table.ts';

export const msText = (v: number) =>
  !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const spreadText = (s: Spread) =>
  s.n
    ? `${msText(s.median)} (IQR ${msText(s.q1)}–${msText(s.q3)}; ${msText(s.min)}–${msText(s.max)})`
    : '–';
const mark = (ok: boolean) => (ok ? '**pass**' : '**FAIL**');

/** projc's time over the baseline's: the median of the per-round ratios when there are any. */
export function timeRatioOf(c: ConfigResult, base: ConfigResult | undefined): number {
  if (c.timeRatio && c.timeRatio.n > 0) return c.timeRatio.median;
  return base ? c.time.median / base.time.median : NaN;
}

/** The ratios of two configurations' times round by round (`a` over `b`). */
export function roundRatios(a: ConfigResult, b: ConfigResult): Spread {
  return spread(a.timesMs.map((t, i) => t / (b.timesMs[i] ?? NaN)).filter(Number.isFinite));
}

/** `0.74× (0.43–0.87)`: the median ratio over the rounds and its range. */
export function ratioRange(s: Spread): string {
  return s.n > 1 ? `${ratio(s.median)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : ratio(s.median);
}

/** Whether a ratio was under 1 in every round, over 1 in every round, or either. */
export function verdict(s: Spread): 'faster' | 'slower' | 'mixed' {
  return s.max < 1 ? 'faster' : s.min > 1 ? 'slower' : 'mixed';
}

const ratioSpread = (c: ConfigResult, base: ConfigResult | undefined) =>
  c.timeRatio && c.timeRatio.n > 0 ? ratioRange(c.timeRatio) : ratio(timeRatioOf(c, base));

/** A projc run's chunk rows, and its vocabulary tiles when it ran the tiled shape. */
function rowsText(c: ConfigResult): string {
  return `${c.chunkRows} rows${c.vocabTile !== undefined ? ` × V tiles of ${c.vocabTile}` : ''}`;
}

function configName(c: ConfigResult): string {
  if (c.kind === 'baseline')
    return c.failure !== undefined
      ? 'baseline (materialized): could not run'
      : 'baseline (materialized)';
  if (c.kind === 'tfjs') return c.failure !== undefined ? 'TF.js (failed)' : 'TF.js';
  const also = c.requests.length ? ` [${c.requests.join(', ')}]` : '';
  return `projc ${rowsText(c)}${also}`;
}

/** One row per configuration of each shape: bytes, time and their ratios to the baseline. */
export function measurementsTable(r: BenchReport): string {
  const rows: string[][] = [];
  for (const s of r.shapes) {
    const base = baselineOf(s);
    for (const c of s.configs) {
      const isBase = c.kind === 'baseline';
      rows.push([
        shapeText(s.dims),
        configName(c),
        isBase || c.kind === 'tfjs' ? '1' : `${c.chunks} × ${c.chunkRows}`,
        c.kind === 'tfjs' ? '' : String(c.steps),
        formatBytes(c.peakBytes),
        isBase || !base ? '' : pct(c.peakBytes / base.peakBytes),
        spreadText(c.time),
        isBase ? '' : ratioSpread(c, base),
        c.failure !== undefined ? '–' : c.effectiveGflops.toFixed(2),
      ]);
    }
  }
  return table(
    [
      'shape',
      'run',
      'chunks × rows',
      'steps/run',
      'peak bytes',
      'peak / baseline',
      'compute ms: median (IQR; min–max)',
      'time / baseline: median (min–max) of the rounds',
      'effective GFLOP/s',
    ],
    rows,
  );
}

/** One row per shape: the ratios that matter. */
export function summaryTable(r: BenchReport): string {
  const rows = r.shapes.map((s) => {
    const base = baselineOf(s);
    const auto = autoOf(s);
    const projc = s.configs.filter((c) => c.kind === 'projc');
    const least = projc.reduce<ConfigResult | undefined>(
      (a, c) => (!a || c.peakBytes < a.peakBytes ? c : a),
      undefined,
    );
    const fastest = projc.reduce<ConfigResult | undefined>(
      (a, c) => (!a || timeRatioOf(c, base) < timeRatioOf(a, base) ? c : a),
      undefined,
    );
    const b = base?.peakBytes ?? NaN;
    const t = base?.time.median ?? NaN;
    return [
      shapeText(s.dims),
      base?.failure !== undefined ? 'could not run' : formatBytes(b),
      auto ? `${pct(auto.peakBytes / b)} (${auto.chunkRows} rows)` : '–',
      least ? `${pct(least.peakBytes / b)} (${least.chunkRows} rows)` : '–',
      msText(t),
      auto ? ratioSpread(auto, base) : '–',
      fastest ? `${ratio(timeRatioOf(fastest, base))} (${fastest.chunkRows} rows)` : '–',
    ];
  });
  return table(
    [
      'shape',
      'baseline peak',
      'projc auto peak / baseline',
      'smallest projc peak / baseline',
      'baseline ms',
      'projc auto time / baseline: median (range) of the rounds',
      'fastest projc time / baseline',
    ],
    rows,
  );
}

/** `At every shape with V=512 projc auto is slower; ...`: groups where the sign of the ratio is uniform. */
function byGroup(r: BenchReport, ratios: readonly { s: ShapeResult; v: Spread }[]): string {
  const parts: string[] = [];
  for (const g of groupByInner(r)) {
    if (!g.key) continue;
    const vs = ratios.filter((t) => g.shapes.includes(t.s)).map((t) => verdict(t.v));
    if (vs.length < 2) continue;
    if (vs.every((v) => v === 'slower')) parts.push(`slower at every shape with ${g.key}`);
    else if (vs.every((v) => v === 'faster')) parts.push(`faster at every shape with ${g.key}`);
  }
  return parts.length ? `In short, projc auto is ${parts.join(', and ')}, in every round. ` : '';
}

/** Observations computed from the measurements: where projc is slower, and why. */
export function findings(r: BenchReport): string[] {
  const out: string[] = [];
  const p = r.program;
  const products = p.sweeps.reduce((s, sw) => s + sw.productsPerChunk, 0);
  const baseProducts = r.shapes[0]?.products ?? 0;
  out.push(
    `**Schedule.** projc runs ${p.sweeps.filter((sw) => !sw.pre).length} sweep${p.sweeps.filter((sw) => !sw.pre).length === 1 ? '' : 's'} over the chunks${p.sweeps.some((sw) => sw.pre) ? ` and ${p.sweeps.filter((sw) => sw.pre).length} pre-pass over all the rows` : ''} (${p.sweeps
      .map((sw) =>
        sw.pre
          ? `pre-pass ${sw.index}: ${sw.stepsPerChunk} step${sw.stepsPerChunk === 1 ? '' : 's'} once over all the rows, no products`
          : `sweep ${sw.index}: ${sw.stepsPerChunk} step${sw.stepsPerChunk === 1 ? '' : 's'} per chunk, ${sw.productsPerChunk} of them product${sw.productsPerChunk === 1 ? '' : 's'}`,
      )
      .join(
        '; ',
      )}) plus ${p.globalKernels} kernel${p.globalKernels === 1 ? '' : 's'} outside the loop; the baseline launches ${p.baselineKernels} kernels over whole tensors. ` +
      (products === baseProducts
        ? `Both run ${products} products per pass over the rows, so projc recomputes no logits: a sweep without products costs only its row kernels.`
        : `projc runs ${products} products per pass over the rows against the baseline's ${baseProducts}: the ${products > baseProducts ? 'extra ones recompute logits in a later sweep' : 'difference is work the plan avoids'}.`),
  );

  // Memory: what the baseline holds, and how well the model predicts projc's peak.
  // Among the shapes where the baseline ran.
  const big = r.shapes.reduce<ShapeResult | undefined>(
    (a, s) => (baselineOf(s)?.failure === undefined && (!a || s.logits > a.logits) ? s : a),
    undefined,
  );
  const bigBase = big && baselineOf(big);
  if (big && bigBase) {
    const f32 = big.logits * 4;
    out.push(
      `**Memory.** At ${shapeText(big.dims)} the baseline's peak (${formatBytes(bigBase.peakBytes)}) is ${(bigBase.peakBytes / f32).toFixed(2)}× one f32 copy of the ${big.logits.toLocaleString('en-US')} logits: several rows × vocabulary tensors are alive at once. projc's peak is its inputs, results and accumulators plus one chunk: ${big.configs
        .filter((c) => c.kind === 'projc')
        .map((c) => `${formatBytes(c.peakBytes)} at ${rowsText(c)}`)
        .join(', ')}.`,
    );
  }
  let worstModel = 0;
  for (const s of r.shapes)
    for (const c of s.configs)
      if (c.predictedPeakBytes)
        worstModel = Math.max(worstModel, Math.abs(c.peakBytes / c.predictedPeakBytes - 1));
  out.push(
    `**Memory model.** The runtime's prediction (\`memoryModel\`, what \`projc plan\` prints) is within ${pct(worstModel)} of the measured projc peak at every shape and chunk size.`,
  );

  // Time: projc against the baseline, from the ratios of the runs of each round (seconds
  // apart, so both see about the same load); a ratio on both sides of 1 is within the noise.
  const timeRatios = r.shapes.flatMap((s) => {
    const base = baselineOf(s);
    const auto = autoOf(s);
    return base && auto ? [{ s, v: roundRatios(auto, base) }] : [];
  });
  const item = (t: { s: ShapeResult; v: Spread }) => `${shapeText(t.s.dims)} (${ratioRange(t.v)})`;
  const faster = timeRatios.filter((t) => verdict(t.v) === 'faster');
  const slower = timeRatios.filter((t) => verdict(t.v) === 'slower');
  const mixed = timeRatios.filter((t) => verdict(t.v) === 'mixed');
  if (timeRatios.length)
    out.push(
      `**Time, projc auto against the baseline** (median and range of the ratio over the rounds). ` +
        (faster.length
          ? `projc is faster in every round at ${faster.map(item).join(', ')}. `
          : '') +
        (slower.length
          ? `It is slower in every round at ${slower.map(item).join(', ')}. `
          : 'It is slower in every round at no shape. ') +
        (mixed.length
          ? `At ${mixed.map(item).join(', ')} some rounds go either way: the difference is within the noise. `
          : '') +
        `${byGroup(r, timeRatios)}Both sides run the same matmul kernels (\`MatmulRunner\`), on the same shapes when projc takes all the rows in one chunk; what differs is the rest: the baseline's ${p.baselineKernels} one-thread-per-element kernels over whole tensors against projc's fused row kernels (one 64-thread workgroup per row, strided loops and workgroup reductions over the vocabulary, i.e. barriers, which llvmpipe runs on 2 CPU cores) and its per-chunk launches. Kernels were not timed one by one: llvmpipe has no timestamp queries.`,
    );

  // The automatic choice, and which chunk size was fastest.
  const autos = r.shapes.flatMap((s) => {
    const a = autoOf(s);
    return a ? [{ s, a }] : [];
  });
  const allRows = autos.filter(({ s, a }) => a.chunkRows === s.rows).length;
  const reasons = [...new Set(autos.map(({ a }) => a.chunkReason ?? '?'))];
  const fastestAt = r.shapes.map((s) => {
    const base = baselineOf(s);
    return s.configs
      .filter((c) => c.kind === 'projc')
      .reduce<ConfigResult | undefined>(
        (a, c) => (!a || timeRatioOf(c, base) < timeRatioOf(a, base) ? c : a),
        undefined,
      );
  });
  const autoFastest = fastestAt.filter((c) => c?.requests.includes('auto')).length;
  const others = [
    ...new Set(
      fastestAt.filter((c) => c && !c.requests.includes('auto')).map((c) => `${c?.chunkRows}`),
    ),
  ];
  if (autos.length)
    out.push(
      `**The automatic chunk size** (${reasons.join(', ')}) put all the rows in one chunk at ${allRows} of ${autos.length} shapes. ` +
        (autoFastest === r.shapes.length
          ? "It was also the fastest of projc's chunk sizes at every shape."
          : `It was the fastest of projc's chunk sizes at ${autoFastest} of ${r.shapes.length} shapes; at the others the fastest had ${others.join(' or ')} rows per chunk.`),
    );

  // Chunk size: what more, smaller chunks cost or save, at the most rows of each group.
  for (const g of groupByInner(r)) {
    const s = g.shapes.reduce((a, b) => (b.rows > a.rows ? b : a));
    const projc = s.configs.filter(
      (c) => c.kind === 'projc' && c.time.n > 0 && c.vocabTile === undefined,
    );
    if (projc.length < 2) continue;
    const small = projc.reduce((a, c) => ((c.chunkRows ?? 0) < (a.chunkRows ?? 0) ? c : a));
    const large = projc.reduce((a, c) => ((c.chunkRows ?? 0) > (a.chunkRows ?? 0) ? c : a));
    const v = roundRatios(small, large);
    const dt = small.time.median - large.time.median;
    const dSteps = small.steps - large.steps;
    const inner = s.logits / Math.max(1, s.rows);
    const buf = (c: ConfigResult) => formatBytes((c.chunkRows ?? 0) * inner * 4);
    const head = `**Chunk size at ${shapeText(s.dims)}.** ${small.chunks} chunks of ${small.chunkRows} rows launch ${small.steps} steps against ${large.steps} for ${large.chunks} chunk${large.chunks === 1 ? '' : 's'} of ${large.chunkRows}, and take ${ratioRange(v)} the time, round by round`;
    const peaks = `${formatBytes(large.peakBytes)} to ${formatBytes(small.peakBytes)}`;
    const verdictOf = verdict(v);
    if (verdictOf === 'slower')
      out.push(
        `${head}${dt > 0 && dSteps > 0 ? ` (${msText(dt / dSteps)} ms per extra step, from the medians)` : ''}: the price of cutting the peak from ${peaks}.`,
      );
    else if (verdictOf === 'faster')
      out.push(
        `${head}: more, smaller chunks are faster here in every round despite ${dSteps} more launches, and cut the peak from ${peaks}. A chunk's logits buffer is ${buf(small)} against ${buf(large)}, a working set a CPU's caches hold: a likely cause, not a measured one (kernels were not timed one by one).`,
      );
    else
      out.push(
        `${head}: some rounds go either way, so the extra launches cost nothing that stands out of the noise, while the peak falls from ${peaks}.`,
      );
  }

  // Throughput and noise.
  const all = r.shapes.flatMap((s) =>
    s.configs.filter((c) => c.time.n > 0 && c.failure === undefined),
  );
  if (all.length) {
    const best = all.reduce((a, c) => (c.effectiveGflops > a.effectiveGflops ? c : a));
    const rel = (c: ConfigResult) => (c.time.q3 - c.time.q1) / c.time.median;
    const noisy = all.reduce((a, c) => (rel(c) > rel(a) ? c : a));
    const typical = [...all.map(rel)].sort((a, b) => a - b)[Math.floor(all.length / 2)] ?? NaN;
    out.push(
      `**Throughput and noise.** The best effective rate is ${best.effectiveGflops.toFixed(2)} GFLOP/s (${configName(best)}): a CPU rasterizer, not a GPU, so only ratios measured in the same run mean anything. The IQR of a configuration's times is typically ${pct(typical)} of its median and at most ${pct(rel(noisy))} (${configName(noisy)}); the runs were interleaved and time ratios are taken within a round, so that load from other processes falls on both sides alike.`,
    );
  }
  return out;
}

export function compileTable(r: BenchReport): string {
  return table(
    ['file', 'kernels', 'WGSL modules', 'WGSL bytes', 'median ms (min–max)'],
    r.compile.map((c) => [
      c.file,
      c.kernels.join(', '),
      String(c.modules),
      c.wgslBytes.toLocaleString('en-US'),
      `${msText(c.ms.median)} (${msText(c.ms.min)}–${msText(c.ms.max)})`,
    ]),
  );
}

/** The link to the GPU benchmark (src/bench/gpu/), which has its own report. */
export const GPU_BENCH_LINK =
  "`npm run bench:gpu` measures projc's matmul against the adapter's peak and cross-entropy at the CCE paper's and the seed case's real sizes on a GPU, and says how to run it through the device tool: [gpu/README.md](gpu/README.md), results in [gpu/results.md](gpu/results.md).";

const worstError = (c: ConfigResult) => Math.max(0, ...Object.values(c.maxRelError));

/**
 * One row per shape where TF.js ran: its time and peak, projc auto's over them (round by
 * round), and whether TF.js's results agree with the baseline's; a failed shape says why.
 */
export function tfjsTable(r: BenchReport): string {
  const rows = r.shapes.flatMap((s) => {
    const tf = tfjsOf(s);
    const auto = autoOf(s);
    if (!tf) return [];
    const failed = tf.failure !== undefined;
    return [
      [
        shapeText(s.dims),
        msText(tf.time.median),
        tf.peakBytes > 0 ? formatBytes(tf.peakBytes) : '–',
        auto ? msText(auto.time.median) : '–',
        auto ? formatBytes(auto.peakBytes) : '–',
        auto && !failed ? ratioRange(roundRatios(auto, tf)) : '–',
        auto && !failed && tf.peakBytes > 0 ? pct(auto.peakBytes / tf.peakBytes) : '–',
        failed
          ? `**FAIL**: ${tf.failure}`
          : `agrees (${worstError(tf).toExponential(2)}${baselineOf(s)?.failure !== undefined ? ', with projc' : ''})`,
      ],
    ];
  });
  return table(
    [
      'shape',
      'TF.js ms (median)',
      'TF.js peak',
      'projc auto ms',
      'projc auto peak',
      'projc auto time / TF.js: median (min–max) of the rounds',
      'projc auto peak / TF.js peak',
      'TF.js against the baseline: worst max|a−b|/max|b|',
    ],
    rows,
  );
}

function tfjsSection(r: BenchReport): string[] {
  const ran = r.shapes.some((s) => tfjsOf(s));
  const skipped = r.peersSkipped ?? [];
  if (!ran && skipped.length === 0) return [];
  const baseFailed = r.shapes.flatMap((s) => {
    const b = baselineOf(s);
    return b?.failure !== undefined
      ? [
          `- At ${shapeText(s.dims)} the baseline could not run (${b.failure}); TF.js is checked against projc's own-choice run there.`,
        ]
      : [];
  });
  return [
    '## TF.js',
    '',
    "TF.js's own forward and backward (`src/bench/tfjs-peer.ts`): `tf.valueAndGrads` of `tf.losses.softmaxCrossEntropy(oneHot(target), tf.matMul(X, W, false, true), keep, label_smoothing)` summed and divided by the kept rows, f32 on TF.js's `webgpu` backend, which asks Dawn's `navigator.gpu` for its own compatibility-level adapter and device: it shares only the adapter kind with projc. It runs in the same interleaved rounds. **Time** is the wall time of the call until TF.js's queue reports its work done (`submitQueue` + `onSubmittedWorkDone`), inputs already uploaded; **peak** is the tensor bytes TF.js's engine tracks at the peak of one run (`tf.profile().peakBytes`, inputs included), a lower bound of its device bytes since its buffer manager keeps freed buffers for reuse. A shape where TF.js's results disagree with the baseline's, or where it throws, is a peer failure: no ratio is taken there.",
    '',
    ...skipped.map((x) => `- Not run: ${x}`),
    ...baseFailed,
    ...(skipped.length || baseFailed.length ? [''] : []),
    ...(ran ? [tfjsTable(r), ''] : []),
  ];
}

/** t = ⌈size / T⌉: the tiles of width `width` over a shape's tiled dim (undefined without the record). */
export function tileCount(r: BenchReport, s: ShapeResult, width: number): number | undefined {
  const size = r.vocabTiling ? s.dims[r.vocabTiling.dim] : undefined;
  return size !== undefined && width > 0 ? Math.ceil(size / width) : undefined;
}

/**
 * What the shape's profiled rows-only run predicts for a tiled twin's time ÷ rows-only:
 * (total + z·(t − 1)/t) / total, z the ms of the products the tiled shape computes in each
 * pass over the tiles (`vocabTiling.recomputed`): with gradients the backward pass computes
 * each logit tile again, less the one the statistics pass left resident (P passes: z·(P − 1)
 * in place of z). Undefined where the shape has no profile, where it profiled other chunk
 * rows, or where its profile lacks those steps.
 */
export function tiledRatioFromProfile(
  r: BenchReport,
  s: ShapeResult,
  c: ConfigResult,
): number | undefined {
  const profiled = s.configs.find((o) => o.kind === 'projc' && o.profile);
  const p = profiled?.profile;
  const t = c.vocabTile !== undefined ? tileCount(r, s, c.vocabTile) : undefined;
  const recomputed = r.vocabTiling?.recomputed ?? [];
  if (!p || !(p.totalMs > 0) || t === undefined || profiled?.chunkRows !== c.chunkRows)
    return undefined;
  let z = 0;
  let found = false;
  for (const { step, passes } of recomputed) {
    const x = p.steps.find((y) => y.step === step);
    if (!x) continue;
    found = true;
    z += x.ms * (passes - 1);
  }
  if (!found) return undefined;
  return (p.totalMs + (z * (t - 1)) / t) / p.totalMs;
}

/**
 * A shape's tiled twins (each with its ratio to rows-only), by chunk rows then tile width:
 * each chunk size's trade-off curve reads down the report's table.
 */
export function tiledTwinsOf(s: ShapeResult): ConfigResult[] {
  return s.configs
    .filter((c) => c.kind === 'projc' && c.vocabTile !== undefined && c.rowsOnlyRatio)
    .sort(
      (a, b) => (a.chunkRows ?? 0) - (b.chunkRows ?? 0) || (a.vocabTile ?? 0) - (b.vocabTile ?? 0),
    );
}

/** The rows-only run a tiled twin is measured against: the same chunk rows, no tiles. */
function rowsOnlyOf(s: ShapeResult, c: ConfigResult): ConfigResult | undefined {
  return s.configs.find(
    (o) => o.kind === 'projc' && o.vocabTile === undefined && o.chunkRows === c.chunkRows,
  );
}

/**
 * Per shape and chunk rows with more than one width: how the ratio and the peak move with
 * the tile width (a sentence computed from the rows of the table).
 */
function widthSentences(r: BenchReport): string[] {
  const out: string[] = [];
  for (const s of r.shapes) {
    const twins = tiledTwinsOf(s);
    for (const rows of [...new Set(twins.map((c) => c.chunkRows))]) {
      const ws = twins.filter((c) => c.chunkRows === rows);
      const rowsOnly = ws[0] && rowsOnlyOf(s, ws[0]);
      if (ws.length < 2) continue;
      const each = ws
        .map((c) => {
          const t = tileCount(r, s, c.vocabTile ?? 0);
          return `${ratio(c.rowsOnlyRatio?.median ?? NaN)} at ${c.vocabTile}${t !== undefined ? ` (${t} tiles)` : ''} for a peak of ${formatBytes(c.peakBytes)}`;
        })
        .join(', ');
      out.push(
        `At ${shapeText(s.dims)}, ${rows} rows: ${each}${rowsOnly ? `, against rows-only's ${formatBytes(rowsOnly.peakBytes)}` : ''}.`,
      );
    }
  }
  return out;
}

/**
 * The rows × vocabulary-tiles twins (`--vocab-tile T1,T2,...`) against the rows-only run at
 * the same chunk rows: per tile width, time ratio per round, what the profile predicts,
 * peaks and the memory model's prediction.
 */
function tilingSection(r: BenchReport): string[] {
  const rows = r.shapes.flatMap((s) =>
    tiledTwinsOf(s).flatMap((c) => {
      if (c.vocabTile === undefined || !c.rowsOnlyRatio) return [];
      const twin = rowsOnlyOf(s, c);
      const predicted = c.predictedPeakBytes;
      const t = tileCount(r, s, c.vocabTile);
      const fromProfile = tiledRatioFromProfile(r, s, c);
      return [
        [
          shapeText(s.dims),
          `${c.chunkRows}`,
          `${c.vocabTile}`,
          t !== undefined ? `${t}` : '–',
          twin ? formatBytes(twin.peakBytes) : '–',
          formatBytes(c.peakBytes),
          predicted ? `${(((predicted - c.peakBytes) / c.peakBytes) * 100).toFixed(3)}%` : '–',
          `${ratioRange(c.rowsOnlyRatio)}`,
          fromProfile !== undefined ? ratio(fromProfile) : '–',
        ],
      ];
    }),
  );
  if (!rows.length) return [];
  const widths = r.vocabTiling?.widths ?? [];
  const dim = r.vocabTiling?.dim ?? 'V';
  const sentences = widthSentences(r);
  const recomputed = r.vocabTiling?.recomputed ?? [];
  return [
    '## Vocabulary tiling',
    '',
    `The same kernel planned rows × ${dim} tiles (\`--vocab-tile\`, docs/runtime.md §2) at the rows-only run's chunk rows, in the same interleaved rounds${widths.length > 1 ? `, one tiled program per width (${widths.join(', ')})` : ''}; a width that holds all of ${dim} is not run at that shape. Its forward loops over the t = ⌈${dim}/T⌉ tiles keeping each row's statistics; the backward recomputes each logit tile z_t and forms dz_t tile by tile. With gradients each tile's forward product is therefore computed twice, less the one tile the statistics pass leaves resident, so the tiled time is about 1 + s_z·(t − 1)/t of rows-only, s_z the share of the rows-only time spent in the forward product (${recomputed.length ? recomputed.map((x) => `\`${x.step}\` in ${x.passes} pass${x.passes === 1 ? '' : 'es'}`).join(', ') : 'z = X·Wᵀ'}; P passes: (P − 1)·s_z in place of s_z). **From the profile** is that prediction, (total + z·(t − 1)/t) / total from the shape's profiled rows-only run (below), where it ran at the same chunk rows (else –). Wider tiles mean fewer tiles, so less recomputation, but a chunk holds rows × T logits: the peak grows with T.`,
    '',
    ...(sentences.length ? [...sentences.map((x) => `- ${x}`), ''] : []),
    table(
      [
        'shape',
        'chunk rows',
        'tile',
        'tiles',
        'rows-only peak',
        'tiled peak',
        'model − measured (tiled)',
        'tiled time / rows-only: median (min–max) of the rounds',
        'from the profile',
      ],
      rows,
    ),
    '',
  ];
}

/** Where the time of projc's own choice goes, per shape: its profiled run, step by step. */
function profileSection(r: BenchReport): string[] {
  const rows: string[][] = [];
  for (const s of r.shapes) {
    const p = s.configs.find((c) => c.kind === 'projc' && c.profile)?.profile;
    if (!p) continue;
    const share = (ms: number) => pct(p.totalMs > 0 ? ms / p.totalMs : 0);
    const big = p.steps.filter((x) => x.ms >= 0.005 * p.totalMs);
    const rest = p.steps.filter((x) => !big.includes(x));
    for (const x of big)
      rows.push([
        shapeText(s.dims),
        `\`${x.step}\``,
        x.phase,
        String(x.calls),
        x.ms.toFixed(1),
        share(x.ms),
      ]);
    if (rest.length) {
      const ms = rest.reduce((a, x) => a + x.ms, 0);
      rows.push([
        shapeText(s.dims),
        `${rest.length} other steps`,
        '',
        '',
        ms.toFixed(1),
        share(ms),
      ]);
    }
  }
  if (!rows.length) return [];
  return [
    "## Where projc's time goes",
    '',
    "One more, untimed run of projc's own chunk choice per shape, each step of the schedule submitted and timed alone (`execute(..., { profile: true })`, what `projc run --profile` prints; timestamp queries where the adapter has them, else the wall time to `onSubmittedWorkDone`), summed over the chunks. Steps under 0.5% of the total are summed in one line.",
    '',
    table(['shape', 'step', 'phase', 'calls', 'ms', 'share'], rows),
    '',
  ];
}

export function benchMarkdown(r: BenchReport, plots: readonly Plot[]): string {
  const c = r.checks;
  const largest = shapeText(c.largestShape);
  const lines: string[] = [
    '# Benchmark: projc against the materialized baseline',
    '',
    '<!-- Generated by `projc bench`; edit the generator (src/bench/), not this file. -->',
    '',
    `Measured ${r.date} on \`${r.adapter}\`, ${r.repeats} timed runs per configuration after one warm-up, wall time ${(r.wallMs / 1000).toFixed(0)} s. Command:`,
    '',
    '```sh',
    r.command,
    '```',
    '',
    ...(r.command === NPM_BENCH_COMMAND ? ['(`npm run bench` runs exactly this.)', ''] : []),
    `Kernel \`${r.kernel}\` of \`${r.file}\`${r.grad.length ? ` with gradients of ${r.grad.join(', ')}` : ''}, seeded random inputs (seed ${r.seed}).`,
    '',
    '- **baseline**: the program run the way an eager framework runs it (`src/bench/eager.ts`): one kernel per IR node of the same joint forward + backward program, each writing a whole materialized tensor (f32 logits, not bf16 plus an upcast), every tensor freed after its last use as a caching allocator would.',
    `- **projc**: the generated program (\`execute\`) with the runtime's own chunk size (\`auto\`${r.memoryBudget !== null ? `, memory budget ${formatBytes(r.memoryBudget)}` : ', default budget'}) and with fixed chunk sizes; requests that come to the same number of rows run once and are listed together.`,
    '- The configurations of a shape run interleaved, alternating their order each round, on the same inputs. **Peak bytes** are the device bytes the buffer pools track at the peak of a run (inputs, results and readback included). **Compute time** excludes uploads and shader compilation: `computeMs` for projc, the wall time of `run()` for the baseline. **Effective GFLOP/s** is the matmul work (2·M·N·K per product) over the median compute time, although that time also includes the non-matmul kernels.',
    ...(r.matmulTiles
      ? [
          r.matmulTilesPortable
            ? `- **Matmul tiles**: projc and the baseline run the portable default tiles (\`--matmul-tiles portable\`): \`${JSON.stringify(r.matmulTiles)}\`.`
            : `- **Matmul tiles**: projc and the baseline run the tiles the autotuner (\`src/runtime/matmul-tune.ts\`) found fastest on this device before the measurements (\`--matmul-tiles tune\`, the default): \`${JSON.stringify(r.matmulTiles)}\`.`,
        ]
      : []),
    '- On this machine WebGPU runs on a CPU (Mesa llvmpipe): absolute times mean little, ratios within one run are what this page reports.',
    '',
    '## Checks',
    '',
    `- ${mark(c.agreement)} Every projc run agrees with the baseline run of its round on every result within ${c.tolerance} (max|a−b| / max|b|); the worst was ${c.worstRelError.toExponential(2)}.`,
    `- ${mark(c.peakOk)} projc's peak device bytes are at most ${pct(c.peakLimit)} of the baseline's at every shape and chunk size; the worst ratio was ${pct(c.worstPeakRatio)}.`,
    `- ${c.largestShapeRatio < c.largestShapeAim ? '**met**' : '**not met**'} At the largest shape (${largest}) projc's smallest peak is ${pct(c.largestShapeRatio)} of the baseline's (${c.largestShapeConfig}); the aim is under ${pct(c.largestShapeAim)}.`,
    ...floorCheckLine(r),
    '',
    '## Summary',
    '',
    summaryTable(r),
    '',
    '## What the numbers say',
    '',
    ...findings(r).flatMap((f) => [`- ${f}`]),
    '',
    ...tfjsSection(r),
    ...tilingSection(r),
    ...floorSection(r),
    ...profileSection(r),
    '## Plots',
    '',
    ...plots.flatMap((p) => [`### ${p.title}`, '', `![${p.title}](${p.file})`, '']),
    '## All measurements',
    '',
    measurementsTable(r),
    '',
    '`chunks × rows`: chunks per sweep and rows per chunk. `steps/run`: kernels and products launched per run (projc: every step of every chunk of every sweep, plus the kernels outside the loop). Raw data: [results.json](results.json).',
    '',
    '## Compile time',
    '',
    'Source to WGSL for every kernel of each example (`compileFile`, `planKernel` with the gradients of every float tensor parameter, `generateProgram`), in this process, after one untimed run:',
    '',
    compileTable(r),
    '',
    '## The seed case on paper',
    '',
    '```sh',
    r.paper.command,
    '```',
    '',
    `predicts a peak of ${formatBytes(r.paper.predictedPeakBytes)} for projc (${r.paper.chunks} chunks of ${r.paper.chunkRows} rows${r.paper.shape && r.paper.shape !== 'rows-only' ? ` × ${r.paper.shape}` : ''}${r.paper.floorBytes ? `, ${pct(r.paper.predictedPeakBytes / r.paper.floorBytes - 1)} above the ${formatBytes(r.paper.floorBytes)} of its bf16 inputs and f32 results` : ''}) against ${formatBytes(r.paper.materializedBytes)} for materializing the logits (bf16, their f32 upcast and the f32 gradient, plus the same inputs and results): **${pct(r.paper.ratio)}** of it. No device is involved: this is the memory model that the measurements above check.`,
    '',
    '## On a GPU',
    '',
    GPU_BENCH_LINK,
    '',
  ];
  return lines.join('\n');
}
