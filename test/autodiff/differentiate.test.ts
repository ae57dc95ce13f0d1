import { describe, expect, it } from 'vitest';
import { differentiate, type Cotangent } from '../../src/autodiff/differentiate.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { interpret } from '../../src/interp/interpret.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { compact } from '../../src/ir/compact.ts';
import { verify } from '../../src/graph/verify.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { TestGraph, checkGrads, mismatches, randomTensor, rng, tensor } from './check-grads.ts';

const SIZES = new Map([
  ['N', 3],
  ['V', 5],
  ['H', 4],
]);

/**
 * A cross-entropy-like kernel with three results: `loss` (scalar), `lse` ([N]) and
 * `zz` (scalar), plus an i32 target and a parameter `unused` it never reads.
 */
function crossEntropy(): { fn: IrFunction; inputs: Map<string, Tensor> } {
  const t = new TestGraph();
  const b = t.b;
  const X = t.param('X', 'f32', ['N', 'H']);
  const W = t.param('W', 'bf16', ['V', 'H']);
  const target = t.param('target', 'i32', ['N']);
  t.unused('unused', 'f32', ['H']);
  const z = b.op('dot', [X, b.op('transpose', [W], { dims: ['H', 'V'] })], { dims: ['N', 'V'] });
  const lse = b.op('logsumexp', [z], { axes: ['V'] });
  const nll = b.op('sub', [lse, b.op('gather', [z, target], { dim: 'V' })]);
  const loss = b.op('div', [
    b.op('sum', [nll], { axes: ['N'] }),
    b.op('size', [], { axes: ['N'] }),
  ]);
  const zz = b.op('sum', [b.op('mul', [z, z])], { axes: ['N', 'V'] });
  const labels = new Map([
    [z, 'z'],
    [lse, 'lse'],
    [nll, 'nll'],
  ]);
  const fn = t.fn({ loss, lse, zz }, labels);
  const rand = rng(42);
  const inputs = new Map([
    ['X', randomTensor('f32', ['N', 'H'], SIZES, (r) => 2 * r() - 1, rand)],
    ['W', randomTensor('bf16', ['V', 'H'], SIZES, (r) => 2 * r() - 1, rand)],
    ['target', tensor('i32', ['N'], SIZES, [0, 4, 2])],
    ['unused', randomTensor('f32', ['H'], SIZES, (r) => r(), rand)],
  ]);
  return { fn, inputs };
}

const cot = (entries: Record<string, Cotangent>) => new Map(Object.entries(entries));

