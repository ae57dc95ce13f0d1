// GRPO in TF.js, the task and loss of grpo.ts: the TF.js LM of tfjs-model.ts is the policy;
// completions are sampled from its softmax (TF.js forward, sampled on the host with a
// seeded generator), rewarded, given group-normalised advantages, and the policy is
// updated with TRL's grpo_loss (loss_type="grpo"): once through projc/tfjs (the kernel
// `grpo_loss` of examples/grpo.proj on TF.js's device, zero copy), once written in TF.js
// ops on the materialized logits. Same seed and prompts for both runs, and the same
// rollouts: the baseline's completions, each run with its own old_logp. Sampling from each
// run's own policy would let one token flip (a uniform draw landing between two policies
// 1e-7 apart) hand the runs different data for the rest of the run; each run still samples
// with the same draws, and `sampleMismatches` counts the generations where they differ.
//
//   npm run train:tfjs-grpo                   # 60 steps (30 generations × 2 iterations)
//   npm run train:tfjs-grpo -- --steps 10 --out /tmp/tfjs
//
// `main` is exported for the tests; it runs by itself only as a script.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../src/run/rng.ts';
import {
  DEFAULT_OUT,
  GRPO_TOLERANCE,
  parseArgs,
  progress,
  relDiff,
  secs,
  withOptions,
  writeFormatted,
} from './common.ts';
import { loadVerses, NEWLINE, PAD_INPUT, permutation, wrapLines } from './data.ts';
import { GRPO_DEFAULTS, type GrpoConfig } from './grpo.ts';
import { completionTexts, groupAdvantages, isStop, rewardsOf, sampleToken } from './grpo-task.ts';
import { loadKernel } from './head.ts';
import { GRPO_LOSS_FLOOR, headPeak, type HeadPeak, type TfHeadKind } from './tfjs-heads.ts';
import { setUpTfjs, tfModel, type Tf, type TfModel, type TfTensor } from './tfjs-model.ts';
import { meanStepMs } from './tfjs-lm.ts';
import { writeTfjsReport } from './tfjs-report.ts';

/** The task and model of examples/train/grpo.ts; TF.js's Adam has no weight decay, and storage is f32. */
export type TfjsGrpoConfig = Omit<GrpoConfig, 'weightDecay' | 'storage'>;

const { weightDecay: _weightDecay, storage: _storage, ...sharedDefaults } = GRPO_DEFAULTS;
export const TFJS_GRPO_DEFAULTS: TfjsGrpoConfig = sharedDefaults;

export interface TfjsGrpoRunLog {
  readonly kind: TfHeadKind;
  readonly losses: number[];
  readonly rewards: number[];
  readonly stepMs: number[];
  readonly headPeak: HeadPeak[];
  /** The sampled completions of each generation, joined (to compare the runs). */
  readonly samples: string[];
}

export interface TfjsGrpoResult {
  readonly config: TfjsGrpoConfig;
  readonly device: string;
  readonly date: string;
  readonly runs: { projc: TfjsGrpoRunLog; tfjs: TfjsGrpoRunLog };
  /** max |Δ|/|loss| over the steps whose |loss| ≥ LOSS_FLOOR, and where. */
  readonly lossAgreement: { max: number; at: number; maxAbs: number; belowFloor: number };
  readonly sampleMismatches: number;
  readonly peakRatio: number;
  /** The same ratio in GPU buffer bytes (TF.js's buffer manager + projc's tracker). */
  readonly gpuPeakRatio: number;
  readonly projcUploadedBytes: number;
  readonly ok: { loss: boolean; peak: boolean };
  readonly wallMs: number;
}

const LOSS_FLOOR = GRPO_LOSS_FLOOR;

interface Generation {
  readonly tokens: Int32Array; // [B, L]
  readonly target: Int32Array; // [B, K]
  readonly mask: Uint8Array; // [B, K]
  readonly oldLogp: Float32Array;
  readonly refLogp: Float32Array;
  readonly advantages: Float32Array;
  readonly meanReward: number;
  readonly completions: string[];
}

