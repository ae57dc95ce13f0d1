// TF.js's `tf.matMul` as the peer of the matmul benchmark: the same operands on TF.js's own
// 'webgpu' backend (its own adapter and device from `navigator.gpu`, Dawn's, as in
// ../tfjs-peer.ts), timed the same way as projc's side: record, submit, and wait for the
// queue (`onSubmittedWorkDone`), so that the time is the device's work.
import { loadTfjs, webgpuDone } from '../tfjs-peer.ts';
import type { MatmulLayout } from './shapes.ts';

export interface PreparedTfjsMatmul {
  /** One product; resolves when TF.js's queue has finished it. */
  run(): Promise<void>;
  /** C of the last run, row-major [M, N]. */
  result(): Promise<Float32Array>;
  release(): void;
}

/**
 * Uploads A and B once (a warm-up product does) and returns the measured product
 * `tf.matMul(A, B, transposeA, transposeB)` for the layout: A is stored [M, K], or [K, M]
 * for `tn`; B is stored [K, N], or [N, K] for `nt`.
 */
export async function prepareTfjsMatmul(
  shape: { M: number; K: number; N: number; layout: MatmulLayout },
  a: Float32Array,
  b: Float32Array,
): Promise<PreparedTfjsMatmul> {
  const t = await loadTfjs();
  if ('error' in t) throw new Error(`TF.js: ${t.error}`);
  const { tf } = t;
  const { M, K, N, layout } = shape;
  const A = tf.tensor2d(a, layout === 'tn' ? [K, M] : [M, K]);
  const B = tf.tensor2d(b, layout === 'nt' ? [N, K] : [K, N]);
  const done = await webgpuDone(tf);
  let last: import('@tensorflow/tfjs').Tensor | undefined;
  const run = async () => {
    last?.dispose();
    last = tf.matMul(A, B, layout === 'tn', layout === 'nt');
    await done();
  };
  await run();
  return {
    run,
    async result() {
      if (!last) throw new Error('TF.js matmul: no run yet');
      const data = await last.data();
      return data instanceof Float32Array ? data : Float32Array.from(data);
    },
    release() {
      last?.dispose();
      A.dispose();
      B.dispose();
    },
  };
}
