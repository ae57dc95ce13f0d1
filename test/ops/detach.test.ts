// detach(x): the value of x with no gradient through it (PyTorch's stop-gradient), e.g.
// TRL's on-policy ratio exp(logp − logp.detach()), which is 1 with gradient d logp.
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../src/autodiff/differentiate.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { interpret } from '../../src/interp/interpret.ts';
import { tensor } from '../autodiff/check-grads.ts';

describe('detach', () => {
  const c = compileFile({
    path: 'd.proj',
    text: 'kernel k(x: f32[N]) -> f32 {\n  return sum(exp(x - detach(x)) * x, N)\n}\n',
  });
  const fn = c.kernels.get('k')!;
  const sizes = new Map([['N', 3]]);
  const inputs = new Map([['x', tensor('f32', ['N'], sizes, [0.5, -1, 2])]]);

  it('passes the value through', () => {
    expect(interpret(fn, inputs, sizes).get('out')?.data[0]).toBeCloseTo(1.5, 12);
  });

  it('stops the gradient: d/dx [exp(x − detach(x)) · x] = x + 1, not 1', () => {
    const joint = differentiate(fn, { wrt: ['x'], cotangents: new Map() });
    const g = interpret(joint, inputs, sizes).get('grad.x');
    expect([...(g?.data ?? [])]).toEqual([1.5, 0, 3]);
  });
});