/** Row b·L + Lp − 1 + j of the block's output predicts completion byte j of sequence b. */
function completionRows(tf: Tf, B: number, L: number, Lp: number, K: number): TfTensor {
  const idx = new Int32Array(B * K);
  for (let b = 0; b < B; b++) for (let j = 0; j < K; j++) idx[b * K + j] = b * L + Lp - 1 + j;
  return tf.tensor1d(idx, 'int32');
}

/** log π(target) at every completion position, by TF.js on the materialized logits. */
async function logpOf(
  tf: Tf,
  m: TfModel,
  tokens: TfTensor,
  rows: TfTensor,
  target: TfTensor,
  B: number,
  L: number,
): Promise<Float32Array> {
  const t = tf.tidy(() => {
    const X = tf.gather(m.hidden(tokens, B, L), rows);
    const ls = tf.logSoftmax(tf.matMul(X, m.vars.W, false, true));
    return tf.sum(tf.mul(ls, tf.oneHot(tf.reshape(target, [-1]), 256)), -1);
  });
  const out = Float32Array.from(await t.data());
  t.dispose();
  return out;
}

/** Samples G completions per prompt from the policy (TF.js forward, host sampling), scores them. */
async function generate(
  tf: Tf,
  cfg: TfjsGrpoConfig,
  policy: TfModel,
  ref: TfModel,
  prompts: readonly number[][],
  rand: () => number,
): Promise<Generation> {
  const { group: G, completionLen: K, promptLen } = cfg;
  const Lp = promptLen + 1;
  const L = Lp + K - 1;
  const B = prompts.length * G;
  const tokens = new Int32Array(B * L).fill(PAD_INPUT);
  const target = new Int32Array(B * K);
  const mask = new Uint8Array(B * K);
  const done = new Uint8Array(B);
  for (let b = 0; b < B; b++) {
    tokens[b * L] = NEWLINE;
    (prompts[Math.floor(b / G)] ?? []).forEach((t, i) => void (tokens[b * L + 1 + i] = t));
  }
  for (let j = 0; j < K; j++) {
    // Causal: position Lp − 1 + j sees only the prompt and the bytes sampled so far.
    const lsT = tf.tidy(() => {
      const rows = tf.tensor1d(
        Int32Array.from({ length: B }, (_, b) => b * L + Lp - 1 + j),
        'int32',
      );
      const X = tf.gather(policy.hidden(tf.tensor2d(tokens, [B, L], 'int32'), B, L), rows);
      return tf.logSoftmax(tf.matMul(X, policy.vars.W, false, true));
    });
    const ls = await lsT.data();
    lsT.dispose();
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const tok = sampleToken(ls, b * 256, 256, rand());
      target[b * K + j] = tok;
      mask[b * K + j] = 1;
      if (j + 1 < K) tokens[b * L + Lp + j] = tok;
      if (isStop(tok)) done[b] = 1;
    }
  }
  const rewards = rewardsOf(target, mask, B, K);
  const advantages = groupAdvantages(rewards, prompts.length, G);
  const tokT = tf.tensor2d(tokens, [B, L], 'int32');
  const tgtT = tf.tensor2d(target, [B, K], 'int32');
  const rows = completionRows(tf, B, L, Lp, K);
  const oldLogp = await logpOf(tf, policy, tokT, rows, tgtT, B, L);
  const refLogp = await logpOf(tf, ref, tokT, rows, tgtT, B, L);
  tf.dispose([tokT, tgtT, rows]);
  const completions = completionTexts(target, mask, B, K);
  return {
    tokens,
    target,
    mask,
    oldLogp,
    refLogp,
    advantages,
    meanReward: rewards.reduce((s, x) => s + x, 0) / B,
    completions,
  };
}

/** A generation with old_logp from `policy` (TRL's old_per_token_logps of the model trained). */
async function onPolicy(
  tf: Tf,
  cfg: TfjsGrpoConfig,
  g: Generation,
  policy: TfModel,
): Promise<Generation> {
  const { completionLen: K, promptLen } = cfg;
  const Lp = promptLen + 1;
  const L = Lp + K - 1;
  const B = g.advantages.length;
  const tokT = tf.tensor2d(g.tokens, [B, L], 'int32');
  const tgtT = tf.tensor2d(g.target, [B, K], 'int32');
  const rows = completionRows(tf, B, L, Lp, K);
  const oldLogp = await logpOf(tf, policy, tokT, rows, tgtT, B, L);
  tf.dispose([tokT, tgtT, rows]);
  return { ...g, oldLogp };
}

