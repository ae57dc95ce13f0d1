// Training proof, part 2: GRPO. The LM of lm.ts (same backbone code, fresh seeded init) is
// the policy on a small verifiable task; completions are sampled on the CPU from the
// policy's softmax, rewarded, given group-normalised advantages, and the policy is updated
// with the loss of examples/grpo.proj (`grpo_loss`: TRL's GRPOTrainer, loss_type="grpo")
// run by projc's chunked kernel, and, in a second run from the same seed, by the
// materialized baseline on the same joint IR. Same sampler seed, same prompts.
//
// The task: after a prompt (the first bytes of a line of Genesis), write as many lowercase
// ASCII letters as possible in K bytes; the completion ends at its first byte ≥ 0x80 (the
// "end of sequence": it is part of the completion, mask 1, and what follows is padding,
// mask 0). reward = (lowercase letters in the completion) / K, in [0, 1].
//
//   npm run train:grpo                 # 60 optimiser steps (30 generations × 2 iterations)
//   npm run train:grpo -- --steps 10 --out /tmp/grpo
//
// `main` is exported for test/train/; it runs by itself only as a script.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/index.ts';
import { mulberry32 } from '../../src/run/rng.ts';
import {
  DEFAULT_OUT,
  GRPO_TOLERANCE,
  paramAgreement,
  parseArgs,
  saveParams,
  progress,
  relDiff,
  secs,
  withOptions,
  writeFormatted,
  type ParamAgreement,
} from './common.ts';
import { loadVerses, NEWLINE, PAD_INPUT, permutation, wrapLines } from './data.ts';
import { completionTexts, groupAdvantages, isStop, rewardsOf, sampleToken } from './grpo-task.ts';
import { loadKernel, makeHead, type HeadKind, type Storage } from './head.ts';
import {
  trainingAdamW,
  backward,
  cloneParams,
  forward,
  initParams,
  lastHidden,
  logitsOf,
  logSoftmax,
  zeroGrads,
  type ModelConfig,
  type Params,
} from './model.ts';
import { writeReport } from './report.ts';

export interface GrpoConfig {
  /** Optimiser steps: generations × numIterations. */
  readonly steps: number;
  /** Prompts per generation. */
  readonly prompts: number;
  /** Completions per prompt (the group). */
  readonly group: number;
  /** Prompt bytes (after a leading newline). */
  readonly promptLen: number;
  /** Completion bytes K (the kernel's T). */
  readonly completionLen: number;
  /** Optimiser steps per generation batch (TRL's num_iterations, μ). */
  readonly numIterations: number;
  readonly hidden: number;
  readonly ffn: number;
  readonly activation: 'gelu' | 'relu';
  readonly lr: number;
  readonly weightDecay: number;
  /** KL coefficient (reference: the initial policy, frozen). */
  readonly beta: number;
  /** Clipping range ε (epsilon_low = epsilon_high). */
  readonly epsilon: number;
  readonly seed: number;
  /** Rows per chunk of the projc head (rows = prompts × group × completionLen). */
  readonly chunkRows: number;
  readonly storage: Storage;
}

export const GRPO_DEFAULTS: GrpoConfig = {
  steps: 60,
  prompts: 4,
  group: 8,
  promptLen: 4,
  completionLen: 16,
  numIterations: 2,
  hidden: 64,
  ffn: 128,
  activation: 'gelu',
  lr: 5e-3,
  weightDecay: 0.0,
  beta: 0.04,
  epsilon: 0.2,
  seed: 4321,
  chunkRows: 64,
  storage: 'f32',
};

export { GRPO_TOLERANCE };

export { isLower, isStop } from './grpo-task.ts';

export interface GrpoRunLog {
  readonly kind: HeadKind;
  readonly losses: number[];
  /** Mean reward of the generation each step trained on. */
  readonly rewards: number[];
  /** Mean completion length (tokens under the mask). */
  readonly lengths: number[];
  /** ‖dL/dW‖ per step. */
  readonly gradNorms: number[];
  /** The sampled completions of each generation, as one string (to compare the runs; not saved). */
  readonly samples: string[];
  peakBytes: number;
  chunks: number;
  chunkRows: number;
  headMs: number;
  backboneMs: number;
  samplingMs: number;
}

