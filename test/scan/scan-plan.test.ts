// shift and cumsum along a row dim: what the planner takes (operands computed elementwise
// from parameters, recomputed at other rows, so chunk boundaries do not matter) and the
// precise P0302 for the rest, naming the workaround.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { renderForTerminal } from '../../src/diagnostics/render.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { apiInputs, expectRunClose, oracle, testInputs } from '../runtime/gpu-helpers.ts';

function kernel(text: string): IrFunction {
  const c = compileFile({ path: 'scan.proj', text });
  const errors = c.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map(renderForTerminal).join('\n'));
  const k = [...c.kernels.values()][0];
  if (!k) throw new Error('no kernel');
  return k;
}

function planError(k: IrFunction, grad: string[]): string {
  try {
    planKernel({ kernel: k, grad });
  } catch (e) {
    if (e instanceof UserError) return e.diagnostics.map(renderForTerminal).join('\n');
    throw e;
  }
  return '';
}

const HEAD = 'kernel k(X: f32[B, T, H], W: f32[V, H], t: i32[B, T], r: f32[B, T]) -> f32 {\n';

describe('P0302 for scans the chunks cannot compute', () => {
  it('a shift of a projection-dependent value, with the workaround', () => {
    const k = kernel(
      `${HEAD}  lse = logsumexp(X @ W.T, V)\n  return sum(shift(lse, 1, 0, T))\n}\n`,
    );
    const text = planError(k, []);
    expect(text).toContain('error[P0302]');
    expect(text).toContain(
      'is a `shift` along `T` that reads a value computed by `logsumexp` (a reduction)',
    );
    expect(text).toContain('shift or sum the inputs (the targets, the rewards)');
    expect(text).toContain('--> scan.proj:3:14');
  });

  it('the gradient of a cumsum of a differentiated parameter, pointing at the cumsum', () => {
    const src = `${HEAD}  z = X @ W.T\n  g = cumsum(r, T)\n  return sum(g * logsumexp(z, V))\n}\n`;
    const k = kernel(src);
    expect(planError(k, ['X'])).toBe(''); // r not differentiated: fine
    const text = planError(k, ['X', 'r']);
    expect(text).toContain(
      'is the gradient of a `cumsum` along `T` that reads a value computed by `logsumexp` (a reduction)',
    );
    expect(text).toContain('--> scan.proj:3:7');
    expect(text).toContain('`detach` its operand or leave that parameter out of the gradients');
  });
});

describe('P0231', () => {
  it('the offset of shift must be an integer literal; the fill a scalar', () => {
    const bad = (expr: string) =>
      compileFile({
        path: 's.proj',
        text: `${HEAD}  return sum(f32(${expr}))\n}\n`,
      }).diagnostics.map((d) => `${d.code}: ${d.message}`);
    expect(bad('shift(t, 0.5, 0, T)')).toEqual([
      'P0231: the offset of `shift` must be an integer literal',
    ]);
    expect(bad('shift(t, size(T), 0, T)')).toEqual([
      'P0231: the offset of `shift` must be an integer literal',
    ]);
    expect(bad('shift(r, 1, r, T)')).toEqual([
      'P0231: the fill of `shift` must be a scalar, found [B, T]',
    ]);
    expect(bad('shift(t, -1, -100, T) + cumsum(t, T) + revcumsum(t, T)')).toEqual([]);
  });
});

describe('scans on WebGPU match the interpreter across chunk boundaries', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt?.release());

  it('shift by ±k, cumsum and revcumsum of targets and rewards along T and B', async () => {
    const k =
      kernel(`kernel k(X: f32[B, T, H], W: f32[V, H], t: i32[B, T], r: f32[B, T], ii: i32 = -100) -> (loss: f32, per: f32[B, T]) {
  z = X @ W.T
  nxt = shift(t, 2, ii, T)
  prv = shift(t, -1, ii, B)
  w = cumsum(detach(r), T) - revcumsum(detach(r) * f32(prv != ii), B) + f32(cumsum(t, T))
  nll = logsumexp(z, V) - gather(z, nxt, V)
  per = where(nxt != ii, nll * w, 0)
  loss = sum(per, B, T)
}
`);
    const sizes = new Map([
      ['B', 3],
      ['T', 7],
      ['H', 5],
      ['V', 9],
    ]);
    const inputs = testInputs(k, sizes, 7);
    const cot = {
      api: { loss: 1 },
      cot: new Map([['loss', { kind: 'const' as const, value: 1 }]]),
      tensors: new Map(),
    };
    const ref = oracle(k, inputs, sizes, ['X', 'W'], cot);
    for (const chunkRows of [1, 4, 5, 21]) {
      const got = await rt.run(k, apiInputs(inputs), {
        grad: ['X', 'W'],
        cotangents: cot.api,
        chunkRows,
      });
      expectRunClose(got, ref, `chunks of ${chunkRows}`, { label: 'f32' });
    }
  });
});
