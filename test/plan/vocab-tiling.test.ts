// Which sweeps could cut their projections' output dim (the vocabulary) into tiles, and what
// the tiled shape would cost: statistics per pass with their monoids, dz, the products.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileFile } from '../../src/frontend/compile.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { vocabTiling, type SweepTiling } from '../../src/plan/vocab-tiling.ts';

function kernelOf(path: string, text = readFileSync(path, 'utf8')): IrFunction {
  const k = [...compileFile({ path, text }).kernels.values()][0];
  if (!k) throw new Error(`no kernel in ${path}`);
  return k;
}

function tiling(kernel: IrFunction, grad: string[] = []) {
  const { fn, plan } = planKernel({ kernel, grad });
  return { fn, plan, tilings: vocabTiling(fn, plan) };
}

function eligible(t: SweepTiling | undefined): Extract<SweepTiling, { eligible: true }> {
  if (!t?.eligible) throw new Error(`not eligible: ${t ? t.reason : 'no projection'}`);
  return t;
}

const ce = kernelOf('examples/cross_entropy.proj');

describe('vocabTiling', () => {
  it('forward cross-entropy: one pass, its statistics merged with their monoids', () => {
    const { fn, tilings } = tiling(ce);
    expect(tilings).toHaveLength(1);
    const t = eligible(tilings[0]);
    expect(t.dim).toBe('V');
    expect(t.statistics.map((l) => l.map((s) => s.monoid))).toEqual([
      ['logsumexp', 'gather', 'sum'],
    ]);
    expect(t.statistics[0]?.map((s) => fn.labels?.get(s.node))).toContain('lse');
    expect([t.passes, t.products, t.rowsOnlyProducts]).toEqual([1, 1, 1]);
    expect(t.dz).toEqual([]);
  });

  it('cross-entropy with gradients: dz feeds dXc and dW after one statistics pass', () => {
    const { fn, plan, tilings } = tiling(ce, ['X', 'W']);
    // The pre-pass (the count of kept rows) has no projection: no entry.
    expect(tilings.map((t) => t.sweep)).toEqual([1]);
    const t = eligible(tilings[0]);
    const sweep = plan.sweeps[1]!;
    const products = sweep.stages.flatMap((st) => (st.kind === 'matmul' ? [st] : []));
    expect(t.forward).toEqual([products[0]?.node]);
    expect(t.backward).toEqual(products.slice(1).map((st) => st.node));
    // dz is what the rows-only plan stores over the logits' chunk buffer.
    expect(plan.buffers.find((b) => b.node === t.dz[0])?.aliasOf).toMatch(/^chunk\./);
    // The logsumexp VJP's softmax denominator Σ e^(z − max z) is the sum half of
    // logsumexp(z)'s state: no second pass for it.
    expect(t.statistics.map((l) => l.map((s) => s.monoid))).toEqual([
      ['logsumexp', 'gather', 'sum', 'max', 'logsumexp'],
    ]);
    const denominator = t.statistics[0]![4]!;
    expect(fn.nodes[denominator.node]?.op).toBe('sum');
    expect(fn.nodes[fn.nodes[denominator.node]!.inputs[0]!]?.op).toBe('exp');
    expect(denominator.of).toBe(t.forward[0]);
    // One pass for the statistics, one for dz and the products: 4 products instead of 3.
    expect([t.passes, t.products, t.rowsOnlyProducts]).toEqual([2, 4, 3]);
  });

  it('a statistic that reads a finished one waits a pass: the entropy Σ p·log p', () => {
    const { fn, tilings } = tiling(kernelOf('examples/token_entropy.proj'));
    const t = eligible(tilings[0]);
    expect(t.statistics.length).toBeGreaterThan(1);
    // Every level-2-or-later statistic reads (through its operand) a statistic of an earlier level.
    const earlier = new Set<number>();
    t.statistics.forEach((level, k) => {
      for (const s of level) {
        if (k > 0) {
          const seen = new Set<number>();
          const stack = [...fn.nodes[s.node]!.inputs];
          let reads = false;
          while (stack.length) {
            const id = stack.pop()!;
            if (seen.has(id)) continue;
            seen.add(id);
            if (earlier.has(id)) reads = true;
            stack.push(...fn.nodes[id]!.inputs);
          }
          expect(reads, `%${s.node}`).toBe(true);
        }
      }
      for (const s of level) earlier.add(s.node);
    });
  });

  it('names why a sweep stays rows-only', () => {
    const clip = tiling(kernelOf('examples/clip.proj'));
    expect(clip.tilings[0]).toMatchObject({ eligible: false });
    expect(clip.tilings[0]).toHaveProperty('reason', expect.stringMatching(/over N\) reads/));
    const whole = tiling(
      kernelOf(
        'whole',
        'kernel k(X: f32[N, H], W: f32[V, H]) -> f32[N, V] {\n  return X @ W.T\n}\n',
      ),
    );
    expect(whole.tilings[0]).toHaveProperty(
      'reason',
      expect.stringMatching(/result .* whole rows/),
    );
    const columns = tiling(
      kernelOf(
        'cols',
        'kernel k(X: f32[N, H], W: f32[V, H]) -> f32[V] {\n  return sum(X @ W.T, N)\n}\n',
      ),
    );
    expect(columns.tilings[0]).toHaveProperty(
      'reason',
      expect.stringMatching(/sum over N\) reads the tile value .* outside a reduction over V/),
    );
  });

  it('every example: eligible sweeps cost at least the rows-only products, others say why', () => {
    let eligibleSweeps = 0;
    for (const f of readdirSync('examples').filter((x) => x.endsWith('.proj'))) {
      const kernel = kernelOf(`examples/${f}`);
      const grad = kernel.params
        .filter((p) => p.dims.length >= 2 && p.dtype !== 'i32' && p.dtype !== 'bool')
        .map((p) => p.name);
      const { fn, plan, tilings } = tiling(kernel, grad);
      for (const t of tilings) {
        if (!t.eligible) {
          expect(t.reason, f).not.toBe('');
          continue;
        }
        eligibleSweeps++;
        expect(t.products, f).toBeGreaterThanOrEqual(t.rowsOnlyProducts);
        expect(t.passes, f).toBe(t.statistics.length + (t.backward.length ? 1 : 0));
        expect(
          t.statistics.every((l) => l.length > 0),
          f,
        ).toBe(true);
        expect(t.dz.length > 0, f).toBe(t.backward.length > 0);
        // Each statistic is a row reduction over the tiled dim of the plan's statistics (with
        // the same monoid), or a gather along it.
        for (const s of t.statistics.flat()) {
          const n = fn.nodes[s.node]!;
          if (n.op === 'gather') {
            expect(n.attrs.dim, f).toBe(t.dim);
            continue;
          }
          const stat = plan.statistics.find((x) => x.node === s.node);
          expect(stat, `${f} %${s.node}`).toMatchObject({ scope: 'row', over: [t.dim] });
          expect(s.monoid, f).toBe(s.of === undefined ? stat?.monoid : 'logsumexp');
        }
      }
    }
    expect(eligibleSweeps).toBeGreaterThan(10);
  });
});