export interface GrpoResult {
  readonly config: GrpoConfig;
  readonly device: string;
  readonly date: string;
  readonly runs: { projc: GrpoRunLog; eager: GrpoRunLog };
  readonly lossAgreement: { max: number; at: number; maxAbs: number };
  readonly rewardAgreement: { max: number; at: number };
  readonly gradAgreement: { max: number; at: number };
  /** Generations whose sampled completions differ between the runs. */
  readonly sampleMismatches: number;
  /** The first generation (from 0) whose samples differ, or -1. */
  readonly firstMismatch: number;
  /** ‖Δ‖/‖p‖ of the two runs' parameters after each step (max over tensors). */
  readonly paramDivergence: number[];
  readonly params: ParamAgreement;
  readonly ok: { loss: boolean; rewards: boolean; params: boolean; peak: boolean };
  readonly wallMs: number;
  /** The projc run's completions of its last generation (prompt, completion). */
  readonly lastCompletions: { prompt: string; completion: string }[];
}

interface Generation {
  readonly tokens: Int32Array; // [B, L] inputs: newline, prompt, completion[0..K-2]
  readonly target: Int32Array; // [B, K] completion ids (0 after the stop)
  readonly mask: Float32Array; // [B, K]
  readonly oldLogp: Float32Array; // [B, K] sampling policy
  readonly refLogp: Float32Array; // [B, K] reference policy
  readonly advantages: Float32Array; // [B]
  readonly rewards: Float64Array; // [B]
  /** Each completion as text (bytes as Latin-1 characters). */
  readonly completions: string[];
}

/** log π(completion) at every completion position (padding included, as TRL computes it). */
function completionLogp(
  model: ModelConfig,
  p: Params,
  tokens: Int32Array,
  target: Int32Array,
  B: number,
  L: number,
  Lp: number,
  K: number,
): Float32Array {
  const c = forward(model, p, tokens, B, L);
  const out = new Float32Array(B * K);
  for (let b = 0; b < B; b++)
    for (let j = 0; j < K; j++) {
      const ls = logSoftmax(logitsOf(model, p.W, c.x2, b * L + Lp - 1 + j));
      out[b * K + j] = ls[target[b * K + j] as number] as number;
    }
  return out;
}

/** Samples G completions for each prompt from the policy, scores and normalises them. */
function generate(
  cfg: GrpoConfig,
  model: ModelConfig,
  policy: Params,
  ref: Params,
  prompts: readonly number[][],
  rand: () => number,
): Generation {
  const { group: G, completionLen: K, promptLen } = cfg;
  const Lp = promptLen + 1; // with the leading newline
  const L = Lp + K - 1;
  const B = prompts.length * G;
  const tokens = new Int32Array(B * L).fill(PAD_INPUT);
  const target = new Int32Array(B * K);
  const mask = new Float32Array(B * K);
  const done = new Uint8Array(B);
  for (let b = 0; b < B; b++) {
    const pr = prompts[Math.floor(b / G)] as number[];
    tokens[b * L] = NEWLINE;
    pr.forEach((t, i) => void (tokens[b * L + 1 + i] = t));
  }
  for (let j = 0; j < K; j++) {
    // The prefix is enough: position Lp − 1 + j predicts completion byte j.
    const T = Lp + j;
    const prefix = new Int32Array(B * T);
    for (let b = 0; b < B; b++) prefix.set(tokens.subarray(b * L, b * L + T), b * T);
    const x2 = lastHidden(model, policy, prefix, B, T);
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const ls = logSoftmax(logitsOf(model, policy.W, x2, b));
      const tok = sampleToken(ls, 0, ls.length, rand());
      target[b * K + j] = tok;
      mask[b * K + j] = 1;
      if (j + 1 < K) tokens[b * L + Lp + j] = tok;
      if (isStop(tok)) done[b] = 1;
    }
  }
  const rewards = rewardsOf(target, mask, B, K);
  const advantages = groupAdvantages(rewards, prompts.length, G);
  const oldLogp = completionLogp(model, policy, tokens, target, B, L, Lp, K);
  const refLogp = completionLogp(model, ref, tokens, target, B, L, Lp, K);
  const completions = completionTexts(target, mask, B, K);
  return { tokens, target, mask, oldLogp, refLogp, advantages, rewards, completions };
}

