import { describe, expect, it } from 'vitest';
import { interpret } from '../../src/interp/interpret.ts';
import type { DimSizes, Tensor } from '../../src/tensor/tensor.ts';
import { roundToBf16 } from '../../src/io/dtype-bits.ts';
import type { DType, Dim } from '../../src/ir/types.ts';
import { TestGraph, tensor } from '../autodiff/check-grads.ts';

type Build = (t: TestGraph) => number;

/** Evaluates `build` on the given parameter values; returns the result tensor. */
function run(
  sizes: DimSizes,
  params: readonly (readonly [string, DType, readonly Dim[], readonly number[]])[],
  build: Build,
): Tensor {
  const t = new TestGraph();
  for (const [name, dtype, dims] of params) t.param(name, dtype, dims);
  const fn = t.fn({ out: build(t) });
  const inputs = new Map(
    params.map(([name, dtype, dims, data]) => [name, tensor(dtype, dims, sizes, data)]),
  );
  const out = interpret(fn, inputs, sizes).get('out');
  if (!out) throw new Error('no result');
  return out;
}

/** The param node of `name` (params are interned, so asking again returns the same node). */
const v = (t: TestGraph, name: string, dtype: DType, dims: readonly Dim[]) =>
  t.b.param(name, dtype, dims);

const S = (entries: Record<string, number>): DimSizes => new Map(Object.entries(entries));

