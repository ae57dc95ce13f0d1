// The backbone of the training examples, in plain TypeScript with a hand-written backward:
// a byte-level causal LM with one transformer block (single-head causal attention and a
// GELU MLP, each with a residual, no normalisation). Its last hidden states X [rows, H] go
// to the LM head W [V, H], whose projection and loss are a compiled `.proj` kernel; the
// kernel's dX comes back here and flows through the block into the embeddings.
//
//   x0 = E[tok] + P[pos]
//   q, k, v = x0·Wq, x0·Wk, x0·Wv;   a = causal_softmax(q·kᵀ / √H);   o = a·v
//   x1 = x0 + o·Wo
//   x2 = x1 + gelu(x1·W1 + b1)·W2 + b2          → X (the head's input; or relu)
//
// Parameters are f32 (Float32Array, like a PyTorch f32 model); activations and sums are
// float64 JS numbers, rounded to f32 where they are stored as parameters or head inputs.

import { mulberry32, normal } from '../../src/run/rng.ts';

export interface ModelConfig {
  /** Vocabulary: 256 bytes. */
  readonly vocab: number;
  /** Hidden size H (also the attention head size). */
  readonly hidden: number;
  /** MLP width F. */
  readonly ffn: number;
  /** Longest sequence (positions of P). */
  readonly maxLen: number;
  /** MLP activation: GELU (tanh form, GPT-2's) or ReLU. */
  readonly activation: 'gelu' | 'relu';
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** The activation and its derivative at x. */
function act(kind: ModelConfig['activation'], x: number): number {
  if (kind === 'relu') return x > 0 ? x : 0;
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
}
function actGrad(kind: ModelConfig['activation'], x: number): number {
  if (kind === 'relu') return x > 0 ? 1 : 0;
  const t = Math.tanh(GELU_C * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
}

/** Every trainable tensor by name; `W` is the LM head (PyTorch layout [V, H]). */
export interface Params {
  E: Float32Array; // [V, H]
  P: Float32Array; // [maxLen, H]
  Wq: Float32Array; // [H, H]  (x·Wq: rows are inputs)
  Wk: Float32Array;
  Wv: Float32Array;
  Wo: Float32Array;
  W1: Float32Array; // [H, F]
  b1: Float32Array; // [F]
  W2: Float32Array; // [F, H]
  b2: Float32Array; // [H]
  W: Float32Array; // [V, H]  lm_head.weight
}
export type ParamName = keyof Params;
export const PARAM_NAMES: readonly ParamName[] = [
  'E',
  'P',
  'Wq',
  'Wk',
  'Wv',
  'Wo',
  'W1',
  'b1',
  'W2',
  'b2',
  'W',
];
export type Grads = Record<ParamName, Float64Array>;

/** Seeded init: N(0, 0.02²) for matrices and embeddings (GPT-2's), zeros for biases. */
export function initParams(cfg: ModelConfig, seed: number): Params {
  const z = normal(mulberry32(seed));
  const { vocab: V, hidden: H, ffn: F, maxLen: L } = cfg;
  const n = (len: number, std = 0.02) => Float32Array.from({ length: len }, () => std * z());
  return {
    E: n(V * H),
    P: n(L * H),
    Wq: n(H * H),
    Wk: n(H * H),
    Wv: n(H * H),
    Wo: n(H * H),
    W1: n(H * F),
    b1: new Float32Array(F),
    W2: n(F * H),
    b2: new Float32Array(H),
    W: n(V * H),
  };
}

/** The shape of each parameter (row-major). */
export function paramShapes(cfg: ModelConfig): Record<ParamName, number[]> {
  const { vocab: V, hidden: H, ffn: F, maxLen: L } = cfg;
  return {
    E: [V, H],
    P: [L, H],
    Wq: [H, H],
    Wk: [H, H],
    Wv: [H, H],
    Wo: [H, H],
    W1: [H, F],
    b1: [F],
    W2: [F, H],
    b2: [H],
    W: [V, H],
  };
}

export function cloneParams(p: Params): Params {
  const out = {} as Params;
  for (const k of PARAM_NAMES) out[k] = Float32Array.from(p[k]);
  return out;
}

// ---- dense helpers (row-major) -------------------------------------------------------------

/** C[m, n] = A[m, k]·B[k, n] (+ bias[n]). */
export function matmul(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  bias?: ArrayLike<number>,
): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    if (bias) for (let j = 0; j < n; j++) C[row + j] = bias[j] as number;
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p] as number;
      if (a === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) C[row + j] = (C[row + j] as number) + a * (B[bo + j] as number);
    }
  }
  return C;
}

