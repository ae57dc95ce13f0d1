// `projc plan` (the plan and predicted peak without a device), `projc compile` (WGSL files
// and manifest.json another runtime could follow), and NaN/Inf flagged by `run --json`.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { checkWgsl } from '../../src/runtime/compile-check.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { encodeFromNumbers, writeSafetensors } from '../../src/io/safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'projc-plan-'));
const CE = 'examples/cross_entropy.proj';

async function projc(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

let dev: AcquiredDevice;
beforeAll(async () => {
  dev = await acquireDevice();
});
afterAll(() => dev.release());

describe('projc plan', () => {
  it('predicts the 16K × 128K case without a device, far below materializing the logits', async () => {
    const r = await projc(
      'plan',
      CE,
      '--dims',
      'N=16384,H=4096,V=128256',
      '--grad',
      'X,W',
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.rows).toEqual(['N']);
    expect(j.sweeps.map((s: { projections: number }) => s.projections)).toEqual([0, 2]);
    // bf16 logits (2 B) + their f32 upcast (4 B) + the f32 gradient (4 B) per logit.
    expect(j.materializedBytes).toBeGreaterThan(16384 * 128256 * 10);
    expect(j.predictedPeakBytes).toBeLessThan(0.2 * j.materializedBytes);
    expect(j.chunkRows).toBeLessThan(16384);
  });

  it('follows a memory budget, and rejects one too small for a row', async () => {
    const ok = JSON.parse(
      (
        await projc(
          'plan',
          CE,
          '--dims',
          'N=16384,H=4096,V=128256',
          '--grad',
          'X,W',
          '--memory-budget',
          '4GiB',
          '--json',
        )
      ).out,
    );
    expect(ok.predictedPeakBytes).toBeLessThanOrEqual(4 * 2 ** 30);
    expect(ok.chunkReason).toBe('memory budget');
    const bad = await projc(
      'plan',
      CE,
      '--dims',
      'N=16384,H=4096,V=128256',
      '--grad',
      'X,W',
      '--memory-budget',
      '3GiB',
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/too small for even one row/);
  });

  it('prints the plan as text and needs every dim', async () => {
    const r = await projc(
      'plan',
      'examples/token_entropy.proj',
      '--dims',
      'B=4,T=1024,H=2048,V=32000',
      '--grad',
      'X,W',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/chunk plan of token_logp_entropy: rows \[B, T\], 1 sweep/);
    expect(r.out).toMatch(/projc \/ baseline: [\d.]+%/);
    expect((await projc('plan', CE, '--dims', 'N=8,H=4')).code).toBe(2);
  });
});

describe('projc compile', () => {
  it('writes every module and a manifest naming them, and every module compiles', async () => {
    const out = join(dir, 'ce');
    const r = await projc('compile', CE, '--grad', 'X,W', '--out', out);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.format).toBe('projc-manifest/2');
    expect(m.kernel).toBe('cross_entropy');
    expect(m.results.map((x: { name: string }) => x.name)).toEqual(['out', 'grad.X', 'grad.W']);
    expect(m.schedule.sweeps).toHaveLength(2);
    for (const mod of [...m.modules, ...m.matmul.modules])
      expect(existsSync(join(out, mod.file))).toBe(true);
    // Every product of the schedule has its module (and the accumulating one for K splits).
    expect(m.matmul.modules.map((x: { name: string }) => x.name)).toEqual([
      'matmul_bf16_bf16_set',
      'matmul_bf16_bf16_acc',
      'matmul_f32_bf16_set',
      'matmul_f32_bf16_acc',
    ]);
    const files = readdirSync(out).filter((f) => f.endsWith('.wgsl'));
    expect(files.some((f) => f.startsWith('matmul_'))).toBe(true);
    for (const f of files) {
      const c = await checkWgsl(dev.device, readFileSync(join(out, f), 'utf8'), f);
      expect(c.messages, f).toEqual([]);
    }
  });
});

describe('projc run --json flags values that are not finite', () => {
  it('lists NaN results and gradients (PyTorch propagates them too)', async () => {
    const X = encodeFromNumbers([NaN, 1, 2, 3, 4, 5], 'F32', [3, 2], 'X');
    const W = encodeFromNumbers([1, 0, 0, 1], 'F32', [2, 2], 'W');
    const t = encodeFromNumbers([0, 1, 1], 'I32', [3], 'target');
    const path = join(dir, 'nan.safetensors');
    writeFileSync(path, writeSafetensors([X, W, t]));
    const prog = join(dir, 'ce32.proj');
    writeFileSync(prog, readFileSync(CE, 'utf8').replaceAll('bf16[', 'f32['));
    for (const backend of ['cpu', 'webgpu']) {
      const r = await projc(
        'run',
        prog,
        '--inputs',
        path,
        '--grad',
        'X,W',
        '--json',
        '--backend',
        backend,
      );
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.outputs.out, backend).toBe('NaN');
      expect(j.nonFinite, backend).toEqual(['out', 'grad.X', 'grad.W']);
    }
  });
});
