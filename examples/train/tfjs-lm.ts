// The LM of lm.ts trained in TF.js, the way a TF.js user writes it: tf.variables, TF.js ops
// on the WebGPU backend, `optimizer.minimize` (tf.variableGrads + Adam). Twice from the
// same seed and data order (the Genesis lines of data.ts): once with the LM head +
// cross-entropy through projc/tfjs (the chunked kernel on TF.js's own device, zero copy),
// once with TF.js's own matMul + softmaxCrossEntropy on the materialized logits. Records
// both runs' per-step losses and step times, and the head's peak memory (tf.profile and
// projc's tracker) on the same inputs, in one run.
//
//   npm run train:tfjs                        # 200 steps, writes docs/training/
//   npm run train:tfjs -- --steps 20 --out /tmp/tfjs
//
// `main` is exported for the tests; it runs by itself only as a script.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_OUT,
  LM_TOLERANCES,
  parseArgs,
  progress,
  secs,
  seriesAgreement,
  withOptions,
  writeFormatted,
} from './common.ts';
import { batchAt, DATA_FILE, loadVerses, wrapLines } from './data.ts';
import { loadKernel } from './head.ts';
import { headPeak, tfCrossEntropy, type HeadPeak, type TfHeadKind } from './tfjs-heads.ts';
import { setUpTfjs, tfModel, type TfTensor } from './tfjs-model.ts';
import { LM_DEFAULTS, type LmConfig } from './lm.ts';
import { writeTfjsReport } from './tfjs-report.ts';

/** The model and data of examples/train/lm.ts; TF.js's Adam has no weight decay, and storage is f32. */
export type TfjsLmConfig = Omit<LmConfig, 'weightDecay' | 'storage'>;

const { weightDecay: _weightDecay, storage: _storage, ...sharedDefaults } = LM_DEFAULTS;
export const TFJS_LM_DEFAULTS: TfjsLmConfig = sharedDefaults;

export interface TfjsRunLog {
  readonly kind: TfHeadKind;
  readonly losses: number[];
  /** Wall time of each training step (forward, backward, Adam, reading the loss). */
  readonly stepMs: number[];
  /** The head alone on the first and the last step's inputs. */
  readonly headPeak: HeadPeak[];
}

export interface TfjsLmResult {
  readonly config: TfjsLmConfig;
  readonly device: string;
  readonly date: string;
  readonly runs: { projc: TfjsRunLog; tfjs: TfjsRunLog };
  readonly lossAgreement: { max: number; at: number };
  /** projc's head peak / TF.js's, max over the probes. */
  readonly peakRatio: number;
  /** The same ratio in GPU buffer bytes (TF.js's buffer manager + projc's tracker). */
  readonly gpuPeakRatio: number;
  /** Host bytes projc uploaded in its last call (arena image and uniforms; no tensor). */
  readonly projcUploadedBytes: number;
  readonly ok: { loss: boolean; peak: boolean };
  readonly wallMs: number;
}

