// projc/tfjs on TF.js's WebGPU backend in Node (Dawn): the kernel as a TF.js function
// against TF.js's own materialized matMul + softmaxCrossEntropy, its gradients through
// tf.grads (with an upstream cotangent) and tf.variableGrads + an optimizer, no tensor
// leaked per step and no host byte uploaded per call.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/index.ts';
import { mulberry32 } from '../../src/run/rng.ts';
import { installDawnNavigator } from '../../src/tfjs/node.ts';

// The backend registers itself on import only if navigator.gpu exists by then.
await installDawnNavigator();
// The umbrella package registers the gradients of TF.js ops (tfjs-core alone has none).
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-webgpu');
const { runtimeOn, tfKernel, webgpuBackend } = await import('../../src/tfjs/index.ts');
type T = import('@tensorflow/tfjs').Tensor;

const N = 24;
const H = 16;
const V = 40;
const text = readFileSync(new URL('../../examples/cross_entropy.proj', import.meta.url), 'utf8');
const kernel = compile(text.replaceAll('bf16[', 'f32[')).kernels.get('cross_entropy');
if (!kernel) throw new Error('no cross_entropy');

const rand = mulberry32(3);
const xs = Float32Array.from({ length: N * H }, () => rand() * 2 - 1);
const ws = Float32Array.from({ length: V * H }, () => rand() * 2 - 1);
const ts = Int32Array.from({ length: N }, (_, i) => (i % 5 === 2 ? -100 : (i * 7) % V));

beforeAll(async () => {
  expect(await tf.setBackend('webgpu')).toBe(true);
});
afterAll(() => tf.disposeVariables());

function pair(xs: readonly T[]): [T, T] {
  const [a, b] = xs;
  if (!a || !b) throw new Error('expected two tensors');
  return [a, b];
}

/** TF.js's own head: the whole [N, V] logits, mean over the kept rows. */
function tfHead(X: T, W: T, target: T): import('@tensorflow/tfjs').Scalar {
  const logits = tf.matMul(X, W, false, true);
  const keep = tf.cast(tf.notEqual(target, -100), 'float32');
  return tf.losses.softmaxCrossEntropy(tf.oneHot(target, V), logits, keep).asScalar();
}

async function maxRel(a: T, b: T): Promise<number> {
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

describe('projc/tfjs', () => {
  it('runs on the webgpu backend, sharing its device', async () => {
    const rt = await runtimeOn();
    expect(rt.device.device).toBe(webgpuBackend().device);
    expect(rt.device.source).toBe('caller');
    rt.release(); // a caller's device is left alone
    expect(tf.add(tf.scalar(1), 1).dataSync()[0]).toBe(2);
  });

  it('gives the loss and gradients of TF.js materialized head, an upstream cotangent included', async () => {
    const ce = await tfKernel(kernel, { grad: ['X', 'W'], chunkRows: 8 });
    const X = tf.tensor2d(xs, [N, H]);
    const W = tf.tensor2d(ws, [V, H]);
    const target = tf.tensor1d(ts, 'int32');
    // 3·L + 1: TF.js passes dy = 3 to the backward.
    const mine = tf.grads((x: T, w: T) => tf.add(tf.mul(ce({ X: x, W: w, target }), 3), 1));
    const theirs = tf.grads((x: T, w: T) => tf.add(tf.mul(tfHead(x, w, target), 3), 1));
    const [dX, dW] = pair(mine([X, W]));
    const [eX, eW] = pair(theirs([X, W]));
    expect(await maxRel(dX, eX)).toBeLessThan(1e-5);
    expect(await maxRel(dW, eW)).toBeLessThan(1e-5);
    const loss = ce({ X, W, target });
    const want = tfHead(X, W, target);
    expect(await maxRel(loss, want)).toBeLessThan(1e-6);
    // Every input came from a TF.js buffer: no host bytes for any of them.
    expect([...(ce.lastCall()?.inputBytes.values() ?? [])]).toEqual([0, 0, 0]);
    tf.dispose([X, W, target, dX, dW, eX, eW, loss, want]);
  });

  it('reads a host tensor that TF.js uploads through its pending encoder', async () => {
    const ce = await tfKernel(kernel, { grad: ['X', 'W'], chunkRows: 8 });
    const target = tf.tensor1d(ts, 'int32');
    // A buffer of X's size goes back to TF.js's free list: the next upload of that size
    // reuses it through a staging copy recorded in TF.js's encoder, not yet submitted.
    const before = tf.add(tf.tensor2d(xs, [N, H]), 1);
    await before.data();
    before.dispose();
    const X = tf.tensor2d(xs, [N, H]);
    const W = tf.tensor2d(ws, [V, H]);
    const loss = ce({ X, W, target });
    const want = tfHead(X, W, target);
    expect(await maxRel(loss, want)).toBeLessThan(1e-6);
    tf.dispose([X, W, target, loss, want]);
  });

  it('trains with tf.variableGrads and Adam like TF.js own head, leaking no tensor', async () => {
    const ce = await tfKernel(kernel, { grad: ['X', 'W'], chunkRows: 8 });
    const target = tf.tensor1d(ts, 'int32');
    const runs = [0, 1].map((k) => ({
      head: k === 0 ? 'projc' : 'tfjs',
      X: tf.variable(tf.tensor2d(xs, [N, H]), true, `X${k}`),
      W: tf.variable(tf.tensor2d(ws, [V, H]), true, `W${k}`),
      opt: tf.train.adam(1e-2),
      losses: [] as number[],
    }));
    const tensors: number[] = [];
    for (let step = 0; step < 4; step++) {
      for (const r of runs) {
        // minimize = tf.variableGrads + applyGradients.
        const cost = r.opt.minimize(
          () => (r.head === 'projc' ? ce({ X: r.X, W: r.W, target }) : tfHead(r.X, r.W, target)),
          true,
          [r.X, r.W],
        );
        r.losses.push((await cost?.data())?.[0] ?? NaN);
        cost?.dispose();
      }
      tensors.push(tf.memory().numTensors);
    }
    const [mine, theirs] = runs.map((r) => r.losses);
    mine?.forEach((l, i) =>
      expect(Math.abs(l - (theirs?.[i] ?? NaN)) / Math.abs(l)).toBeLessThan(1e-5),
    );
    expect(mine?.[3]).toBeLessThan(mine?.[0] ?? 0);
    expect(tensors.every((n) => n === tensors[0])).toBe(true);
    expect(ce.lastCall()?.uploadedBytes).toBeLessThan(1024);
    for (const r of runs) r.opt.dispose();
    target.dispose();
  });
});
