// The TF.js training runs, CI-sized: the TF.js model computes what model.ts computes from
// the same init, and a few steps of each script agree with their TF.js-head twin, print a
// progress line per step and measure the head's peak memory.
import { describe, expect, it } from 'vitest';
import { main as grpoMain } from '../../examples/train/tfjs-grpo.ts';
import { main as lmMain } from '../../examples/train/tfjs-lm.ts';
import { setUpTfjs, tfModel } from '../../examples/train/tfjs-model.ts';
import { forward, initParams, type ModelConfig } from '../../examples/train/model.ts';

const { tf } = await setUpTfjs();

describe('examples/train/tfjs-model.ts', () => {
  it('computes the block of model.ts from the same init', async () => {
    const cfg: ModelConfig = { vocab: 256, hidden: 16, ffn: 24, maxLen: 8, activation: 'gelu' };
    const B = 2;
    const T = 8;
    const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 5) % 256);
    const want = forward(cfg, initParams(cfg, 99), tokens, B, T).x2;
    const m = tfModel(tf, cfg, 99, 'check');
    const x = tf.tidy(() => m.hidden(tf.tensor2d(tokens, [B, T], 'int32'), B, T));
    const got = await x.data();
    let d = 0;
    let s = 0;
    want.forEach((w, i) => {
      d = Math.max(d, Math.abs((got[i] ?? NaN) - w));
      s = Math.max(s, Math.abs(w));
    });
    expect(d / s).toBeLessThan(1e-5);
    x.dispose();
    m.dispose();
  });
});

describe('TF.js training with a projc head, a few steps', () => {
  it('LM: same losses as the TF.js head, a fraction of its memory', async () => {
    const lines: string[] = [];
    const r = await lmMain(
      { steps: 3, batch: 2, seqLen: 16, hidden: 16, ffn: 32, chunkRows: 8 },
      { out: null, log: (l) => void lines.push(l) },
    );
    expect(r.runs.projc.losses).toHaveLength(3);
    expect(r.ok.loss).toBe(true);
    expect(r.peakRatio).toBeLessThan(1);
    expect(r.runs.projc.headPeak).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('tfjs lm step'))).toHaveLength(3);
  });

  it('GRPO: same losses as the TF.js grpo_loss, same samples', async () => {
    const lines: string[] = [];
    const r = await grpoMain(
      { steps: 2, prompts: 2, group: 4, completionLen: 6, hidden: 16, ffn: 32, chunkRows: 16 },
      { out: null, log: (l) => void lines.push(l) },
    );
    expect(r.runs.projc.losses).toHaveLength(2);
    expect(r.ok.loss).toBe(true);
    expect(r.sampleMismatches).toBe(0);
    expect(r.peakRatio).toBeLessThan(1);
    expect(lines.filter((l) => l.startsWith('tfjs grpo step'))).toHaveLength(2);
  });
});
