// Training proof, part 1: a byte-level causal LM trained end to end on real text, twice
// from the same seed and data order: once with the LM head's projection and cross-entropy
// run by projc's chunked kernel, once by the materialized baseline on the same joint IR.
// Same backbone code, same AdamW; only the head differs. The script records both runs'
// per-step losses, compares the final parameters, and the head's peak device bytes.
//
//   npm run train                      # 200 steps, f32 storage, writes docs/training/
//   npm run train -- --storage bf16    # X and W stored as bf16 in the kernel (both heads)
//   npm run train -- --steps 20 --out /tmp/lm   # any config field: --batch --seq-len ...
//
// `main` is exported for test/train/; it runs by itself only as a script.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/index.ts';
import {
  DEFAULT_OUT,
  LM_TOLERANCES,
  paramAgreement,
  parseArgs,
  saveParams,
  progress,
  secs,
  seriesAgreement,
  withOptions,
  writeFormatted,
  type ParamAgreement,
} from './common.ts';
import { batchAt, DATA_FILE, IGNORE_INDEX, loadVerses, NEWLINE, wrapLines } from './data.ts';
import { loadKernel, makeHead, type HeadKind, type Storage } from './head.ts';
import {
  trainingAdamW,
  backward,
  cloneParams,
  forward,
  initParams,
  logitsOf,
  zeroGrads,
  type ModelConfig,
  type Params,
} from './model.ts';
import { writeReport } from './report.ts';

export interface LmConfig {
  readonly steps: number;
  /** Lines per batch (B). */
  readonly batch: number;
  /** Positions per line (T): a newline, at most T − 1 bytes of text, then padding. */
  readonly seqLen: number;
  readonly hidden: number;
  readonly ffn: number;
  readonly activation: 'gelu' | 'relu';
  readonly lr: number;
  readonly weightDecay: number;
  readonly seed: number;
  /** Rows per chunk of the projc head (rows = batch × seqLen). */
  readonly chunkRows: number;
  /** Storage of X and W in the kernel. */
  readonly storage: Storage;
}

export const LM_DEFAULTS: LmConfig = {
  steps: 200,
  batch: 8,
  seqLen: 64,
  hidden: 64,
  ffn: 128,
  activation: 'gelu',
  lr: 3e-3,
  weightDecay: 0.01,
  seed: 1234,
  chunkRows: 64,
  storage: 'f32',
};

export { LM_TOLERANCES };

export interface RunLog {
  readonly kind: HeadKind;
  readonly losses: number[];
  /** Head peak device bytes (max over steps). */
  peakBytes: number;
  chunks: number;
  chunkRows: number;
  /** Wall time in the head (device calls) and in the TypeScript backbone + optimiser. */
  headMs: number;
  backboneMs: number;
}

export interface LmResult {
  readonly config: LmConfig;
  readonly device: string;
  readonly date: string;
  readonly lines: number;
  readonly keptPerStep: number[];
  /** ‖Δ‖/‖p‖ of the two runs' parameters after each step (max over tensors). */
  readonly paramDivergence: number[];
  readonly runs: { projc: RunLog; eager: RunLog };
  readonly lossAgreement: { max: number; at: number };
  readonly params: ParamAgreement;
  readonly ok: { loss: boolean; params: boolean; peak: boolean };
  readonly wallMs: number;
  /** Greedy continuation of a prompt by the projc-trained model. */
  readonly sample: { prompt: string; text: string };
}

export interface MainOptions {
  /** Where progress goes (plain lines); default: a bar on a TTY, else console.log. */
  readonly log?: (line: string) => void;
  /** Directory for the JSON log, SVG plots and README; null writes nothing. */
  readonly out?: string | null;
  /** Also write both runs' final parameters to DIR/lm-{storage}-{projc,baseline}.safetensors. */
  readonly saveParams?: string;
}