/**
 * TRL's grpo_loss in TF.js ops (temperature 1, delta = None): per token
 *   l = −min(r·A, clip(r, 1 − ε, 1 + ε)·A) + β·(exp(ref − logp) − (ref − logp) − 1),
 * r = exp(logp − old); each completion's masked mean, then the mean over completions.
 */
export function tfGrpoLoss(tf: Tf, eps: number, beta: number) {
  return (
    X: TfTensor,
    W: TfTensor,
    target: TfTensor,
    old: TfTensor,
    ref: TfTensor,
    mask: TfTensor,
    adv: TfTensor,
  ) => {
    const [B, K] = target.shape;
    const logits = tf.matMul(tf.reshape(X, [-1, X.shape[2] ?? 0]), W, false, true);
    const logp = tf.reshape(
      tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.reshape(target, [-1]), 256)), -1),
      [B ?? 0, K ?? 0],
    );
    const ratio = tf.exp(tf.sub(logp, old));
    const A = tf.reshape(adv, [-1, 1]);
    const pg = tf.neg(
      tf.minimum(tf.mul(ratio, A), tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), A)),
    );
    const d = tf.sub(ref, logp);
    const kl = tf.sub(tf.sub(tf.exp(d), d), 1);
    const l = tf.add(pg, tf.mul(kl, beta));
    const m = tf.cast(mask, 'float32');
    const perSeq = tf.div(tf.sum(tf.mul(l, m), 1), tf.maximum(tf.sum(m, 1), 1));
    return tf.mean(perSeq).asScalar();
  };
}

