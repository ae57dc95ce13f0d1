// gather with an index that has more dims than x minus the gathered dim: `w[target]` for
// w: [V] and target: [N] gives [N] (PyTorch's advanced indexing), with the gradient
// scattered back and summed over the extra dims.
import { describe, expect, it } from 'vitest';
import { interpret } from '../../src/interp/interpret.ts';
import {
  checkGrads,
  mismatches,
  randomTensor,
  rng,
  tensor,
  TestGraph,
} from '../autodiff/check-grads.ts';

describe('gather with broadcasting index dims', () => {
  const sizes = new Map([
    ['N', 5],
    ['V', 4],
  ]);
  const g = new TestGraph();
  const w = g.param('w', 'f32', ['V']);
  const t = g.param('t', 'i32', ['N']);
  const out = g.b.op('gather', [w, t], { dim: 'V' });
  const fn = g.fn({ out });
  const inputs = new Map([
    ['w', randomTensor('f32', ['V'], sizes, (u) => u() - 0.5, rng(1))],
    ['t', tensor('i32', ['N'], sizes, [0, 3, 3, -1, 9])],
  ]);

  it('has the index dims and reads w at each index, 0 out of range', () => {
    expect(g.b.node(out).dims).toEqual(['N']);
    const r = interpret(fn, inputs, sizes).get('out');
    const wv = inputs.get('w')!.data.map(Math.fround); // f32 parameters are rounded on load
    expect([...(r?.data ?? [])]).toEqual([wv[0], wv[3], wv[3], 0, 0]);
  });

  it('sums the gradient of repeated indices (finite differences)', () => {
    const c = checkGrads(fn, inputs, sizes, ['w'], new Map([['out', { kind: 'tensor' }]]));
    expect(mismatches(c)).toEqual([]);
  });
});