export async function main(
  partial: Partial<LmConfig> = {},
  opts: MainOptions = {},
): Promise<LmResult> {
  const config: LmConfig = { ...LM_DEFAULTS, ...partial };
  const say = opts.log ?? console.log;
  const t0 = performance.now();
  const model: ModelConfig = {
    vocab: 256,
    hidden: config.hidden,
    ffn: config.ffn,
    maxLen: config.seqLen,
    activation: config.activation,
  };
  const lines = wrapLines(loadVerses(), config.seqLen - 1);
  const kernel = loadKernel('cross_entropy.proj', 'cross_entropy', config.storage);
  const rt = await Runtime.create();
  const device = rt.device.adapterInfo;
  say(
    `lm: ${lines.length} lines of ${DATA_FILE}; B=${config.batch} T=${config.seqLen} H=${config.hidden} F=${config.ffn} V=256, ` +
      `${config.steps} steps, ${config.storage} head storage, chunks of ${config.chunkRows} rows\n    on ${device}`,
  );
  const init = initParams(model, config.seed);
  const runs = (['projc', 'eager'] as const).map((kind) => {
    const params = cloneParams(init);
    return {
      kind,
      head: makeHead(kind, rt, kernel, config.chunkRows),
      params,
      opt: trainingAdamW(params, config.lr, config.weightDecay),
      log: {
        kind,
        losses: [] as number[],
        peakBytes: 0,
        chunks: 0,
        chunkRows: 0,
        headMs: 0,
        backboneMs: 0,
      } satisfies RunLog,
    };
  });
  const keptPerStep: number[] = [];
  const paramDivergence: number[] = [];
  const tick = progress(config.steps, `lm ${config.storage}`, opts.log);
  const { batch: B, seqLen: T, hidden: H } = config;
  try {
    for (let step = 0; step < config.steps; step++) {
      const batch = batchAt(lines, step, B, T, config.seed);
      keptPerStep.push(batch.kept);
      for (const r of runs) {
        let t = performance.now();
        const cache = forward(model, r.params, batch.tokens, B, T);
        const X = Float32Array.from(cache.x2);
        r.log.backboneMs += performance.now() - t;
        t = performance.now();
        const res = await r.head.run({
          X: { data: X, shape: [B * T, H] },
          W: { data: r.params.W, shape: [model.vocab, H] },
          target: { data: batch.targets, shape: [B * T] },
          ignore_index: IGNORE_INDEX,
        });
        r.log.headMs += performance.now() - t;
        t = performance.now();
        r.log.losses.push(res.loss);
        r.log.peakBytes = Math.max(r.log.peakBytes, res.peakBytes);
        r.log.chunks = res.chunks;
        r.log.chunkRows = res.chunkRows;
        const grads = zeroGrads(r.params);
        grads.W.set(res.dW);
        backward(model, r.params, cache, res.dX, grads);
        r.opt.step(r.params, grads);
        r.log.backboneMs += performance.now() - t;
      }
      const [a, b] = runs.map((r) => r.log.losses[step] as number) as [number, number];
      paramDivergence.push(
        paramAgreement(...(runs.map((r) => r.params) as [Params, Params])).normRel,
      );
      tick(step + 1, `loss ${a.toFixed(4)} (baseline ${b.toFixed(4)})`);
    }
  } finally {
    rt.release();
  }
  const [projc, eager] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const lossAgreement = seriesAgreement(projc.log.losses, eager.log.losses);
  const params = paramAgreement(projc.params, eager.params);
  const ok = {
    loss: lossAgreement.max <= LM_TOLERANCES[config.storage].loss,
    params: params.normRel <= LM_TOLERANCES[config.storage].params,
    peak: projc.log.peakBytes < eager.log.peakBytes,
  };
  const result: LmResult = {
    config,
    device,
    date: new Date().toISOString(),
    lines: lines.length,
    keptPerStep,
    paramDivergence,
    runs: { projc: projc.log, eager: eager.log },
    lossAgreement,
    params,
    ok,
    wallMs: performance.now() - t0,
    sample: greedy(model, projc.params, 'And God said', 48),
  };
  for (const line of summary(result)) say(line);
  if (opts.saveParams)
    for (const r of runs)
      saveParams(
        `${opts.saveParams}/lm-${config.storage}-${r.kind === 'eager' ? 'baseline' : 'projc'}.safetensors`,
        model,
        r.params,
      );
  if (opts.out !== null) await writeOutputs(result, opts.out ?? DEFAULT_OUT);
  return result;
}

