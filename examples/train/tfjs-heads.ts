// The LM heads of the TF.js training runs, both functions of TF.js tensors (X, W, ...) →
// a scalar loss that TF.js differentiates:
//
// - `projc`: the compiled kernel through projc/tfjs, on TF.js's device, zero copy; the
//   rows × vocab logits never exist at once;
// - `tfjs`: TF.js's own ops on the materialized logits (matMul, softmaxCrossEntropy /
//   logSoftmax), freed by TF.js after their last use.
//
// `headPeak` measures one head's forward + backward alone on given inputs: TF.js's
// tensor bytes at the peak (tf.profile, the accounting of tf.memory()) and the GPU bytes of
// TF.js's buffer manager at their peak, each above what was live before, plus, for projc,
// the peak of its own buffers (its tracker).

import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { TfKernel } from '../../src/tfjs/index.ts';
import type { Tf, TfTensor } from './tfjs-model.ts';

export type TfHeadKind = 'projc' | 'tfjs';

/**
 * GRPO steps whose loss is below this are judged by an absolute tolerance alone: the first
 * step on each generation has ratio = 1 and Σ A = 0 per group, so its loss is β·KL ≈ 0.
 */
export const GRPO_LOSS_FLOOR = 1e-3;

export interface HeadPeak {
  /** TF.js tensor bytes above the starting point at the peak (tf.profile, tf.memory()'s count). */
  readonly tfBytes: number;
  /**
   * Bytes of GPU buffers TF.js's buffer manager had in use at the peak, above the start:
   * unlike tensor bytes, a buffer shared by two tensors (a clone) counts once.
   */
  readonly gpuBytes: number;
  /** projc's own buffers at its peak (0 for the TF.js head). */
  readonly projcBytes: number;
  /** tfBytes + projcBytes. */
  readonly total: number;
  /** gpuBytes + projcBytes. */
  readonly gpuTotal: number;
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
  backend: WebGPUBackend,
  run: () => TfTensor[],
  projc: TfKernel | undefined,
): Promise<HeadPeak> {
  // Buffers of disposed tensors go back to the manager at TF.js's next submit: submit
  // first, so the start is what is really live.
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  const start = tf.memory().numBytes;
  const bm = backend.bufferManager;
  const gpuStart = bm.numBytesUsed;
  let gpuPeak = gpuStart;
  // Sampled at every acquisition for the probe only: the buffer manager keeps no peak.
  const acquire = bm.acquireBuffer.bind(bm);
  bm.acquireBuffer = (...args: Parameters<typeof acquire>) => {
    const b = acquire(...args);
    gpuPeak = Math.max(gpuPeak, bm.numBytesUsed);
    return b;
  };
  let peakBytes = start;
  try {
    const info = await tf.profile(() => {
      tf.dispose(run());
    });
    peakBytes = info.peakBytes;
  } finally {
    bm.acquireBuffer = acquire;
  }
  const tfBytes = Math.max(0, peakBytes - start);
  const gpuBytes = gpuPeak - gpuStart;
  const projcBytes = projc?.lastCall()?.peakBytes ?? 0;
  return {
    tfBytes,
    gpuBytes,
    projcBytes,
    total: tfBytes + projcBytes,
    gpuTotal: gpuBytes + projcBytes,
  };
}
