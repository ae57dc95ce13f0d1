// The planner's choice between rows-only and rows × vocabulary tiles, from the memory
// budget, and the memory model of the tiled shape: plan only, no device.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateProgram } from '../../codegen/program.ts';
import { main } from '../../src/cli/main.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { PLAN_LIMITS } from '../../src/plan/device-limits.ts';
import { chooseShape, MIN_CHUNK_ROWS } from '../../src/runtime/shape-choice.ts';

async function projc(args: readonly string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (out += t) };
  const code = await main(args, io);
  return { code, out };
}

function kernelOf(path: string): IrFunction {
  const k = [...compileFile({ path, text: readFileSync(path, 'utf8') }).kernels.values()][0];
  if (!k) throw new Error(`no kernel in ${path}`);
  return k;
}

const make = (kernel: IrFunction, grad: string[]) => (vocabTile?: number) => {
  const p = planKernel({ kernel, grad, ...(vocabTile ? { schedule: { vocabTile } } : {}) });
  return generateProgram(p.fn, p.plan);
};

const SEED = ['examples/cross_entropy.proj', '--dims', 'N=16384,H=4096,V=128256', '--grad', 'X,W'];

describe('the plan shape the planner picks', () => {
  it('the 16K × 4096 × 128K cross-entropy with gradients: tiles, within 1% of inputs + gradients', async () => {
    const r = await projc(['plan', ...SEED, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Record<string, number | string>;
    const [N, H, V] = [16384, 4096, 128256];
    // bf16 X and W, f32 dX and dW: what the call holds whatever the plan.
    const inputsAndGradients = 2 * (N * H + V * H) + 4 * (N * H + V * H);
    expect(inputsAndGradients).toBe(3_554_672_640);
    expect(s['shape']).toBe('tiles');
    expect(s['tileDim']).toBe('V');
    const peak = Number(s['predictedPeakBytes']);
    expect(peak).toBeGreaterThan(inputsAndGradients);
    expect(peak / inputsAndGradients - 1).toBeLessThan(0.01);
    // Rows-only at its default budget is 8% above.
    const rows = JSON.parse((await projc(['plan', ...SEED, '--vocab-tile', 'rows', '--json'])).out);
    expect(rows.shape).toBe('rows');
    expect(rows.predictedPeakBytes / inputsAndGradients - 1).toBeGreaterThan(0.07);
  });

  it('prints the shape and the tile width', async () => {
    const r = await projc(['plan', ...SEED]);
    expect(r.out).toMatch(
      /^chunk plan of cross_entropy: rows \[N\], 2 sweeps, rows × V tiles of \d+\n/,
    );
    expect(r.out).toMatch(
      /\n {2}shape: rows × V tiles of \d+ \(rows-only chunks of the lean working set/,
    );
    const ir = await projc([
      'ir',
      'examples/cross_entropy.proj',
      '--grad',
      'X,W',
      '--vocab-tile',
      '4096',
    ]);
    expect(ir.out).toContain(
      '# chunk plan of cross_entropy: rows [N], 2 sweeps, rows × V tiles of 4096\n',
    );
    expect(ir.out).toContain('for each tile of 4096 along V (backward pass):');
    const bad = await projc(['plan', ...SEED, '--vocab-tile', 'wide']);
    expect(bad.code).toBe(2);
  });

  it('rows-only wherever a chunk of enough rows fits the budget', () => {
    const ce = kernelOf('examples/cross_entropy.proj');
    const small = new Map([
      ['N', 4096],
      ['H', 1024],
      ['V', 32000],
    ]);
    const c = chooseShape(make(ce, ['X', 'W']), small, PLAN_LIMITS, {});
    expect(c.shape.kind).toBe('rows');
    expect(c.reason).toMatch(/a chunk of \d+ rows fits the lean working set/);
    // Its chunk is the usual one (the default size), not the lean working set's.
    expect(c.chunk.reason).toBe('default size');
    // A budget that holds fewer rows-only rows than that: tiles, within the budget.
    const budget = c.model.fixedBytes + (MIN_CHUNK_ROWS / 2) * c.model.perRowBytes;
    const t = chooseShape(make(ce, ['X', 'W']), small, PLAN_LIMITS, { memoryBudget: budget });
    expect(t.shape).toMatchObject({ kind: 'tiles', dim: 'V' });
    expect(t.chunk.predictedPeakBytes).toBeLessThanOrEqual(budget);
    expect(t.chunk.chunkRows).toBeGreaterThanOrEqual(MIN_CHUNK_ROWS);
    // Given chunk rows keep the rows-only shape; --vocab-tile forces either.
    expect(
      chooseShape(make(ce, ['X', 'W']), small, PLAN_LIMITS, { chunkRows: 64 }).shape.kind,
    ).toBe('rows');
    expect(chooseShape(make(ce, ['X', 'W']), small, PLAN_LIMITS, { vocabTile: 512 }).shape).toEqual(
      { kind: 'tiles', dim: 'V', width: 512 },
    );
  });

  it('a vocabulary within one tile stays rows-only, even when its chunk is small', () => {
    const ce = kernelOf('examples/cross_entropy.proj');
    const sizes = new Map([
      ['N', 128],
      ['H', 8],
      ['V', 200],
    ]);
    const m = chooseShape(make(ce, []), sizes, PLAN_LIMITS, {}).model;
    const c = chooseShape(make(ce, []), sizes, PLAN_LIMITS, {
      memoryBudget: m.fixedBytes + 3 * m.perRowBytes,
    });
    expect([c.shape.kind, c.chunk.chunkRows]).toEqual(['rows', 3]);
    expect(c.reason).toMatch(/V fits in one tile of 1024/);
  });

  it('a kernel that cannot be tiled stays rows-only and says why', () => {
    const clip = kernelOf('examples/clip.proj');
    const sizes = new Map([
      ['N', 65536],
      ['M', 65536],
      ['D', 1024],
    ]);
    const c = chooseShape(make(clip, []), sizes, PLAN_LIMITS, {});
    expect(c.shape.kind).toBe('rows');
    expect(c.reason).toMatch(/the tiled shape does not apply: .*reads the tile value/);
  });

  it('the memory model of the tiled shape: a tile a row for the logits, the states in the arena', () => {
    const ce = kernelOf('examples/cross_entropy.proj');
    const sizes = new Map([
      ['N', 16384],
      ['H', 4096],
      ['V', 128256],
    ]);
    const rows = chooseShape(make(ce, ['X', 'W']), sizes, PLAN_LIMITS, { vocabTile: 'rows' });
    const tiles = chooseShape(make(ce, ['X', 'W']), sizes, PLAN_LIMITS, { vocabTile: 8192 });
    expect(tiles.model.fixedBytes).toBe(rows.model.fixedBytes);
    // z and dz share one tile of 8192 f32 a row (V × 4 rows-only); 7 state words replace
    // nothing (the rows-only statistics live in registers), the partial %20 is in both.
    expect(rows.model.perRowBytes).toBe(128256 * 4 + 4);
    expect(tiles.model.perRowBytes).toBe(8192 * 4 + 4 + 7 * 4);
  });
});