export async function main(
  partial: Partial<GrpoConfig> = {},
  opts: {
    log?: (line: string) => void;
    out?: string | null;
    /** Also write both runs' final parameters to DIR/grpo-{storage}-{projc,baseline}.safetensors. */
    saveParams?: string;
  } = {},
): Promise<GrpoResult> {
  const config: GrpoConfig = { ...GRPO_DEFAULTS, ...partial };
  const say = opts.log ?? console.log;
  const t0 = performance.now();
  const { prompts: P, group: G, completionLen: K, promptLen, hidden: H } = config;
  const Lp = promptLen + 1;
  const L = Lp + K - 1;
  const B = P * G;
  const model: ModelConfig = {
    vocab: 256,
    hidden: H,
    ffn: config.ffn,
    maxLen: L,
    activation: config.activation,
  };
  const lines = wrapLines(loadVerses(), 63).filter((l) => l.length >= promptLen);
  const kernel = loadKernel('grpo.proj', 'grpo_loss', config.storage);
  const rt = await Runtime.create();
  const device = rt.device.adapterInfo;
  const generations = Math.ceil(config.steps / config.numIterations);
  say(
    `grpo: ${generations} generations of ${P} prompts × ${G} completions of ${K} bytes, ${config.numIterations} steps each; ` +
      `H=${H} F=${config.ffn} V=256, beta ${config.beta}, ${config.storage} head storage, chunks of ${config.chunkRows} rows\n    on ${device}`,
  );
  const init = initParams(model, config.seed);
  const ref = cloneParams(init);
  const runs = (['projc', 'eager'] as const).map((kind) => {
    const params = cloneParams(init);
    return {
      kind,
      head: makeHead(kind, rt, kernel, config.chunkRows),
      params,
      opt: trainingAdamW(params, config.lr, config.weightDecay),
      // Each run samples with its own generator, seeded alike.
      rand: mulberry32(config.seed ^ 0x9e3779b9),
      gen: undefined as Generation | undefined,
      lastCompletions: [] as string[],
      log: {
        kind,
        losses: [] as number[],
        rewards: [] as number[],
        lengths: [] as number[],
        gradNorms: [] as number[],
        samples: [] as string[],
        peakBytes: 0,
        chunks: 0,
        chunkRows: 0,
        headMs: 0,
        backboneMs: 0,
        samplingMs: 0,
      } satisfies GrpoRunLog,
    };
  });
  const paramDivergence: number[] = [];
  let lastPrompts: string[] = [];
  const tick = progress(config.steps, `grpo ${config.storage}`, opts.log);
  try {
    for (let step = 0; step < config.steps; step++) {
      const it = step % config.numIterations;
      const genIndex = Math.floor(step / config.numIterations);
      // The same prompts for both runs: the first promptLen bytes of seeded lines.
      const order = permutation(lines.length, config.seed + genIndex);
      const texts = order.slice(0, P).map((i) => (lines[i] as string).slice(0, promptLen));
      const prompts = texts.map((t) => [...Buffer.from(t, 'latin1')]);
      lastPrompts = texts;
      for (const r of runs) {
        if (it === 0) {
          const t = performance.now();
          r.gen = generate(config, model, r.params, ref, prompts, r.rand);
          r.log.samples.push(r.gen.completions.join('\n'));
          r.lastCompletions = r.gen.completions;
          r.log.samplingMs += performance.now() - t;
        }
        const g = r.gen as Generation;
        let t = performance.now();
        const cache = forward(model, r.params, g.tokens, B, L);
        // X [B, K, H]: the hidden states at the positions that predict completion bytes.
        const X = new Float32Array(B * K * H);
        for (let b = 0; b < B; b++)
          X.set(cache.x2.subarray((b * L + Lp - 1) * H, (b * L + Lp - 1 + K) * H), b * K * H);
        r.log.backboneMs += performance.now() - t;
        t = performance.now();
        const res = await r.head.run({
          X: { data: X, shape: [B, K, H] },
          W: { data: r.params.W, shape: [256, H] },
          target: { data: g.target, shape: [B, K] },
          old_logp: { data: g.oldLogp, shape: [B, K] },
          ref_logp: { data: g.refLogp, shape: [B, K] },
          mask: { data: g.mask, shape: [B, K] },
          advantages: { data: g.advantages, shape: [B] },
          epsilon_low: config.epsilon,
          epsilon_high: config.epsilon,
          beta: config.beta,
        });
        r.log.headMs += performance.now() - t;
        t = performance.now();
        r.log.losses.push(res.loss);
        r.log.rewards.push(g.rewards.reduce((s, x) => s + x, 0) / B);
        r.log.lengths.push(g.mask.reduce((s, x) => s + x, 0) / B);
        r.log.gradNorms.push(Math.sqrt(res.dW.reduce((s, x) => s + x * x, 0)));
        r.log.peakBytes = Math.max(r.log.peakBytes, res.peakBytes);
        r.log.chunks = res.chunks;
        r.log.chunkRows = res.chunkRows;
        const dx2 = new Float64Array(B * L * H);
        for (let b = 0; b < B; b++)
          dx2.set(res.dX.subarray(b * K * H, (b + 1) * K * H), (b * L + Lp - 1) * H);
        const grads = zeroGrads(r.params);
        grads.W.set(res.dW);
        backward(model, r.params, cache, dx2, grads);
        r.opt.step(r.params, grads);
        r.log.backboneMs += performance.now() - t;
      }
      const [a, b] = runs.map((r) => r.log) as [GrpoRunLog, GrpoRunLog];
      paramDivergence.push(
        paramAgreement(...(runs.map((r) => r.params) as [Params, Params])).normRel,
      );
      tick(
        step + 1,
        `loss ${(a.losses[step] as number).toExponential(3)} (baseline ${(b.losses[step] as number).toExponential(3)}) reward ${(a.rewards[step] as number).toFixed(3)}`,
      );
    }
  } finally {
    rt.release();
  }
  const [projc, eager] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const lossAgreement = { max: 0, at: 0, maxAbs: 0 };
  let lossOk = true;
  projc.log.losses.forEach((a, i) => {
    const b = eager.log.losses[i] as number;
    const d = Math.abs(a - b);
    lossAgreement.maxAbs = Math.max(lossAgreement.maxAbs, d);
    if (!(d <= GRPO_TOLERANCE.loss * Math.abs(b) + GRPO_TOLERANCE.lossAtol)) lossOk = false;
    const r = relDiff(a, b);
    if (!(r <= lossAgreement.max)) {
      lossAgreement.max = r;
      lossAgreement.at = i;
    }
  });
  const series = (x: readonly number[], y: readonly number[]) => {
    let max = 0;
    let at = 0;
    y.forEach((v, i) => {
      const r = relDiff(x[i] ?? NaN, v);
      if (!(r <= max)) {
        max = r;
        at = i;
      }
    });
    return { max, at };
  };
  const rewardAgreement = series(projc.log.rewards, eager.log.rewards);
  const gradAgreement = series(projc.log.gradNorms, eager.log.gradNorms);
  const sampleMismatches = projc.log.samples.filter((s, i) => s !== eager.log.samples[i]).length;
  const params = paramAgreement(projc.params, eager.params);
  const result: GrpoResult = {
    config,
    device,
    date: new Date().toISOString(),
    runs: { projc: projc.log, eager: eager.log },
    lossAgreement,
    rewardAgreement,
    gradAgreement,
    sampleMismatches,
    firstMismatch: projc.log.samples.findIndex((s, i) => s !== eager.log.samples[i]),
    paramDivergence,
    params,
    ok: {
      loss: lossOk,
      rewards: rewardAgreement.max <= GRPO_TOLERANCE.loss,
      params: params.normRel <= GRPO_TOLERANCE.params,
      peak: projc.log.peakBytes < eager.log.peakBytes,
    },
    wallMs: performance.now() - t0,
    lastCompletions: projc.lastCompletions.map((completion, b) => ({
      prompt: lastPrompts[Math.floor(b / G)] ?? '',
      completion,
    })),
  };
  for (const line of grpoSummary(result)) say(line);
  if (opts.saveParams)
    for (const r of runs)
      saveParams(
        `${opts.saveParams}/grpo-${config.storage}-${r.kind === 'eager' ? 'baseline' : 'projc'}.safetensors`,
        model,
        r.params,
      );
  if (opts.out !== null) await writeOutputs(result, opts.out ?? DEFAULT_OUT);
  return result;
}