describe('differentiate', () => {
  it('matches finite differences of Σ cotangent·result with const, tensor and zero cotangents', () => {
    const { fn, inputs } = crossEntropy();
    for (const cotangents of [
      cot({ loss: { kind: 'const', value: 0.7 }, lse: { kind: 'tensor' }, zz: { kind: 'zero' } }),
      cot({ lse: { kind: 'tensor' } }),
      cot({ zz: { kind: 'const', value: -2 }, lse: { kind: 'const', value: 0.5 } }),
    ]) {
      const check = checkGrads(fn, inputs, SIZES, ['X', 'W'], cotangents);
      expect(mismatches(check)).toEqual([]);
      expect([...(check.analytic.get('X') ?? [])].some((g) => g !== 0)).toBe(true);
    }
  });

  it('gives a lone scalar result cotangent 1 by default', () => {
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    const out = t.b.op('sum', [t.b.op('mul', [t.b.op('exp', [x]), x])], { axes: ['N'] });
    const inputs = new Map([['x', tensor('f32', ['N'], SIZES, [0.5, -1, 2])]]);
    const check = checkGrads(t.fn({ out }), inputs, SIZES, ['x'], new Map());
    expect(mismatches(check)).toEqual([]);
    // d/dx x e^x = (1 + x) e^x
    const want = [0.5, -1, 2].map((v) => (1 + v) * Math.exp(v));
    [...(check.analytic.get('x') ?? [])].forEach((g, i) => expect(g).toBeCloseTo(want[i] ?? 0, 12));
  });

  it('gives zero gradients when no result has a cotangent', () => {
    const { fn, inputs } = crossEntropy();
    const joint = differentiate(fn, { wrt: ['X'], cotangents: new Map() });
    const g = interpret(joint, inputs, SIZES).get('grad.X');
    expect(g?.dims).toEqual(['N', 'H']);
    expect([...(g?.data ?? [])]).toEqual(new Array(12).fill(0));
  });

  it('gives a zero gradient, with the parameter’s dims, to a parameter nothing flows to', () => {
    const { fn, inputs } = crossEntropy();
    const joint = differentiate(fn, { wrt: ['unused'], cotangents: new Map() });
    verify(joint);
    const grad = joint.results.find((r) => r.name === 'grad.unused');
    const node = joint.nodes[grad?.node ?? -1];
    expect(node?.op).toBe('broadcast');
    expect(node?.dims).toEqual(['H']);
    expect(node?.dtype).toBe('f32');
    const g = interpret(joint, inputs, SIZES).get('grad.unused');
    expect([...(g?.data ?? [])]).toEqual([0, 0, 0, 0]);
  });

  it('returns the joint function: cotangent params, results then grads in wrt order', () => {
    const { fn } = crossEntropy();
    const joint = differentiate(fn, {
      wrt: ['W', 'X'],
      cotangents: cot({ lse: { kind: 'tensor' } }),
    });
    verify(joint);
    expect(joint.params.map((p) => p.name)).toEqual([
      'X',
      'W',
      'target',
      'unused',
      'cotangent.lse',
    ]);
    expect(joint.params.at(-1)).toMatchObject({ dtype: 'f32', dims: ['N'] });
    expect(joint.results.map((r) => r.name)).toEqual(['loss', 'lse', 'zz', 'grad.W', 'grad.X']);
    for (const [name, dims] of [
      ['grad.W', ['V', 'H']],
      ['grad.X', ['N', 'H']],
    ] as const) {
      const n = joint.nodes[joint.results.find((r) => r.name === name)?.node ?? -1];
      expect(n).toMatchObject({ dtype: 'f32', dims });
    }
  });

  it('shares forward values with the backward program and keeps their labels', () => {
    const { fn } = crossEntropy();
    const joint = differentiate(fn, {
      wrt: ['X', 'W'],
      cotangents: cot({ loss: { kind: 'const', value: 1 } }),
    });
    // Every live forward node survives unchanged, in order, at the front of the joint graph
    // (the builder's dot saw through the transpose, which is dead).
    const live = compact(fn);
    expect(live.nodes.length).toBe(fn.nodes.length - 1);
    expect(joint.nodes.slice(0, live.nodes.length)).toEqual(live.nodes);
    expect([...(joint.labels ?? [])]).toEqual([...(live.labels ?? [])]);
    expect(joint.labels?.size).toBe(3);
    // d loss/dz needs exp(z - lse): one new exp node; the forward dot is not recomputed.
    const count = (op: string) => joint.nodes.filter((n) => n.op === op).length;
    expect(count('dot')).toBe(1 + 2);
    expect(count('logsumexp')).toBe(1);
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    const e = t.b.op('exp', [x]);
    const j2 = differentiate(t.fn({ out: t.b.op('sum', [e], { axes: ['N'] }) }), {
      wrt: ['x'],
      cotangents: new Map(),
    });
    // d/dx Σ e^x = 1 · e^x: the gradient reads the forward exp node.
    expect(j2.nodes.filter((n) => n.op === 'exp')).toHaveLength(1);
    const grad = j2.nodes[j2.results[1]?.node ?? -1];
    expect(grad?.op).toBe('mul');
    expect(grad?.inputs).toContain(e);
  });

  it('accumulates the contributions of a value used several times, across broadcasts', () => {
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    const y = t.param('y', 'f32', ['V', 'N']);
    const out = t.b.op('add', [x, t.b.op('mul', [t.b.op('tanh', [x]), t.b.op('exp', [y])])]);
    const rand = rng(3);
    const inputs = new Map([
      ['x', randomTensor('f32', ['N'], SIZES, (r) => 2 * r() - 1, rand)],
      ['y', randomTensor('f32', ['V', 'N'], SIZES, (r) => 2 * r() - 1, rand)],
    ]);
    const check = checkGrads(
      t.fn({ out }),
      inputs,
      SIZES,
      ['x', 'y'],
      cot({ out: { kind: 'tensor' } }),
    );
    expect(mismatches(check)).toEqual([]);
  });

  it('ignores cotangents of integer results', () => {
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    const n = t.b.op('sum', [t.b.op('cast', [x], { to: 'i32' })], { axes: ['N'] });
    const joint = differentiate(t.fn({ n, s: t.b.op('sum', [x], { axes: ['N'] }) }), {
      wrt: ['x'],
      cotangents: cot({ n: { kind: 'const', value: 1 }, s: { kind: 'const', value: 2 } }),
    });
    const g = interpret(joint, new Map([['x', tensor('f32', ['N'], SIZES, [1, 2, 3])]]), SIZES);
    expect([...(g.get('grad.x')?.data ?? [])]).toEqual([2, 2, 2]);
  });

  it('rejects gradients of integer, bool and unknown parameters with P0301', () => {
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    t.param('mask', 'bool', ['N']);
    t.param('target', 'i32', ['N']);
    const fn = t.fn({ out: t.b.op('sum', [x], { axes: ['N'] }) });
    for (const [name, message] of [
      ['target', 'parameter `target` is i32 and cannot have a gradient'],
      ['mask', 'parameter `mask` is bool and cannot have a gradient'],
      ['y', 'cannot differentiate with respect to `y`: `k` has no parameter of that name'],
    ] as const) {
      const err = catchUserError(() =>
        differentiate(fn, { wrt: ['x', name], cotangents: new Map() }),
      );
      expect(err.diagnostics[0]).toMatchObject({ code: 'P0301', message });
    }
    const err = catchUserError(() =>
      differentiate(fn, { wrt: ['x'], cotangents: cot({ lse: { kind: 'zero' } }) }),
    );
    expect(err.diagnostics[0]).toMatchObject({
      code: 'P0405',
      message: 'a cotangent is given for `lse`, but `k` has no result of that name',
    });
  });
});

function catchUserError(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}