export async function main(
  partial: Partial<TfjsGrpoConfig> = {},
  opts: { log?: (line: string) => void; out?: string | null } = {},
): Promise<TfjsGrpoResult> {
  const config: TfjsGrpoConfig = { ...TFJS_GRPO_DEFAULTS, ...partial };
  const say = opts.log ?? console.log;
  const t0 = performance.now();
  const { tf, adapter } = await setUpTfjs();
  const { prompts: P, group: G, completionLen: K, promptLen, hidden: H } = config;
  const Lp = promptLen + 1;
  const L = Lp + K - 1;
  const B = P * G;
  const model = {
    vocab: 256,
    hidden: H,
    ffn: config.ffn,
    maxLen: L,
    activation: config.activation,
  };
  const lines = wrapLines(loadVerses(), 63).filter((l) => l.length >= promptLen);
  const kernel = loadKernel('grpo.proj', 'grpo_loss', 'f32');
  const grpo = await adapter.tfKernel(kernel, { grad: ['X', 'W'], chunkRows: config.chunkRows });
  const tfgrpo = tfGrpoLoss(tf, config.epsilon, config.beta);
  const device = adapter.webgpuBackend().device;
  const deviceInfo =
    `${device.adapterInfo.vendor} ${device.adapterInfo.architecture} ${device.adapterInfo.description}`.trim();
  const generations = Math.ceil(config.steps / config.numIterations);
  say(
    `tfjs grpo: ${generations} generations of ${P} prompts × ${G} completions of ${K} bytes, ${config.numIterations} steps each; ` +
      `H=${H} F=${config.ffn} V=256, beta ${config.beta}, Adam lr ${config.lr}; head: projc/tfjs grpo_loss vs TF.js ops\n    TF.js ${tf.version.tfjs} webgpu backend on ${deviceInfo}`,
  );
  const ref = tfModel(tf, model, config.seed, 'ref', false);
  const runs = (['projc', 'tfjs'] as const).map((kind) => ({
    kind,
    m: tfModel(tf, model, config.seed, kind),
    opt: tf.train.adam(config.lr, 0.9, 0.999, 1e-8),
    rand: mulberry32(config.seed ^ 0x9e3779b9),
    gen: undefined as Generation | undefined,
    log: {
      kind,
      losses: [] as number[],
      rewards: [] as number[],
      stepMs: [] as number[],
      headPeak: [] as HeadPeak[],
      samples: [] as string[],
    } satisfies TfjsGrpoRunLog,
  }));
  const rowsT = completionRows(tf, B, L, Lp, K);
  const tick = progress(config.steps, 'tfjs grpo', opts.log);
  try {
    for (let step = 0; step < config.steps; step++) {
      const it = step % config.numIterations;
      const genIndex = Math.floor(step / config.numIterations);
      const order = permutation(lines.length, config.seed + genIndex);
      const prompts = order
        .slice(0, P)
        .map((i) => [...Buffer.from((lines[i] ?? '').slice(0, promptLen), 'latin1')]);
      if (it === 0) {
        // Each run samples from its own policy (the same draws), which says whether the two
        // policies still sample alike; both then train on the baseline's rollouts.
        const gens: Generation[] = [];
        for (const r of runs) {
          const g = await generate(tf, config, r.m, ref, prompts, r.rand);
          r.log.samples.push(g.completions.join('\n'));
          gens.push(g);
        }
        const shared = gens[runs.findIndex((r) => r.kind === 'tfjs')];
        if (!shared) throw new Error('no baseline generation');
        for (const r of runs)
          r.gen = r.kind === 'tfjs' ? shared : await onPolicy(tf, config, shared, r.m);
      }
      for (const r of runs) {
        const g = r.gen;
        if (!g) throw new Error('no generation');
        const ins = {
          tokens: tf.tensor2d(g.tokens, [B, L], 'int32'),
          target: tf.tensor2d(g.target, [B, K], 'int32'),
          old: tf.tensor2d(g.oldLogp, [B, K]),
          ref: tf.tensor2d(g.refLogp, [B, K]),
          mask: tf.tensor2d(g.mask, [B, K], 'bool'),
          adv: tf.tensor1d(g.advantages),
        };
        const head = (X: TfTensor, W: TfTensor) =>
          r.kind === 'projc'
            ? grpo({
                X,
                W,
                target: ins.target,
                old_logp: ins.old,
                ref_logp: ins.ref,
                mask: ins.mask,
                advantages: ins.adv,
                epsilon_low: config.epsilon,
                epsilon_high: config.epsilon,
                beta: config.beta,
              })
            : tfgrpo(X, W, ins.target, ins.old, ins.ref, ins.mask, ins.adv);
        const hiddenX = () => tf.reshape(tf.gather(r.m.hidden(ins.tokens, B, L), rowsT), [B, K, H]);
        const t = performance.now();
        const cost = r.opt.minimize(() => head(hiddenX(), r.m.vars.W), true, [
          ...r.m.list,
          r.m.vars.W,
        ]);
        r.log.losses.push((await cost?.data())?.[0] ?? NaN);
        r.log.stepMs.push(performance.now() - t);
        r.log.rewards.push(g.meanReward);
        cost?.dispose();
        if (step === 0 || step === config.steps - 1) {
          const X = tf.tidy(hiddenX);
          r.log.headPeak.push(
            await headPeak(
              tf,
              adapter.webgpuBackend(),
              () => tf.grads((x: TfTensor, w: TfTensor) => head(x, w))([X, r.m.vars.W]),
              r.kind === 'projc' ? grpo : undefined,
            ),
          );
          X.dispose();
        }
        tf.dispose(Object.values(ins));
      }
      const [a, b] = runs.map((r) => r.log.losses[step] ?? NaN);
      tick(
        step + 1,
        `loss ${a?.toExponential(3)} (TF.js head ${b?.toExponential(3)}) reward ${runs[0]?.log.rewards[step]?.toFixed(3)}`,
      );
    }
  } finally {
    rowsT.dispose();
    ref.dispose();
    for (const r of runs) {
      r.m.dispose();
      r.opt.dispose();
    }
  }
  const [projc, tfjs] = runs.map((r) => r.log) as [TfjsGrpoRunLog, TfjsGrpoRunLog];
  const lossAgreement = { max: 0, at: 0, maxAbs: 0, belowFloor: 0 };
  let lossOk = true;
  projc.losses.forEach((a, i) => {
    const b = tfjs.losses[i] ?? NaN;
    const d = Math.abs(a - b);
    lossAgreement.maxAbs = Math.max(lossAgreement.maxAbs, d);
    if (!(d <= GRPO_TOLERANCE.loss * Math.abs(b) + GRPO_TOLERANCE.lossAtol)) lossOk = false;
    if (Math.abs(b) < LOSS_FLOOR) {
      lossAgreement.belowFloor++;
      return;
    }
    const rel = relDiff(a, b);
    if (!(rel <= lossAgreement.max)) {
      lossAgreement.max = rel;
      lossAgreement.at = i;
    }
  });
  const peakRatio = Math.max(
    ...projc.headPeak.map((p, i) => p.total / (tfjs.headPeak[i]?.total ?? NaN)),
  );
  const gpuPeakRatio = Math.max(
    ...projc.headPeak.map((p, i) => p.gpuTotal / (tfjs.headPeak[i]?.gpuTotal ?? NaN)),
  );
  const result: TfjsGrpoResult = {
    config,
    device: deviceInfo,
    date: new Date().toISOString(),
    runs: { projc, tfjs },
    lossAgreement,
    sampleMismatches: projc.samples.filter((s, i) => s !== tfjs.samples[i]).length,
    peakRatio,
    gpuPeakRatio,
    projcUploadedBytes: grpo.lastCall()?.uploadedBytes ?? NaN,
    ok: { loss: lossOk, peak: peakRatio < 0.25 && gpuPeakRatio < 0.25 },
    wallMs: performance.now() - t0,
  };
  for (const line of tfjsGrpoSummary(result)) say(line);
  if (opts.out !== null) {
    const dir = opts.out ?? DEFAULT_OUT;
    await writeFormatted(`${dir}/tfjs-grpo.json`, JSON.stringify(result));
    await writeTfjsReport(dir);
  }
  return result;
}