/** C[m, k] = A[m, n]·B[k, n]ᵀ (the input gradient of x·B). */
export function matmulBT(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  m: number,
  n: number,
  k: number,
): Float64Array {
  const C = new Float64Array(m * k);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += (A[i * n + j] as number) * (B[p * n + j] as number);
      C[i * k + p] = s;
    }
  return C;
}

/** G[k, n] += A[m, k]ᵀ·D[m, n] (the weight gradient of A·Wt). */
export function addMatmulAT(
  G: Float64Array,
  A: ArrayLike<number>,
  D: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): void {
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p] as number;
      if (a === 0) continue;
      const go = p * n;
      const dRow = i * n;
      for (let j = 0; j < n; j++) G[go + j] = (G[go + j] as number) + a * (D[dRow + j] as number);
    }
}

// ---- forward and backward ------------------------------------------------------------------

/** What the backward pass needs from the forward pass of one batch. */
export interface Cache {
  readonly B: number;
  readonly T: number;
  readonly tokens: Int32Array; // [B, T]
  readonly x0: Float64Array; // [B·T, H]
  readonly q: Float64Array;
  readonly k: Float64Array;
  readonly v: Float64Array;
  readonly att: Float64Array; // [B, T, T] (zero above the diagonal)
  readonly o: Float64Array;
  readonly x1: Float64Array;
  readonly u: Float64Array; // [B·T, F] pre-activation
  readonly r: Float64Array; // act(u)
  /** The block's output: the head's input X, [B·T, H]. */
  readonly x2: Float64Array;
}

/** The block on a batch of B sequences of T tokens (row-major [B, T]). */
export function forward(
  cfg: ModelConfig,
  p: Params,
  tokens: Int32Array,
  B: number,
  T: number,
): Cache {
  const { hidden: H, ffn: F } = cfg;
  if (T > cfg.maxLen) throw new Error(`sequence of ${T} tokens > maxLen ${cfg.maxLen}`);
  const rows = B * T;
  const x0 = new Float64Array(rows * H);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const tok = tokens[b * T + t] as number;
      const o = (b * T + t) * H;
      for (let h = 0; h < H; h++)
        x0[o + h] = (p.E[tok * H + h] as number) + (p.P[t * H + h] as number);
    }
  const q = matmul(x0, p.Wq, rows, H, H);
  const k = matmul(x0, p.Wk, rows, H, H);
  const v = matmul(x0, p.Wv, rows, H, H);
  const scale = 1 / Math.sqrt(H);
  const att = new Float64Array(B * T * T);
  const o = new Float64Array(rows * H);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const qo = (b * T + t) * H;
      const ao = (b * T + t) * T;
      let max = -Infinity;
      for (let s = 0; s <= t; s++) {
        const ko = (b * T + s) * H;
        let dot = 0;
        for (let h = 0; h < H; h++) dot += (q[qo + h] as number) * (k[ko + h] as number);
        att[ao + s] = dot * scale;
        max = Math.max(max, dot * scale);
      }
      let sum = 0;
      for (let s = 0; s <= t; s++) {
        const e = Math.exp((att[ao + s] as number) - max);
        att[ao + s] = e;
        sum += e;
      }
      for (let s = 0; s <= t; s++) {
        const a = (att[ao + s] as number) / sum;
        att[ao + s] = a;
        const vo = (b * T + s) * H;
        for (let h = 0; h < H; h++) o[qo + h] = (o[qo + h] as number) + a * (v[vo + h] as number);
      }
    }
  const x1 = matmul(o, p.Wo, rows, H, H);
  for (let i = 0; i < x1.length; i++) x1[i] = (x1[i] as number) + (x0[i] as number);
  const u = matmul(x1, p.W1, rows, H, F, p.b1);
  const r = u.map((x) => act(cfg.activation, x));
  const x2 = matmul(r, p.W2, rows, F, H, p.b2);
  for (let i = 0; i < x2.length; i++) x2[i] = (x2[i] as number) + (x1[i] as number);
  return { B, T, tokens, x0, q, k, v, att, o, x1, u, r, x2 };
}

/**
 * The block's output at the last position only, [B, H] (for sampling): keys and values of
 * every position, the query, attention, Wo and MLP of the last. Same arithmetic as
 * `forward` for that row, at a fraction of the cost.
 */