describe('forward evaluation', () => {
  it('logsumexp is max-shifted: 1e4-magnitude logits neither overflow nor lose the result', () => {
    const out = run(S({ V: 3 }), [['z', 'f32', ['V'], [1e4, 1e4, 1e4 - 1]]], (t) =>
      t.b.op('logsumexp', [v(t, 'z', 'f32', ['V'])], { axes: ['V'] }),
    );
    expect(out.data[0]).toBeCloseTo(1e4 + Math.log(2 + Math.exp(-1)), 9);
    const neg = run(S({ V: 2 }), [['z', 'f32', ['V'], [-1e4, -1e4]]], (t) =>
      t.b.op('logsumexp', [v(t, 'z', 'f32', ['V'])], { axes: ['V'] }),
    );
    expect(neg.data[0]).toBeCloseTo(-1e4 + Math.log(2), 9);
  });

  it('logsumexp of an all −inf row is −inf; one +inf gives +inf', () => {
    const out = run(
      S({ N: 2, V: 2 }),
      [['z', 'f32', ['N', 'V'], [-Infinity, -Infinity, 0, Infinity]]],
      (t) => t.b.op('logsumexp', [v(t, 'z', 'f32', ['N', 'V'])], { axes: ['V'] }),
    );
    expect([...out.data]).toEqual([-Infinity, Infinity]);
  });

  it('NaN propagates through max, min and maximum', () => {
    const x = [1, NaN, 3];
    for (const op of ['max', 'min'] as const) {
      const out = run(S({ V: 3 }), [['x', 'f32', ['V'], x]], (t) =>
        t.b.op(op, [v(t, 'x', 'f32', ['V'])], { axes: ['V'] }),
      );
      expect(out.data[0]).toBeNaN();
    }
    const m = run(S({ V: 3 }), [['x', 'f32', ['V'], x]], (t) =>
      t.b.op('maximum', [v(t, 'x', 'f32', ['V']), t.b.constant(2)]),
    );
    expect([...m.data]).toEqual([2, NaN, 3]);
  });

  it('i32 addition wraps to 32 bits', () => {
    const out = run(S({ N: 2 }), [['a', 'i32', ['N'], [2147483647, -2147483648]]], (t) =>
      t.b.op('add', [v(t, 'a', 'i32', ['N']), t.b.op('neg', [t.b.constant(1, 'i32')])]),
    );
    expect([...out.data]).toEqual([2147483646, 2147483647]);
    const up = run(S({ N: 1 }), [['a', 'i32', ['N'], [2147483647]]], (t) =>
      t.b.op('add', [v(t, 'a', 'i32', ['N']), t.b.constant(1, 'i32')]),
    );
    expect([...up.data]).toEqual([-2147483648]);
  });

  it('i32 multiplication and sums wrap exactly, like the GPU', () => {
    const a = [2147483647, 123456789];
    const b = [2147483647, 987654321];
    const prod = run(
      S({ N: 2 }),
      [
        ['a', 'i32', ['N'], a],
        ['b', 'i32', ['N'], b],
      ],
      (t) => t.b.op('mul', [v(t, 'a', 'i32', ['N']), v(t, 'b', 'i32', ['N'])]),
    );
    // (a * b) | 0 in float64 gives 0 and -67153024: the low bits were lost above 2^53.
    expect([...prod.data]).toEqual([Math.imul(a[0] ?? 0, b[0] ?? 0), -67153019]);
    const sum = run(S({ N: 2 }), [['a', 'i32', ['N'], [2147483647, 2147483647]]], (t) =>
      t.b.op('sum', [v(t, 'a', 'i32', ['N'])], { axes: ['N'] }),
    );
    expect([...sum.data]).toEqual([-2]);
  });

  it('cast to bf16 rounds to nearest, ties to even', () => {
    // bf16 keeps 7 fraction bits: the ulp at 1 is 2^-7.
    const x = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -7 + 2 ** -9, -(1 + 2 ** -8)];
    const out = run(S({ N: 4 }), [['x', 'f32', ['N'], x]], (t) =>
      t.b.op('cast', [v(t, 'x', 'f32', ['N'])], { to: 'bf16' }),
    );
    expect(out.dtype).toBe('bf16');
    expect([...out.data]).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7, -1]);
  });

  it('casts to i32 truncate toward zero; to bool test != 0', () => {
    const x = [2.7, -2.7, 0, 0.5];
    const asInt = run(S({ N: 4 }), [['x', 'f32', ['N'], x]], (t) =>
      t.b.op('cast', [v(t, 'x', 'f32', ['N'])], { to: 'i32' }),
    );
    expect([...asInt.data]).toEqual([2, -2, 0, 0]);
    const asBool = run(S({ N: 4 }), [['x', 'f32', ['N'], x]], (t) =>
      t.b.op('cast', [v(t, 'x', 'f32', ['N'])], { to: 'bool' }),
    );
    expect([...asBool.data]).toEqual([1, 1, 0, 1]);
  });

  it('broadcasts by dim name: the left operand’s dims, then the right’s new ones', () => {
    const sizes = S({ N: 2, V: 3 });
    const a: [string, DType, Dim[], number[]] = ['a', 'f32', ['V', 'N'], [0, 1, 10, 11, 20, 21]];
    const b: [string, DType, Dim[], number[]] = ['b', 'f32', ['N'], [100, 200]];
    const vn = run(sizes, [a, b], (t) =>
      t.b.op('add', [v(t, 'a', 'f32', ['V', 'N']), v(t, 'b', 'f32', ['N'])]),
    );
    expect(vn.dims).toEqual(['V', 'N']);
    expect([...vn.data]).toEqual([100, 201, 110, 211, 120, 221]);
    const nv = run(sizes, [a, b], (t) =>
      t.b.op('add', [v(t, 'b', 'f32', ['N']), v(t, 'a', 'f32', ['V', 'N'])]),
    );
    expect(nv.dims).toEqual(['N', 'V']);
    expect([...nv.data]).toEqual([100, 110, 120, 201, 211, 221]);
  });
});

