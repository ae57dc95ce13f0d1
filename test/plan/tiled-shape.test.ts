// The rows × vocabulary-tiles shape as plan data: what `schedule: { vocabTile }` makes of
// cross-entropy (tile loops, statistic states, tile buffers), the program it generates
// (deterministic), and P0405 for a width or kernel the shape cannot take.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateProgram } from '../../codegen/program.ts';
import { manifest } from '../../src/api/manifest.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import type { ScheduleNode } from '../../src/plan/types.ts';

function kernelOf(path: string): IrFunction {
  const k = [...compileFile({ path, text: readFileSync(path, 'utf8') }).kernels.values()][0];
  if (!k) throw new Error(`no kernel in ${path}`);
  return k;
}

const ce = kernelOf('examples/cross_entropy.proj');

function failure(f: () => unknown): UserError | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  return undefined;
}

describe('schedule: { vocabTile }', () => {
  it('cross-entropy with gradients: a statistics pass, the per-row stores, a backward pass', () => {
    const { plan } = planKernel({ kernel: ce, grad: ['X', 'W'], schedule: { vocabTile: 4096 } });
    expect(plan.shape).toEqual({ kind: 'tiles', dim: 'V', width: 4096 });
    const loop = plan.schedule.find(
      (n): n is Extract<ScheduleNode, { kind: 'loop' }> => n.kind === 'loop' && n.sweep === 1,
    );
    const steps = loop?.body.map((s) =>
      s.kind === 'tiles'
        ? [
            `tiles ${s.dim} pass ${s.pass}${s.backward ? ' (backward)' : ''}`,
            s.body.map((x) => (x.kind === 'matmul' ? `matmul ${x.tiled}` : x.role)),
          ]
        : [s.kind === 'tile-row' ? s.role : s.kind],
    );
    expect(steps).toEqual([
      ['tiles V pass 1', ['matmul n', 'statistics']],
      ['finish'],
      ['tiles V pass 2 (backward)', ['matmul n', 'dz', 'matmul k', 'matmul m']],
      ['carry'],
    ]);
    // The logits and dz hold one tile a row; each statistic has a state slot of its monoid's width.
    const z = plan.buffers.find((b) => b.name === 'chunk.%5');
    expect(z).toMatchObject({
      tile: { dim: 'V', width: 4096 },
      elements: { dims: [], chunkRows: true, factor: 4096 },
    });
    const states = plan.buffers.filter((b) => b.role === 'state');
    expect(states.map((b) => [b.scope, b.elements.factor ?? 1])).toEqual([
      ['chunk', 2],
      ['chunk', 1],
      ['chunk', 1],
      ['chunk', 1],
      ['chunk', 2],
    ]);
    const tiled = plan.sweeps[1]?.tiled;
    expect(tiled?.statistics.flat().map((s) => [s.monoid, s.width])).toEqual([
      ['logsumexp', 2],
      ['gather', 1],
      ['sum', 1],
      ['max', 1],
      ['logsumexp', 2],
    ]);
  });

  it('generates the same program twice, with the tile words only in tiled plans', () => {
    const gen = (vocabTile?: number) => {
      const { fn, plan } = planKernel({
        kernel: ce,
        grad: ['X', 'W'],
        ...(vocabTile ? { schedule: { vocabTile } } : {}),
      });
      return generateProgram(fn, plan);
    };
    const [a, b] = [gen(256), gen(256)];
    expect(a.modules.map((m) => m.code)).toEqual(b.modules.map((m) => m.code));
    expect(a.layout.uniform.filter((w) => w.kind.startsWith('tile')).length).toBe(4);
    expect(gen().layout.uniform.some((w) => w.kind.startsWith('tile'))).toBe(false);
    // The tile loops are in the program the runtime walks.
    const loops = a.sweeps[1]?.chunk.filter((s) => s.kind === 'tiles');
    expect(loops?.map((s) => (s.kind === 'tiles' ? [s.dim, s.width, s.pass] : []))).toEqual([
      ['V', 256, 1],
      ['V', 256, 2],
    ]);
  });

  it('the manifest carries the tile loops', () => {
    const { fn, plan } = planKernel({ kernel: ce, grad: ['X', 'W'], schedule: { vocabTile: 512 } });
    const m = manifest(generateProgram(fn, plan));
    const steps = m.schedule.sweeps[1]?.forEachChunk ?? [];
    const loops = steps.flatMap((s) => ('tiles' in s ? [s.tiles] : []));
    expect(loops.map((l) => [l.dim, l.width, l.pass, l.steps.length])).toEqual([
      ['V', 512, 1, 2],
      ['V', 512, 2, 4],
    ]);
    expect(loops[1]?.steps.filter((s) => 'matmul' in s && s.accumulateTiles).length).toBe(1);
    expect(m.uniform.filter((w) => w.kind.startsWith('tile'))).toHaveLength(4);
    // The backward pass visits the tiles last to first: its first tile is the one the
    // statistics pass left resident, whose projection it skips.
    expect(loops.map((l) => [l.reverse, l.reusesTile])).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(loops[1]?.steps.filter((s) => 'matmul' in s && s.forward).length).toBe(1);
  });

  it('a width that is not a positive integer is P0405', () => {
    for (const w of [0, -8, 1.5, Number.NaN]) {
      const e = failure(() => planKernel({ kernel: ce, schedule: { vocabTile: w } }));
      expect(e?.diagnostics[0]?.code, String(w)).toBe('P0405');
      expect(e?.message).toMatch(/vocabTile must be a positive integer/);
    }
  });

  it('a kernel that needs whole rows is P0405 with the reason', () => {
    const e = failure(() =>
      planKernel({ kernel: kernelOf('examples/clip.proj'), schedule: { vocabTile: 64 } }),
    );
    expect(e?.diagnostics[0]?.code).toBe('P0405');
    expect(e?.message).toMatch(
      /`clip` cannot be tiled over its vocabulary: sweep 0: %\d+ \(logsumexp over N\) reads the tile value s outside a reduction over M/,
    );
    expect(e?.diagnostics[0]?.help).toEqual([
      'leave vocabTile out: the rows-only shape runs every kernel',
    ]);
  });
});
