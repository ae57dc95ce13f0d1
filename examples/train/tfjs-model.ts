// The backbone of model.ts written as a TF.js user writes it: tf.variables, TF.js ops on
// the WebGPU backend, TF.js's autodiff. Same architecture and the same seeded init
// (initParams), so each TF.js run starts where the TypeScript ones do:
//
//   x0 = E[tok] + P[pos]
//   q, k, v = x0·Wq, x0·Wk, x0·Wv;   a = causal_softmax(q·kᵀ / √H);   o = a·v
//   x1 = x0 + o·Wo
//   x2 = x1 + gelu(x1·W1 + b1)·W2 + b2          → X (the head's input)
//
// `setUpTfjs` gives TF.js's WebGPU backend in Node on Dawn (src/tfjs/node.ts says what it
// took) and the ops with their gradients (the `@tensorflow/tfjs` umbrella registers them).

import { installDawnNavigator } from '../../src/tfjs/node.ts';
import { initParams, paramShapes, PARAM_NAMES, type ModelConfig, type ParamName } from './model.ts';

export type Tf = typeof import('@tensorflow/tfjs');
export type TfTensor = import('@tensorflow/tfjs').Tensor;
export type TfVariable = import('@tensorflow/tfjs').Variable;

/** TF.js on its WebGPU backend (in Node: on Dawn through navigator.gpu), once per process. */
export async function setUpTfjs(): Promise<{
  tf: Tf;
  adapter: typeof import('../../src/tfjs/index.ts');
}> {
  await installDawnNavigator();
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its webgpu backend');
  await tf.ready();
  const adapter = await import('../../src/tfjs/index.ts');
  return { tf, adapter };
}

const GELU_C = Math.sqrt(2 / Math.PI);

export interface TfModel {
  readonly vars: Record<ParamName, TfVariable>;
  /** Every variable but the head W (the head's W is given to the head). */
  readonly list: TfVariable[];
  /** The block's output X [B·T, H] for tokens [B, T]. */
  hidden(tokens: TfTensor, B: number, T: number): TfTensor;
  dispose(): void;
}

/** The model as TF.js variables, initialised as `initParams(cfg, seed)`. */
export function tfModel(
  tf: Tf,
  cfg: ModelConfig,
  seed: number,
  name: string,
  trainable = true,
): TfModel {
  const init = initParams(cfg, seed);
  const shapes = paramShapes(cfg);
  const vars = {} as Record<ParamName, TfVariable>;
  for (const k of PARAM_NAMES)
    vars[k] = tf.variable(tf.tensor(init[k], shapes[k], 'float32'), trainable, `${name}.${k}`);
  const { hidden: H } = cfg;
  const masks = new Map<number, TfTensor>();
  // Additive causal mask: 0 on and below the diagonal, −1e9 above (exp underflows to 0).
  const causal = (T: number) => {
    let m = masks.get(T);
    if (!m) {
      const a = new Float32Array(T * T);
      for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) a[t * T + s] = -1e9;
      m = tf.keep(tf.tensor2d(a, [T, T]));
      masks.set(T, m);
    }
    return m;
  };
  const act = (x: TfTensor) =>
    cfg.activation === 'relu'
      ? tf.relu(x)
      : tf.mul(
          tf.mul(x, 0.5),
          tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), GELU_C)), 1),
        );
  return {
    vars,
    list: PARAM_NAMES.filter((k) => k !== 'W').map((k) => vars[k]),
    hidden(tokens, B, T) {
      const rows = B * T;
      const pos = tf.slice(vars.P, [0, 0], [T, H]);
      const x0 = tf.reshape(
        tf.add(tf.reshape(tf.gather(vars.E, tf.reshape(tokens, [rows])), [B, T, H]), pos),
        [rows, H],
      );
      const heads = (w: TfTensor) => tf.reshape(tf.matMul(x0, w), [B, T, H]);
      const q = heads(vars.Wq);
      const k = heads(vars.Wk);
      const v = heads(vars.Wv);
      const att = tf.softmax(
        tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(H)), causal(T)),
      );
      const o = tf.reshape(tf.matMul(att, v), [rows, H]);
      const x1 = tf.add(x0, tf.matMul(o, vars.Wo));
      const u = tf.add(tf.matMul(x1, vars.W1), vars.b1);
      return tf.add(x1, tf.add(tf.matMul(act(u), vars.W2), vars.b2));
    },
    dispose() {
      for (const k of PARAM_NAMES) vars[k].dispose();
      for (const m of masks.values()) m.dispose();
    },
  };
}