export async function main(
  partial: Partial<TfjsLmConfig> = {},
  opts: { log?: (line: string) => void; out?: string | null } = {},
): Promise<TfjsLmResult> {
  const config: TfjsLmConfig = { ...TFJS_LM_DEFAULTS, ...partial };
  const say = opts.log ?? console.log;
  const t0 = performance.now();
  const { tf, adapter } = await setUpTfjs();
  const { batch: B, seqLen: T, hidden: H } = config;
  const V = 256;
  const model = { vocab: V, hidden: H, ffn: config.ffn, maxLen: T, activation: config.activation };
  const lines = wrapLines(loadVerses(), T - 1);
  const kernel = loadKernel('cross_entropy.proj', 'cross_entropy', 'f32');
  const ce = await adapter.tfKernel(kernel, { grad: ['X', 'W'], chunkRows: config.chunkRows });
  const tfce = tfCrossEntropy(tf, V);
  const device = adapter.webgpuBackend().device;
  const deviceInfo =
    `${device.adapterInfo.vendor} ${device.adapterInfo.architecture} ${device.adapterInfo.description}`.trim();
  say(
    `tfjs lm: ${lines.length} lines of ${DATA_FILE}; B=${B} T=${T} H=${H} F=${config.ffn} V=${V}, ${config.steps} steps, Adam lr ${config.lr}; ` +
      `head: projc/tfjs (chunks of ${config.chunkRows} rows) vs TF.js matMul + softmaxCrossEntropy\n    TF.js ${tf.version.tfjs} webgpu backend on ${deviceInfo}`,
  );
  const runs = (['projc', 'tfjs'] as const).map((kind) => {
    const m = tfModel(tf, model, config.seed, kind);
    const head = (X: TfTensor, W: TfTensor, target: TfTensor) =>
      kind === 'projc' ? ce({ X, W, target }) : tfce(X, W, target);
    return {
      kind,
      m,
      head,
      opt: tf.train.adam(config.lr, 0.9, 0.999, 1e-8),
      log: {
        kind,
        losses: [] as number[],
        stepMs: [] as number[],
        headPeak: [] as HeadPeak[],
      } satisfies TfjsRunLog,
    };
  });
  const tick = progress(config.steps, 'tfjs lm', opts.log);
  try {
    for (let step = 0; step < config.steps; step++) {
      const batch = batchAt(lines, step, B, T, config.seed);
      const tokens = tf.tensor2d(batch.tokens, [B, T], 'int32');
      const target = tf.tensor1d(batch.targets, 'int32');
      for (const r of runs) {
        const t = performance.now();
        const cost = r.opt.minimize(
          () => r.head(r.m.hidden(tokens, B, T), r.m.vars.W, target),
          true,
          [...r.m.list, r.m.vars.W],
        );
        r.log.losses.push((await cost?.data())?.[0] ?? NaN);
        r.log.stepMs.push(performance.now() - t);
        cost?.dispose();
        if (step === 0 || step === config.steps - 1) {
          // The head alone, forward and backward, on this step's hidden states.
          const X = tf.tidy(() => r.m.hidden(tokens, B, T));
          const W = r.m.vars.W;
          r.log.headPeak.push(
            await headPeak(
              tf,
              adapter.webgpuBackend(),
              () => tf.grads((x: TfTensor, w: TfTensor) => r.head(x, w, target))([X, W]),
              r.kind === 'projc' ? ce : undefined,
            ),
          );
          X.dispose();
        }
      }
      tokens.dispose();
      target.dispose();
      const [a, b] = runs.map((r) => r.log.losses[step] ?? NaN);
      tick(step + 1, `loss ${a?.toFixed(4)} (TF.js head ${b?.toFixed(4)})`);
    }
  } finally {
    for (const r of runs) {
      r.m.dispose();
      r.opt.dispose();
    }
  }
  const [projc, tfjs] = runs.map((r) => r.log) as [TfjsRunLog, TfjsRunLog];
  const lossAgreement = seriesAgreement(projc.losses, tfjs.losses);
  const peakRatio = Math.max(
    ...projc.headPeak.map((p, i) => p.total / (tfjs.headPeak[i]?.total ?? NaN)),
  );
  const gpuPeakRatio = Math.max(
    ...projc.headPeak.map((p, i) => p.gpuTotal / (tfjs.headPeak[i]?.gpuTotal ?? NaN)),
  );
  const result: TfjsLmResult = {
    config,
    device: deviceInfo,
    date: new Date().toISOString(),
    runs: { projc, tfjs },
    lossAgreement,
    peakRatio,
    gpuPeakRatio,
    projcUploadedBytes: ce.lastCall()?.uploadedBytes ?? NaN,
    ok: {
      loss: lossAgreement.max <= LM_TOLERANCES.f32.loss,
      peak: peakRatio < 0.25 && gpuPeakRatio < 0.25,
    },
    wallMs: performance.now() - t0,
  };
  for (const line of tfjsLmSummary(result)) say(line);
  if (opts.out !== null) {
    const dir = opts.out ?? DEFAULT_OUT;
    await writeFormatted(`${dir}/tfjs-lm.json`, JSON.stringify(result));
    await writeTfjsReport(dir);
  }
  return result;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
/** Mean step time without the first step (shader compilation). */
export const meanStepMs = (xs: readonly number[]) => mean(xs.slice(1));

export function tfjsLmSummary(r: TfjsLmResult): string[] {
  const { projc, tfjs } = r.runs;
  const last = projc.losses.length - 1;
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  return [
    `loss: step 1 ${projc.losses[0]?.toFixed(4)} → step ${last + 1} ${projc.losses[last]?.toFixed(4)} (projc head), ${tfjs.losses[last]?.toFixed(4)} (TF.js head)`,
    `per-step loss agreement: max |Δ|/|loss| = ${r.lossAgreement.max.toExponential(2)} (step ${r.lossAgreement.at + 1}; tolerance ${LM_TOLERANCES.f32.loss}) ${r.ok.loss ? 'ok' : 'FAIL'}`,
    ...projc.headPeak.map((p, i) => {
      const q = tfjs.headPeak[i];
      return `head peak (probe ${i + 1}): projc ${kib(p.total)} (TF.js tensors ${kib(p.tfBytes)} + projc buffers ${kib(p.projcBytes)}), TF.js ${kib(q?.total ?? NaN)}; in GPU bytes projc ${kib(p.gpuTotal)} (${kib(p.gpuBytes)} + ${kib(p.projcBytes)}), TF.js ${kib(q?.gpuTotal ?? NaN)}`;
    }),
    `head peak projc/TF.js: ${(100 * r.peakRatio).toFixed(1)}% in tensor bytes, ${(100 * r.gpuPeakRatio).toFixed(1)}% in GPU bytes (must be < 25%) ${r.ok.peak ? 'ok' : 'FAIL'}; projc host bytes per call: ${r.projcUploadedBytes} (no tensor data)`,
    `time per step (mean after step 1): projc head ${meanStepMs(projc.stepMs).toFixed(1)} ms, TF.js head ${meanStepMs(tfjs.stepMs).toFixed(1)} ms; wall ${secs(r.wallMs)}`,
  ];
}

// Run only as a script, not when a test imports `main`.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const out = args.get('out');
  const config = withOptions(TFJS_LM_DEFAULTS, args, ['out']);
  const r = await main(config, { out: out ?? DEFAULT_OUT });
  if (!r.ok.loss || !r.ok.peak) {
    console.error('tfjs lm: agreement or memory check failed');
    process.exit(1);
  }
  process.exit(0);
}
