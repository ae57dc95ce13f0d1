import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { bindDims } from '../../src/interp/bind.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { TestGraph } from '../autodiff/check-grads.ts';

/** cross_entropy's signature: X bf16[N, H], W bf16[V, H], target i32[N], ignore_index i32. */
function kernel(): IrFunction {
  const t = new TestGraph();
  const X = t.param('X', 'bf16', ['N', 'H']);
  const W = t.param('W', 'bf16', ['V', 'H']);
  t.param('target', 'i32', ['N']);
  t.param('ignore_index', 'i32', [], -100);
  const z = t.b.op('dot', [X, W], { dims: ['N', 'V'] });
  return t.fn({ out: t.b.op('sum', [z], { axes: ['N', 'V'] }) });
}

const shapes = (entries: Record<string, number[]>) => new Map(Object.entries(entries));
const GOOD = { X: [141, 64], W: [1000, 64], target: [141] };

function diagnostic(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError && e.diagnostics[0]) return e.diagnostics[0];
    throw e;
  }
  throw new Error('expected a UserError');
}

describe('bindDims', () => {
  it('binds every dim from the input shapes', () => {
    expect(bindDims(kernel(), shapes(GOOD))).toEqual(
      new Map([
        ['N', 141],
        ['H', 64],
        ['V', 1000],
      ]),
    );
  });

  it('accepts a scalar parameter given as a 0-dim tensor, or not at all', () => {
    const sizes = bindDims(kernel(), shapes({ ...GOOD, ignore_index: [] }));
    expect(sizes.get('N')).toBe(141);
  });

  it('P0403: two uses of a dim disagree', () => {
    expect(diagnostic(() => bindDims(kernel(), shapes({ ...GOOD, target: [140] })))).toMatchObject({
      code: 'P0403',
      message: 'dim `N` is 141 in `X` (dim 0) but 140 in `target` (dim 0)',
    });
    expect(diagnostic(() => bindDims(kernel(), shapes({ ...GOOD, W: [1000, 63] })))).toMatchObject({
      code: 'P0403',
      message: 'dim `H` is 64 in `X` (dim 1) but 63 in `W` (dim 1)',
    });
  });

  it('P0403: an explicit size disagrees with an input', () => {
    const explicit = new Map([['V', 999]]);
    expect(diagnostic(() => bindDims(kernel(), shapes(GOOD), explicit))).toMatchObject({
      code: 'P0403',
      message: 'dim `V` is 999 given explicitly but 1000 in `W` (dim 0)',
    });
  });

  it('P0408: an input of the wrong rank', () => {
    expect(
      diagnostic(() => bindDims(kernel(), shapes({ ...GOOD, X: [141, 64, 1] }))),
    ).toMatchObject({
      code: 'P0408',
      message: 'input `X` has 3 dims [141, 64, 1], but `X` is declared bf16[N, H]',
    });
    expect(
      diagnostic(() => bindDims(kernel(), shapes({ ...GOOD, ignore_index: [2] }))),
    ).toMatchObject({
      code: 'P0408',
      message: 'input `ignore_index` has 1 dim [2], but `ignore_index` is declared i32',
    });
  });

  it('P0401: a tensor parameter without an input', () => {
    const { target: _t, ...rest } = GOOD;
    expect(diagnostic(() => bindDims(kernel(), shapes(rest)))).toMatchObject({
      code: 'P0401',
      message: 'missing input `target`: a tensor i32[N] is expected',
    });
  });

  it('P0403: a dim no input binds; explicit sizes fill it', () => {
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    // index(V) uses a dim no parameter declares.
    const v = t.b.op('cast', [t.b.op('index', [], { dim: 'V' })], { to: 'f32' });
    const fn = t.fn({ out: t.b.op('add', [x, v]) });
    expect(diagnostic(() => bindDims(fn, shapes({ x: [3] })))).toMatchObject({
      code: 'P0403',
      message: 'the size of dim `V` is unknown: no input has it',
    });
    expect(bindDims(fn, shapes({ x: [3] }), new Map([['V', 7]]))).toEqual(
      new Map([
        ['N', 3],
        ['V', 7],
      ]),
    );
  });

  it('P0405: an explicit size for a dim the kernel lacks, or not a size', () => {
    expect(diagnostic(() => bindDims(kernel(), shapes(GOOD), new Map([['Q', 3]])))).toMatchObject({
      code: 'P0405',
      message: '`k` has no dim `Q`',
    });
    expect(diagnostic(() => bindDims(kernel(), shapes(GOOD), new Map([['N', 2.5]])))).toMatchObject(
      {
        code: 'P0405',
        message: 'the size of dim `N` must be a non-negative integer, got 2.5',
      },
    );
  });
});