export function tfjsGrpoSummary(r: TfjsGrpoResult): string[] {
  const { projc, tfjs } = r.runs;
  const last = projc.losses.length - 1;
  const a = r.lossAgreement;
  return [
    `loss: step 1 ${projc.losses[0]?.toExponential(3)} → step ${last + 1} ${projc.losses[last]?.toExponential(3)} (projc head), ${tfjs.losses[last]?.toExponential(3)} (TF.js head); reward ${projc.rewards[0]?.toFixed(3)} → ${projc.rewards[last]?.toFixed(3)}`,
    `per-step loss agreement: max |Δ|/|loss| = ${a.max.toExponential(2)} (step ${a.at + 1}) over the ${projc.losses.length - a.belowFloor} steps with |loss| ≥ ${LOSS_FLOOR}; max |Δ| = ${a.maxAbs.toExponential(2)}; every step within ${GRPO_TOLERANCE.loss}·|loss| + ${GRPO_TOLERANCE.lossAtol}: ${r.ok.loss ? 'ok' : 'FAIL'}`,
    `generations each policy would have sampled differently (both train on the baseline's): ${r.sampleMismatches} of ${projc.samples.length}`,
    `head peak projc/TF.js: ${(100 * r.peakRatio).toFixed(1)}% in tensor bytes, ${(100 * r.gpuPeakRatio).toFixed(1)}% in GPU bytes (must be < 25%) ${r.ok.peak ? 'ok' : 'FAIL'}; projc host bytes per call: ${r.projcUploadedBytes} (no tensor data)`,
    `time per step (mean after step 1): projc head ${meanStepMs(projc.stepMs).toFixed(1)} ms, TF.js head ${meanStepMs(tfjs.stepMs).toFixed(1)} ms; wall ${secs(r.wallMs)}`,
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const out = args.get('out');
  const config = withOptions(TFJS_GRPO_DEFAULTS, args, ['out']);
  const r = await main(config, { out: out ?? DEFAULT_OUT });
  if (!r.ok.loss || !r.ok.peak) {
    console.error('tfjs grpo: agreement or memory check failed');
    process.exit(1);
  }
  process.exit(0);
}