export function lastHidden(
  cfg: ModelConfig,
  p: Params,
  tokens: Int32Array,
  B: number,
  T: number,
): Float64Array {
  const { hidden: H, ffn: F } = cfg;
  const x0 = new Float64Array(B * T * H);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const tok = tokens[b * T + t] as number;
      const o = (b * T + t) * H;
      for (let h = 0; h < H; h++)
        x0[o + h] = (p.E[tok * H + h] as number) + (p.P[t * H + h] as number);
    }
  const k = matmul(x0, p.Wk, B * T, H, H);
  const v = matmul(x0, p.Wv, B * T, H, H);
  const last = new Float64Array(B * H);
  for (let b = 0; b < B; b++) last.set(x0.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  const q = matmul(last, p.Wq, B, H, H);
  const scale = 1 / Math.sqrt(H);
  const o = new Float64Array(B * H);
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    let max = -Infinity;
    for (let u = 0; u < T; u++) {
      let dot = 0;
      for (let h = 0; h < H; h++)
        dot += (q[b * H + h] as number) * (k[(b * T + u) * H + h] as number);
      s[u] = dot * scale;
      max = Math.max(max, dot * scale);
    }
    let sum = 0;
    for (let u = 0; u < T; u++) {
      const e = Math.exp((s[u] as number) - max);
      s[u] = e;
      sum += e;
    }
    for (let u = 0; u < T; u++) {
      const a = (s[u] as number) / sum;
      for (let h = 0; h < H; h++)
        o[b * H + h] = (o[b * H + h] as number) + a * (v[(b * T + u) * H + h] as number);
    }
  }
  const x1 = matmul(o, p.Wo, B, H, H);
  for (let i = 0; i < x1.length; i++) x1[i] = (x1[i] as number) + (last[i] as number);
  const r = matmul(x1, p.W1, B, H, F, p.b1).map((x) => act(cfg.activation, x));
  const x2 = matmul(r, p.W2, B, F, H, p.b2);
  for (let i = 0; i < x2.length; i++) x2[i] = (x2[i] as number) + (x1[i] as number);
  return x2;
}

export function zeroGrads(p: Params): Grads {
  const g = {} as Grads;
  for (const k of PARAM_NAMES) g[k] = new Float64Array(p[k].length);
  return g;
}

/**
 * Backpropagates dX = dL/dx2 [B·T, H] through the block into `g` (every parameter but the
 * head's W, whose gradient comes from the kernel).
 */
export function backward(
  cfg: ModelConfig,
  p: Params,
  c: Cache,
  dX: ArrayLike<number>,
  g: Grads,
): void {
  const { hidden: H, ffn: F } = cfg;
  const { B, T } = c;
  const rows = B * T;
  // x2 = x1 + r·W2 + b2
  const dx1 = Float64Array.from(dX);
  addMatmulAT(g.W2, c.r, dX, rows, F, H);
  for (let i = 0; i < rows; i++)
    for (let h = 0; h < H; h++) g.b2[h] = (g.b2[h] as number) + (dX[i * H + h] as number);
  const du = matmulBT(dX, p.W2, rows, H, F);
  for (let i = 0; i < du.length; i++)
    du[i] = (du[i] as number) * actGrad(cfg.activation, c.u[i] as number);
  addMatmulAT(g.W1, c.x1, du, rows, H, F);
  for (let i = 0; i < rows; i++)
    for (let f = 0; f < F; f++) g.b1[f] = (g.b1[f] as number) + (du[i * F + f] as number);
  const dx1m = matmulBT(du, p.W1, rows, F, H);
  for (let i = 0; i < dx1.length; i++) dx1[i] = (dx1[i] as number) + (dx1m[i] as number);
  // x1 = x0 + o·Wo
  const dx0 = Float64Array.from(dx1);
  addMatmulAT(g.Wo, c.o, dx1, rows, H, H);
  const dO = matmulBT(dx1, p.Wo, rows, H, H);
  // o = softmax(q·kᵀ·scale)·v
  const scale = 1 / Math.sqrt(H);
  const dq = new Float64Array(rows * H);
  const dk = new Float64Array(rows * H);
  const dv = new Float64Array(rows * H);
  const da = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const to = (b * T + t) * H;
      const ao = (b * T + t) * T;
      let dot = 0; // Σ_s a[t,s]·da[t,s]
      for (let s = 0; s <= t; s++) {
        const so = (b * T + s) * H;
        const a = c.att[ao + s] as number;
        let d = 0;
        for (let h = 0; h < H; h++) {
          const g0 = dO[to + h] as number;
          d += g0 * (c.v[so + h] as number);
          dv[so + h] = (dv[so + h] as number) + a * g0;
        }
        da[s] = d;
        dot += a * d;
      }
      for (let s = 0; s <= t; s++) {
        const ds = (c.att[ao + s] as number) * ((da[s] as number) - dot) * scale;
        if (ds === 0) continue;
        const so = (b * T + s) * H;
        for (let h = 0; h < H; h++) {
          dq[to + h] = (dq[to + h] as number) + ds * (c.k[so + h] as number);
          dk[so + h] = (dk[so + h] as number) + ds * (c.q[to + h] as number);
        }
      }
    }
  addMatmulAT(g.Wq, c.x0, dq, rows, H, H);
  addMatmulAT(g.Wk, c.x0, dk, rows, H, H);
  addMatmulAT(g.Wv, c.x0, dv, rows, H, H);
  for (const [d, Wm] of [
    [dq, p.Wq],
    [dk, p.Wk],
    [dv, p.Wv],
  ] as const) {
    const dx = matmulBT(d, Wm, rows, H, H);
    for (let i = 0; i < dx0.length; i++) dx0[i] = (dx0[i] as number) + (dx[i] as number);
  }
  // x0 = E[tok] + P[pos]
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const tok = c.tokens[b * T + t] as number;
      const o = (b * T + t) * H;
      for (let h = 0; h < H; h++) {
        const d = dx0[o + h] as number;
        g.E[tok * H + h] = (g.E[tok * H + h] as number) + d;
        g.P[t * H + h] = (g.P[t * H + h] as number) + d;
      }
    }
}

