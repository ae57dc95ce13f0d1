// The plan's schedule as a tree of loops whose steps name what they read and write: every
// example and call shape gives a sound order, and the checker sees a broken one.
import { describe, expect, it } from 'vitest';
import { planKernel } from '../../src/plan/build-plan.ts';
import { planProblems } from '../../src/plan/validate.ts';
import type { ChunkPlan, ScheduleNode } from '../../src/plan/types.ts';
import { exampleFiles, exampleKernels, floatTensorParams } from '../runtime/gpu-helpers.ts';

describe('the schedule tree', () => {
  it.each(exampleFiles())('%s: every read comes after its write', (file) => {
    for (const fn of exampleKernels(file))
      for (const grad of [[], floatTensorParams(fn)]) {
        const { plan } = planKernel({ kernel: fn, grad });
        expect(planProblems(plan), `${fn.name} grad [${grad}]`).toEqual([]);
      }
  });

  it("cross_entropy: the loop's steps, their buffers, and its statistics with their monoids", () => {
    const [fn] = exampleKernels('cross_entropy.proj');
    const { plan } = planKernel({ kernel: fn!, grad: ['X', 'W'] });
    const loop = plan.schedule.find(
      (n): n is Extract<ScheduleNode, { kind: 'loop' }> => n.kind === 'loop' && n.sweep === 1,
    );
    expect(loop?.tile).toEqual({ dims: [], chunkRows: true });
    expect(
      loop?.body.map((s) => (s.kind === 'tiles' ? [s.kind] : [s.kind, s.reads, s.writes])),
    ).toEqual([
      ['matmul', ['in.X', 'in.W'], ['chunk.%5']],
      ['row', ['chunk.%5', 'arena.target', 'acc.%23'], ['arena.%20', 'chunk.%48']],
      ['matmul', ['chunk.%48', 'in.W'], ['result.grad.X']],
      ['matmul', ['chunk.%48', 'in.X', 'acc.%50'], ['acc.%50']],
      ['carry', ['arena.%20', 'acc.%21'], ['acc.%21']],
    ]);
    expect(plan.statistics.map((s) => [s.name, s.monoid, s.over, s.scope])).toEqual([
      ['lse', 'logsumexp', ['V'], 'row'],
      ['%9', 'sum', ['V'], 'row'],
      ['%21', 'sum', ['N'], 'carried'],
      ['%23', 'sum', ['N'], 'carried'],
      // The backward's softmax: max-shifted by a detached max, over Σ e^(z − max).
      ['%41', 'max', ['V'], 'row'],
      ['%45', 'sum', ['V'], 'row'],
    ]);
  });

  it('the checker finds a step moved before what it reads', () => {
    const [fn] = exampleKernels('cross_entropy.proj');
    const { plan } = planKernel({ kernel: fn!, grad: ['X', 'W'] });
    const broken: ChunkPlan = {
      ...plan,
      schedule: plan.schedule.map((n) =>
        n.kind === 'loop' && n.sweep === 1 ? { ...n, body: [...n.body].reverse() } : n,
      ),
    };
    expect(planProblems(broken)).toContain(
      'sweep 1 step 0 (carry) reads arena.%20 before it is written',
    );
  });
});