describe('interpret', () => {
  it('rounds parameters to their storage dtype on load and uses scalar defaults', () => {
    const sizes = S({ N: 1 });
    const t = new TestGraph();
    const xb = t.param('xb', 'bf16', ['N']);
    const xh = t.param('xh', 'f16', ['N']);
    const xf = t.param('xf', 'f32', ['N']);
    const xi = t.param('xi', 'i32', ['N']);
    const s = t.param('s', 'f32', [], 0.1);
    const f32 = (id: number) => t.b.op('cast', [id], { to: 'f32' });
    const fn = t.fn({ b: f32(xb), h: f32(xh), f: xf, i: xi, s });
    const ins = new Map<string, Tensor>(
      ['xb', 'xh', 'xf'].map((n) => [n, tensor('f32', ['N'], sizes, [0.1])]),
    ).set('xi', tensor('f32', ['N'], sizes, [-7.9]));
    const out = interpret(fn, ins, sizes);
    const one = (name: string) => out.get(name)?.data[0];
    expect(one('b')).toBe(roundToBf16(0.1));
    expect(one('h')).toBe(0.0999755859375);
    expect(one('f')).toBe(Math.fround(0.1));
    expect(one('i')).toBe(-7);
    expect(one('s')).toBe(Math.fround(0.1));
    expect(out.get('i')?.dtype).toBe('i32');
  });

  it('reorders an input given with the declared dims in another order', () => {
    const sizes = S({ N: 2, V: 3 });
    const t = new TestGraph();
    const fn = t.fn({ out: t.param('x', 'f32', ['N', 'V']) });
    const x = tensor('f32', ['V', 'N'], sizes, [0, 1, 10, 11, 20, 21]);
    const out = interpret(fn, new Map([['x', x]]), sizes).get('out');
    expect([...(out?.data ?? [])]).toEqual([0, 10, 20, 1, 11, 21]);
  });

  it('reports a missing input and a wrongly shaped one', () => {
    const sizes = S({ N: 2 });
    const t = new TestGraph();
    const fn = t.fn({ out: t.param('x', 'f32', ['N']) });
    expect(() => interpret(fn, new Map(), sizes)).toThrow('missing input `x`');
    const bad = tensor('f32', ['N'], S({ N: 3 }), [1, 2, 3]);
    expect(() => interpret(fn, new Map([['x', bad]]), sizes)).toThrow(
      'input `x` has dims [N] of shape [3], but [N] of shape [2] is expected',
    );
  });
});

describe('shift and cumsum', () => {
  const x = [1, 2, 3, 4, 5, 6];
  const sizes = S({ B: 2, T: 3 });
  it('shift(x, k, fill, T)[t] = x[t + k], fill outside, per line of T', () => {
    const at = (k: number) =>
      run(sizes, [['x', 'i32', ['B', 'T'], x]], (t) =>
        t.b.op('shift', [v(t, 'x', 'i32', ['B', 'T']), t.b.constant(-100, 'i32')], {
          dim: 'T',
          offset: k,
        }),
      );
    expect([...at(1).data]).toEqual([2, 3, -100, 5, 6, -100]);
    expect([...at(-2).data]).toEqual([-100, -100, 1, -100, -100, 4]);
    expect([...at(5).data]).toEqual([-100, -100, -100, -100, -100, -100]);
  });

  it('shift along a leading dim', () => {
    const out = run(sizes, [['x', 'f32', ['B', 'T'], x]], (t) =>
      t.b.op('shift', [v(t, 'x', 'f32', ['B', 'T']), t.b.constant(0)], { dim: 'B', offset: 1 }),
    );
    expect([...out.data]).toEqual([4, 5, 6, 0, 0, 0]);
  });

  it('cumsum along T: prefix sums, and suffix sums with reverse', () => {
    const cs = (reverse: boolean) =>
      run(sizes, [['x', 'f32', ['B', 'T'], x]], (t) =>
        t.b.op('cumsum', [v(t, 'x', 'f32', ['B', 'T'])], { dim: 'T', reverse }),
      );
    expect([...cs(false).data]).toEqual([1, 3, 6, 4, 9, 15]);
    expect([...cs(true).data]).toEqual([6, 5, 3, 15, 11, 6]);
  });

  it('cos and sin in radians', () => {
    const out = run(S({ V: 2 }), [['x', 'f32', ['V'], [0, Math.PI / 2]]], (t) =>
      t.b.op('add', [
        t.b.op('cos', [v(t, 'x', 'f32', ['V'])]),
        t.b.op('sin', [v(t, 'x', 'f32', ['V'])]),
      ]),
    );
    expect(out.data[0]).toBeCloseTo(1, 12);
    expect(out.data[1]).toBeCloseTo(1, 6); // π/2 rounded to f32 as stored
  });
});