/** The agreement lines printed at the end (and checked by the tests). */
export function summary(r: LmResult): string[] {
  const { projc, eager } = r.runs;
  const tol = LM_TOLERANCES[r.config.storage];
  const last = projc.losses.length - 1;
  return [
    `loss: step 1 ${projc.losses[0]?.toFixed(4)} → step ${last + 1} ${projc.losses[last]?.toFixed(4)} (projc), ${eager.losses[last]?.toFixed(4)} (baseline)`,
    `per-step loss agreement: max |Δ|/|loss| = ${r.lossAgreement.max.toExponential(2)} (step ${r.lossAgreement.at + 1}; tolerance ${tol.loss}) ${r.ok.loss ? 'ok' : 'FAIL'}`,
    `final parameters: max ‖Δ‖/‖p‖ = ${r.params.normRel.toExponential(2)} (${r.params.worst}; tolerance ${tol.params}) ${r.ok.params ? 'ok' : 'FAIL'}, max |Δ|/max|p| = ${r.params.maxAbsRel.toExponential(2)}`,
    `head peak device bytes: projc ${projc.peakBytes} (${projc.chunks} chunks of ${projc.chunkRows} rows), baseline ${eager.peakBytes}: projc/baseline ${((100 * projc.peakBytes) / eager.peakBytes).toFixed(1)}% ${r.ok.peak ? 'ok' : 'FAIL'}`,
    `time: ${secs(r.wallMs)} wall; head ${secs(projc.headMs)} projc, ${secs(eager.headMs)} baseline; backbone+AdamW ${secs(projc.backboneMs + eager.backboneMs)}`,
    `sample (projc model, greedy): ${JSON.stringify(r.sample.prompt + r.sample.text)}`,
  ];
}

/** Greedy continuation of `prompt` (CPU logits), stopping at a newline. */
export function greedy(
  model: ModelConfig,
  p: Params,
  prompt: string,
  n: number,
): { prompt: string; text: string } {
  const toks = [NEWLINE, ...Buffer.from(prompt, 'latin1')];
  let text = '';
  while (toks.length < model.maxLen && text.length < n) {
    const T = toks.length;
    const c = forward(model, p, Int32Array.from(toks), 1, T);
    const z = logitsOf(model, p.W, c.x2, T - 1);
    let best = 0;
    z.forEach((v, i) => {
      if (v > (z[best] as number)) best = i;
    });
    if (best === NEWLINE) break;
    toks.push(best);
    text += String.fromCharCode(best);
  }
  return { prompt, text };
}

async function writeOutputs(r: LmResult, dir: string): Promise<void> {
  await writeFormatted(`${dir}/lm-${r.config.storage}.json`, JSON.stringify(r));
  await writeReport(dir);
}

// Run only as a script, not when a test imports `main`.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const out = args.get('out');
  const config = withOptions(LM_DEFAULTS, args, ['out', 'save-params']);
  if (config.storage !== 'f32' && config.storage !== 'bf16') throw new Error('--storage f32|bf16');
  const save = args.get('save-params');
  const r = await main(config, { out: out ?? DEFAULT_OUT, ...(save ? { saveParams: save } : {}) });
  if (!r.ok.loss || !r.ok.params || !r.ok.peak) {
    console.error('lm: agreement check failed');
    process.exit(1);
  }
}
