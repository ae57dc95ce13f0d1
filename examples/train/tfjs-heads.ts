// The LM heads of the TF.js training runs, both functions of TF.js tensors (X, W, ...) →
// a scalar loss that TF.js differentiates:
//
// - `projc`: the compiled kernel through projc/tfjs, on TF.js's device, zero copy; the
//   rows × vocab logits never exist at once;
// - `tfjs`: TF.js's own ops on the materialized logits (matMul, softmaxCrossEntropy /
//   logSoftmax), freed by TF.js after their last use.
//
// `headPeak` measures one head's forward + backward alone on given inputs: TF.js's
// tensor bytes at the peak (tf.profile, the accounting of tf.memory()) above what was live
// before, plus, for projc, the peak of its own buffers (its tracker).

import type { TfKernel } from '../../src/tfjs/index.ts';
import type { Tf, TfTensor } from './tfjs-model.ts';

export type TfHeadKind = 'projc' | 'tfjs';

/**
 * GRPO steps whose loss is below this are judged by an absolute tolerance alone: the first
 * step on each generation has ratio = 1 and Σ A = 0 per group, so its loss is β·KL ≈ 0.
 */
export const GRPO_LOSS_FLOOR = 1e-3;

export interface HeadPeak {
  /** TF.js tensor bytes above the starting point at the peak. */
  readonly tfBytes: number;
  /** projc's own buffers at its peak (0 for the TF.js head). */
  readonly projcBytes: number;
  readonly total: number;
}

/** Cross-entropy over the kept rows (target ≠ −100), mean: the kernel `cross_entropy`. */
export function tfCrossEntropy(tf: Tf, V: number) {
  return (X: TfTensor, W: TfTensor, target: TfTensor) => {
    const logits = tf.matMul(X, W, false, true);
    const keep = tf.cast(tf.notEqual(target, -100), 'float32');
    return tf.losses.softmaxCrossEntropy(tf.oneHot(target, V), logits, keep).asScalar();
  };
}

export async function headPeak(
  tf: Tf,
  run: () => TfTensor[],
  projc: TfKernel | undefined,
): Promise<HeadPeak> {
  const start = tf.memory().numBytes;
  const info = await tf.profile(() => {
    tf.dispose(run());
  });
  const tfBytes = Math.max(0, info.peakBytes - start);
  const projcBytes = projc?.lastCall()?.peakBytes ?? 0;
  return { tfBytes, projcBytes, total: tfBytes + projcBytes };
}
