// TF.js as an external peer of `projc bench`: the cross-entropy of examples/cross_entropy.proj
// written the way a TF.js user writes it, `tf.valueAndGrads` of `tf.losses.softmaxCrossEntropy`
// of `tf.matMul(X, W, false, true)` with one-hot labels, on TF.js's own 'webgpu' backend. It
// shares nothing with projc's runtime but the adapter kind: TF.js asks `navigator.gpu` (Dawn,
// installed by installDawnNavigator) for its own adapter and device.
//
// Semantics match the kernel: row loss (1 − ε)·nll + ε·(lse − mean z) is what
// softmaxCrossEntropy computes with labelSmoothing ε (labels (1 − ε)·onehot + ε/V); rows whose
// target is ignore_index get weight 0 (tf.oneHot of −100 is a zero row, and the weight drops
// the smoothing term too), and the loss is the sum over kept rows ÷ max(kept, 1).
import type { IrFunction } from '../ir/types.ts';
import { roundToBf16 } from '../io/dtype-bits.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';

export interface PreparedPeer {
  /** One forward + backward; resolves when TF.js's queue has finished the work. */
  run(): Promise<void>;
  /** Reads the results of the last run back, under the bench's names (`out`, `grad.X`, `grad.W`). */
  results(): Promise<Map<string, Tensor>>;
  /** Tensor bytes TF.js's engine tracked at the peak of one run (`tf.profile().peakBytes`). */
  measurePeak(): Promise<number>;
  release(): void;
}

type Tf = typeof import('@tensorflow/tfjs');

let loaded: Promise<{ tf: Tf; adapter: string } | { error: string }> | undefined;

/** TF.js on its webgpu backend, loaded once; an error text where it is not installed or fails. */
export function loadTfjs(): Promise<{ tf: Tf; adapter: string } | { error: string }> {
  loaded ??= (async () => {
    try {
      const { installDawnNavigator } = await import('../tfjs/node.ts');
      // The backend registers itself on import only if navigator.gpu exists by then.
      await installDawnNavigator();
      // The umbrella package registers the gradients (tfjs-core alone has none).
      const tf = await import('@tensorflow/tfjs');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu')))
        return { error: "TF.js's webgpu backend did not start" };
      await tf.ready();
      return { tf, adapter: `TF.js ${tf.version.tfjs}, webgpu backend` };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  })();
  return loaded;
}

/** Why TF.js cannot run this kernel as a peer, or undefined when it can. */
export function tfjsUnsupported(fn: IrFunction, grad: readonly string[]): string | undefined {
  const names = fn.params.map((p) => p.name).join(',');
  if (fn.name !== 'cross_entropy' || names !== 'X,W,target,ignore_index,label_smoothing')
    return `the TF.js peer implements \`cross_entropy(X, W, target, ignore_index, label_smoothing)\` of examples/cross_entropy.proj, not \`${fn.name}(${names.replaceAll(',', ', ')})\``;
  if (grad.some((g) => g !== 'X' && g !== 'W'))
    return 'the TF.js peer computes the gradients of X and W only';
  return undefined;
}

function values(t: Tensor | undefined, bf16: boolean): Float32Array {
  const out = new Float32Array(t?.data.length ?? 0);
  for (let i = 0; i < out.length; i++) {
    const v = t?.data[i] ?? 0;
    out[i] = bf16 ? roundToBf16(v) : v;
  }
  return out;
}

/** Uploads the inputs once (a warm-up run does) and returns the measured step. */
/**
 * Waits for what TF.js has recorded so far to finish on the device. Its webgpu backend
 * records dispatches into an open compute pass and submits them in batches: this ends the
 * pass, submits and waits for the queue, so that a time is the device's work and not just
 * its recording. Throws where TF.js does not run on 'webgpu'.
 */
export async function webgpuDone(tf: Tf): Promise<() => Promise<void>> {
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const backend = tf.backend();
  if (!(backend instanceof WebGPUBackend))
    throw new Error(`TF.js runs on '${tf.getBackend()}', not 'webgpu'`);
  return async () => {
    backend.endComputePassEncoder();
    backend.ensureCommandEncoderReady();
    backend.submitQueue();
    await backend.queue.onSubmittedWorkDone();
  };
}

export async function prepareTfjs(
  fn: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  grad: readonly string[],
): Promise<PreparedPeer> {
  const t = await loadTfjs();
  if ('error' in t) throw new Error(`TF.js: ${t.error}`);
  const { tf } = t;
  const n = sizes.get('N') ?? 0;
  const h = sizes.get('H') ?? 0;
  const v = sizes.get('V') ?? 0;
  const scalar = (name: string, fallback: number) =>
    fn.params.find((p) => p.name === name)?.default ?? fallback;
  const ignore = scalar('ignore_index', -100);
  const eps = scalar('label_smoothing', 0);
  const dtypeOf = (name: string) => fn.params.find((p) => p.name === name)?.dtype;
  const X = tf.tensor2d(values(inputs.get('X'), dtypeOf('X') === 'bf16'), [n, h]);
  const W = tf.tensor2d(values(inputs.get('W'), dtypeOf('W') === 'bf16'), [v, h]);
  const target = Int32Array.from(inputs.get('target')?.data ?? []);
  const labels = tf.oneHot(tf.tensor1d(target, 'int32'), v);
  const keep = tf.tensor1d(Float32Array.from(target, (x) => (x === ignore ? 0 : 1)));
  const kept = Math.max(
    1,
    target.reduce((s, x) => s + (x === ignore ? 0 : 1), 0),
  );
  const loss = (x: import('@tensorflow/tfjs').Tensor, w: import('@tensorflow/tfjs').Tensor) =>
    tf.div(
      tf.losses.softmaxCrossEntropy(
        labels,
        tf.matMul(x, w, false, true),
        keep,
        eps,
        tf.Reduction.SUM,
      ),
      kept,
    );
  const step = tf.valueAndGrads(loss);
  const done = await webgpuDone(tf);
  let last:
    | { value: import('@tensorflow/tfjs').Tensor; grads: import('@tensorflow/tfjs').Tensor[] }
    | undefined;
  const dispose = () => {
    if (!last) return;
    last.value.dispose();
    for (const g of last.grads) g.dispose();
    last = undefined;
  };
  const run = async () => {
    dispose();
    last = step([X, W]);
    await done();
  };
  return {
    run,
    async results() {
      const out = new Map<string, Tensor>();
      if (!last) return out;
      const asTensor = async (x: import('@tensorflow/tfjs').Tensor, dims: string[]) => ({
        dtype: 'f32' as const,
        dims,
        shape: x.shape,
        data: Float64Array.from(await x.data()),
      });
      out.set('out', await asTensor(last.value, []));
      const [gx, gw] = last.grads;
      if (grad.includes('X') && gx) out.set('grad.X', await asTensor(gx, ['N', 'H']));
      if (grad.includes('W') && gw) out.set('grad.W', await asTensor(gw, ['V', 'H']));
      return out;
    },
    async measurePeak() {
      dispose();
      const info = await tf.profile(async () => {
        last = step([X, W]);
        await done();
        // Kept outside the profile's count of new tensors, not of its peak.
        return [last.value, ...last.grads];
      });
      return info.peakBytes;
    },
    release() {
      dispose();
      for (const x of [X, W, labels, keep]) x.dispose();
    },
  };
}
