// The training examples end to end at a tiny size: each script's main runs both heads
// (projc's chunked kernel and the materialized baseline) from one seed and must pass its
// own agreement checks; the outputs (JSON logs, SVG plots, README) are written to a
// temporary directory.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as grpoMain } from '../../examples/train/grpo.ts';
import { main as lmMain } from '../../examples/train/lm.ts';

const out = mkdtempSync(join(tmpdir(), 'projc-train-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('examples/train', () => {
  it('lm.ts: projc and the baseline train alike', async () => {
    const lines: string[] = [];
    const r = await lmMain(
      { steps: 4, batch: 3, seqLen: 16, hidden: 16, ffn: 32, chunkRows: 8 },
      { out, log: (l) => void lines.push(l) },
    );
    expect(r.ok).toEqual({ loss: true, params: true, peak: true });
    expect(r.runs.projc.losses).toHaveLength(4);
    expect(r.runs.projc.chunks).toBe(6); // 48 rows in chunks of 8
    expect(r.lossAgreement.max).toBeLessThan(1e-5);
    // Padding exercised: fewer kept targets than rows.
    expect(Math.min(...r.keptPerStep)).toBeLessThan(3 * 16);
    expect(r.runs.projc.losses[3]).toBeLessThan(r.runs.projc.losses[0] as number);
    expect(lines.join('\n')).toContain('per-step loss agreement');
    for (const f of ['lm-f32.json', 'lm-f32-loss.svg', 'lm-f32-agreement.svg'])
      expect(existsSync(join(out, f)), f).toBe(true);
  });

  it('grpo.ts: projc and the baseline train alike', async () => {
    const r = await grpoMain(
      { steps: 4, prompts: 2, group: 4, completionLen: 6, hidden: 16, ffn: 32, chunkRows: 8 },
      { out, log: () => {} },
    );
    expect(r.ok).toEqual({ loss: true, rewards: true, params: true, peak: true });
    expect(r.sampleMismatches).toBe(0);
    expect(r.runs.projc.losses).toHaveLength(4);
    expect(r.runs.projc.chunks).toBe(6); // 2·4·6 = 48 rows in chunks of 8
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('## LM, f32 storage');
    expect(readme).toContain('## GRPO, f32 storage');
    expect(existsSync(join(out, 'peak-bytes.svg'))).toBe(true);
  });
});
