/// <reference types="vite/client" />
// The browser test's TF.js page: projc/tfjs on TF.js's webgpu backend (navigator.gpu), the
// loss and gradients of cross_entropy through tf.grads against TF.js's own head, both on
// TF.js's device; publishes the differences on `window.projcTfjsResult` (or the error on
// `window.projcError`).
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients of its ops.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import source from '../../../examples/cross_entropy.proj?raw';
import { compile } from '../../../src/browser.ts';
import { runtimeOn, tfKernel, webgpuBackend } from '../../../src/tfjs/index.ts';
import type { TfjsPageResult } from './result.ts';

declare global {
  interface Window {
    projcTfjsResult?: TfjsPageResult;
    projcError?: string;
  }
}

const N = 48;
const H = 16;
const V = 96;

/** max |a − b| / max |b|. */
async function maxRel(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const x = await a.data();
  const y = await b.data();
  let d = 0;
  let s = 0;
  y.forEach((v, i) => {
    d = Math.max(d, Math.abs((x[i] ?? NaN) - v));
    s = Math.max(s, Math.abs(v));
  });
  return d / s;
}

const status = document.getElementById('status');
try {
  if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu backend');
  const kernel = compile(source.replaceAll('bf16[', 'f32[')).kernels.get('cross_entropy');
  if (!kernel) throw new Error('cross_entropy did not compile');
  const rt = await runtimeOn();
  const ce = await tfKernel(kernel, { grad: ['X', 'W'], chunkRows: 16, runtime: rt });
  const X = tf.randomNormal([N, H], 0, 1, 'float32', 1);
  const W = tf.randomNormal([V, H], 0, 1, 'float32', 2);
  const target = tf.tensor1d(
    Int32Array.from({ length: N }, (_, i) => (i % 7 === 3 ? -100 : (i * 13) % V)),
    'int32',
  );
  const tfHead = (x: tf.Tensor, w: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(
      tf.oneHot(target, V),
      tf.matMul(x, w, false, true),
      tf.cast(tf.notEqual(target, -100), 'float32'),
    );
  const [dX, dW] = tf.grads((x: tf.Tensor, w: tf.Tensor) => ce({ X: x, W: w, target }))([X, W]);
  const [eX, eW] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tfHead(x, w))([X, W]);
  const loss = ce({ X, W, target });
  const want = tfHead(X, W);
  if (!dX || !dW || !eX || !eW) throw new Error('missing gradients');
  const r: TfjsPageResult = {
    backend: tf.getBackend(),
    sameDevice: rt.device.device === webgpuBackend().device,
    loss: (await loss.data())[0] ?? NaN,
    lossRel: await maxRel(loss, want),
    gradXRel: await maxRel(dX, eX),
    gradWRel: await maxRel(dW, eW),
    inputBytes: [...(ce.lastCall()?.inputBytes.values() ?? [])],
  };
  if (status)
    status.textContent = [
      `backend: ${r.backend} (projc on its device: ${r.sameDevice})`,
      `loss = ${r.loss} (TF.js head: relative difference ${r.lossRel.toExponential(2)})`,
      `grad.X ${r.gradXRel.toExponential(2)}, grad.W ${r.gradWRel.toExponential(2)} (relative to max |·|)`,
      `host bytes per input: ${r.inputBytes.join(', ')}`,
    ].join('\n');
  window.projcTfjsResult = r;
} catch (e) {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (status) status.textContent = `error: ${message}`;
  window.projcError = message;
}
