// Bugs found by reading the docs against the code; each test fails without its fix.
import { describe, expect, it } from 'vitest';
import { compileFile } from '../../src/frontend/compile.ts';
import { printFunction } from '../../src/ir/print.ts';

const compile = (text: string) => compileFile({ path: 'r.proj', text });

describe('front-end regressions', () => {
  it('rejects an i32 default of 2^31, which does not fit', () => {
    const r = compile('kernel k(x: f32[N], i: i32 = 2147483648) -> i32 {\n  return i\n}\n');
    expect(r.diagnostics.map((d) => d.code)).toEqual(['P0209']);
    const ok = compile('kernel k(x: f32[N], i: i32 = -2147483648) -> i32 {\n  return i\n}\n');
    expect(ok.diagnostics).toEqual([]);
  });

  it("keeps the prelude's own fns when a user redefines one of them", () => {
    const r = compile(
      'fn softmax(z, d: dim) = z * 0\nkernel k(x: f32[N, V]) -> f32[N] {\n  return entropy(x, V)\n}\n',
    );
    const ir = printFunction(r.kernels.get('k')!);
    expect(ir).toMatch(/logsumexp/);
    expect(ir).not.toMatch(/const 0 :/);
  });

  it('names `mean` when it is given a bool', () => {
    const r = compile('kernel k(c: bool[N]) -> f32 {\n  return mean(c, N)\n}\n');
    expect(r.diagnostics[0]?.message).toBe('`mean` cannot take a bool operand');
  });
});