export function grpoSummary(r: GrpoResult): string[] {
  const { projc, eager } = r.runs;
  const n = projc.rewards.length;
  const mean = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / Math.max(1, x.length);
  const q = Math.max(1, Math.floor(n / 4));
  return [
    `reward: first quarter ${mean(projc.rewards.slice(0, q)).toFixed(3)} → last quarter ${mean(projc.rewards.slice(n - q)).toFixed(3)} (projc), ${mean(eager.rewards.slice(n - q)).toFixed(3)} (baseline); completion length ${mean(projc.lengths.slice(0, q)).toFixed(1)} → ${mean(projc.lengths.slice(n - q)).toFixed(1)}`,
    `per-step loss agreement: max |Δ| = ${r.lossAgreement.maxAbs.toExponential(2)}, max |Δ|/|loss| = ${r.lossAgreement.max.toExponential(2)} (step ${r.lossAgreement.at + 1}; tolerance |Δ| ≤ ${GRPO_TOLERANCE.loss}·|loss| + ${GRPO_TOLERANCE.lossAtol}) ${r.ok.loss ? 'ok' : 'FAIL'}`,
    `per-step reward agreement: max |Δ|/|reward| = ${r.rewardAgreement.max.toExponential(2)}; sampled completions differ in ${r.sampleMismatches} of ${projc.samples.length} generations ${r.ok.rewards ? 'ok' : 'FAIL'}`,
    `per-step ‖dL/dW‖ agreement: max rel ${r.gradAgreement.max.toExponential(2)} (step ${r.gradAgreement.at + 1})`,
    `final parameters: max ‖Δ‖/‖p‖ = ${r.params.normRel.toExponential(2)} (${r.params.worst}; tolerance ${GRPO_TOLERANCE.params}) ${r.ok.params ? 'ok' : 'FAIL'}, max |Δ|/max|p| = ${r.params.maxAbsRel.toExponential(2)}`,
    `head peak device bytes: projc ${projc.peakBytes} (${projc.chunks} chunks of ${projc.chunkRows} rows), baseline ${eager.peakBytes}: projc/baseline ${((100 * projc.peakBytes) / eager.peakBytes).toFixed(1)}% ${r.ok.peak ? 'ok' : 'FAIL'}`,
    `time: ${secs(r.wallMs)} wall; head ${secs(projc.headMs)} projc, ${secs(eager.headMs)} baseline; sampling ${secs(projc.samplingMs + eager.samplingMs)}; backbone+AdamW ${secs(projc.backboneMs + eager.backboneMs)}`,
  ];
}

async function writeOutputs(r: GrpoResult, dir: string): Promise<void> {
  // The per-generation samples only serve the comparison (sampleMismatches): not saved.
  await writeFormatted(
    `${dir}/grpo-${r.config.storage}.json`,
    JSON.stringify(r, (k, v: unknown) => (k === 'samples' ? undefined : v)),
  );
  await writeReport(dir);
}

// Run only as a script, not when a test imports `main`.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const out = args.get('out');
  const config = withOptions(GRPO_DEFAULTS, args, ['out', 'save-params']);
  if (config.storage !== 'f32' && config.storage !== 'bf16') throw new Error('--storage f32|bf16');
  const save = args.get('save-params');
  const r = await main(config, { out: out ?? DEFAULT_OUT, ...(save ? { saveParams: save } : {}) });
  if (!r.ok.loss || !r.ok.rewards || !r.ok.params || !r.ok.peak) {
    console.error('grpo: agreement check failed');
    process.exit(1);
  }
}