/** Logits of given rows of x2 against W, in float64 (sampling and CPU log-probs only). */
export function logitsOf(
  cfg: ModelConfig,
  W: ArrayLike<number>,
  x2: Float64Array,
  row: number,
): Float64Array {
  const { vocab: V, hidden: H } = cfg;
  const z = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let h = 0; h < H; h++) s += (x2[row * H + h] as number) * (W[v * H + h] as number);
    z[v] = s;
  }
  return z;
}

/** log softmax of a vector, float64. */
export function logSoftmax(z: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of z) max = Math.max(max, x);
  let s = 0;
  for (const x of z) s += Math.exp(x - max);
  const lse = max + Math.log(s);
  return z.map((x) => x - lse);
}

// ---- AdamW ---------------------------------------------------------------------------------

export interface AdamWConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Parameters without weight decay (biases, positions): PyTorch param groups. */
  readonly noDecay: readonly ParamName[];
}

/**
 * torch.optim.AdamW (amsgrad=False, maximize=False), step by step as PyTorch's
 * single-tensor implementation does it, in f32 state like a PyTorch f32 model:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
 */
export class AdamW {
  private t = 0;
  private readonly m: Record<string, Float32Array> = {};
  private readonly v: Record<string, Float32Array> = {};

  constructor(
    private readonly cfg: AdamWConfig,
    params: Params,
  ) {
    for (const k of PARAM_NAMES) {
      this.m[k] = new Float32Array(params[k].length);
      this.v[k] = new Float32Array(params[k].length);
    }
  }

  step(params: Params, grads: Grads): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.cfg;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    const stepSize = lr / bc1;
    const bc2Sqrt = Math.sqrt(bc2);
    for (const k of PARAM_NAMES) {
      const p = params[k];
      const g = grads[k];
      const m = this.m[k] as Float32Array;
      const v = this.v[k] as Float32Array;
      const decay = this.cfg.noDecay.includes(k) ? 1 : 1 - lr * weightDecay;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        p[i] = (p[i] as number) * decay;
        m[i] = beta1 * (m[i] as number) + (1 - beta1) * gi;
        v[i] = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
        const denom = Math.sqrt(v[i] as number) / bc2Sqrt + eps;
        p[i] = (p[i] as number) - (stepSize * (m[i] as number)) / denom;
      }
    }
  }
}

/**
 * The AdamW both training scripts use: PyTorch's defaults (β = (0.9, 0.999), eps 1e-8),
 * no decay on biases and positions.
 */
export function trainingAdamW(params: Params, lr: number, weightDecay: number): AdamW {
  return new AdamW(
    { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, noDecay: ['b1', 'b2', 'P'] },
    params,
  );
}
