// The hand-written backward of the training examples' backbone against central finite
// differences, and AdamW against PyTorch's update rule written out for one element.
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  backward,
  forward,
  initParams,
  lastHidden,
  PARAM_NAMES,
  zeroGrads,
  type ModelConfig,
  type Params,
} from '../../examples/train/model.ts';
import { mulberry32, normal } from '../../src/run/rng.ts';

const B = 2;
const T = 5;

function setup(activation: ModelConfig['activation']) {
  const cfg: ModelConfig = { vocab: 16, hidden: 8, ffn: 12, maxLen: T, activation };
  const p = initParams(cfg, 7);
  const z = normal(mulberry32(11));
  // Larger weights than the init, so that attention and the activation are far from linear.
  for (const k of PARAM_NAMES) for (let i = 0; i < p[k].length; i++) p[k][i] = 0.5 * z();
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 3) % cfg.vocab);
  const R = Float64Array.from({ length: B * T * cfg.hidden }, () => z());
  return { cfg, p, tokens, R };
}

/** L = Σ R·x2 (so dL/dx2 = R), in float64. */
function loss(cfg: ModelConfig, p: Params, tokens: Int32Array, R: Float64Array): number {
  const c = forward(cfg, p, tokens, B, T);
  return c.x2.reduce((s, x, i) => s + x * (R[i] as number), 0);
}

describe('examples/train/model.ts', () => {
  for (const activation of ['gelu', 'relu'] as const)
    it(`backward matches finite differences (${activation})`, () => {
      const { cfg, p, tokens, R } = setup(activation);
      const g = zeroGrads(p);
      backward(cfg, p, forward(cfg, p, tokens, B, T), R, g);
      const u = mulberry32(3);
      for (const k of PARAM_NAMES) {
        if (k === 'W') continue; // the head's gradient comes from the kernel
        let worst = 0;
        let scale = 0;
        for (let n = 0; n < 6; n++) {
          const i = Math.floor(u() * p[k].length);
          const x = p[k][i] as number;
          const h = 1 / 256; // exact in f32: the perturbed parameters are x ± h exactly
          p[k][i] = x + h;
          const lp = loss(cfg, p, tokens, R);
          p[k][i] = x - h;
          const lm = loss(cfg, p, tokens, R);
          p[k][i] = x;
          const fd = (lp - lm) / (2 * h);
          worst = Math.max(worst, Math.abs(fd - (g[k][i] as number)));
          scale = Math.max(scale, Math.abs(fd));
        }
        expect(worst, `${k}: |fd − backward| (scale ${scale})`).toBeLessThan(
          2e-3 * Math.max(1, scale),
        );
      }
    });

  it('lastHidden is forward at the last position', () => {
    const { cfg, p, tokens } = setup('gelu');
    const full = forward(cfg, p, tokens, B, T).x2;
    const last = lastHidden(cfg, p, tokens, B, T);
    const H = cfg.hidden;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        expect(last[b * H + h]).toBeCloseTo(full[(b * T + T - 1) * H + h] as number, 12);
  });

  it('AdamW follows torch.optim.AdamW', () => {
    const cfg: ModelConfig = { vocab: 4, hidden: 2, ffn: 2, maxLen: 2, activation: 'gelu' };
    const p = initParams(cfg, 1);
    const opt = new AdamW(
      { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, noDecay: ['b1'] },
      p,
    );
    const w0 = p.W[0] as number;
    const g = zeroGrads(p);
    g.W[0] = 0.5;
    g.b1[0] = -2;
    opt.step(p, g);
    // t = 1: m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps) after the decay.
    expect(p.W[0]).toBeCloseTo(w0 * (1 - 0.1 * 0.01) - (0.1 * 0.5) / (0.5 + 1e-8), 6);
    expect(p.b1[0]).toBeCloseTo(0.1, 6);
    g.W[0] = -0.25;
    const w1 = p.W[0] as number;
    opt.step(p, g);
    const m = 0.9 * 0.05 + 0.1 * -0.25;
    const v = 0.999 * 0.00025 + 0.001 * 0.0625;
    const step = ((0.1 / (1 - 0.9 ** 2)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    expect(p.W[0]).toBeCloseTo(w1 * (1 - 0.1 * 0.01) - step, 5);
  });
});
