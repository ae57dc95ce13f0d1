// The signature's dim constraints (`S: dim = 2`, `N: dim = M`) and optional tensor
// parameters (`b: f32[V]?`, `present(b)`): what the front end accepts and each error it
// reports, rendered as the CLI prints them.
import { describe, expect, it } from 'vitest';
import type { Code } from '../../src/diagnostics/codes.ts';
import { renderForTerminal } from '../../src/diagnostics/render.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { printFunction } from '../../src/ir/print.ts';

function compile(text: string) {
  const c = compileFile({ path: 'sig.proj', text });
  return {
    c,
    codes: c.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code),
    text: c.diagnostics.map(renderForTerminal).join('\n'),
  };
}

describe('dim constraints in the signature', () => {
  it('records `S: dim = 2` and `N: dim = M` on the kernel and prints them in the IR header', () => {
    const { c, codes } = compile(
      'kernel k(A: f32[M, H], B: f32[N, H], r: f32[P, S], S: dim = 2, N: dim = M) -> f32 {\n' +
        '  return sum(A) + sum(B) + sum(r)\n}\n',
    );
    expect(codes).toEqual([]);
    const k = c.kernels.get('k');
    expect(k?.dimConstraints).toEqual([
      { dim: 'S', equals: 2 },
      { dim: 'N', equals: { dim: 'M' } },
    ]);
    expect(printFunction(k!).split('\n')[0]).toContain('S: dim = 2, N: dim = M)');
  });

  it('takes a bare `S: dim` (names the dim, constrains nothing) and the trivial `N: dim = N`', () => {
    const { c, codes } = compile(
      'kernel k(x: f32[N, S], S: dim, N: dim = N) -> f32 {\n  return sum(x)\n}\n',
    );
    expect(codes).toEqual([]);
    expect(c.kernels.get('k')?.dimConstraints).toBeUndefined();
  });

  const errors: [Code, string, string][] = [
    [
      'P0130',
      'kernel k(x: f32[S], S: dim = 2.5) -> f32 {\n  return sum(x)\n}\n',
      'must be a whole number',
    ],
    [
      'P0131',
      'kernel k(x: f32[N], S: dim = 2) -> f32 {\n  return sum(x)\n}\n',
      'no tensor parameter has it',
    ],
    [
      'P0131',
      'kernel k(x: f32[N], N: dim = Mm) -> f32 {\n  return sum(x)\n}\n',
      '`Mm` is constrained',
    ],
    [
      'P0132',
      'kernel k(x: f32[N, M], N: dim = 2, N: dim = M) -> f32 {\n  return sum(x)\n}\n',
      'declared twice',
    ],
  ];
  it.each(errors)('%s: %s', (code, text, message) => {
    const r = compile(text);
    expect(r.codes).toEqual([code]);
    expect(r.text).toContain(message);
    expect(r.text).toMatch(/--> sig\.proj:1:\d+/);
  });

  it('renders P0131 with the caret on the dim and a suggestion', () => {
    expect(compile('kernel k(x: f32[N, Vocab], Vocb: dim = 4) -> f32 {\n  return sum(x)\n}\n').text)
      .toBe(`sig.proj:1:28: error: dim \`Vocb\` is constrained, but no tensor parameter has it
error[P0131]: dim \`Vocb\` is constrained, but no tensor parameter has it
 --> sig.proj:1:28
  |
1 | kernel k(x: f32[N, Vocab], Vocb: dim = 4) -> f32 {
  |                            ^^^^
  = note: a dim gets its size from the tensor parameters that have it
  = help: did you mean \`Vocab\`?
`);
  });
});

describe('optional tensor parameters', () => {
  it('marks `b: f32[V]?` optional and adds its hidden `present(b)` flag (default true)', () => {
    const { c, codes } = compile(
      'kernel k(z: f32[N, V], b: f32[V]?) -> f32 {\n  return sum(z + b) + where(present(b), 1.0, 0.0)\n}\n',
    );
    expect(codes).toEqual([]);
    const k = c.kernels.get('k');
    expect(k?.params.find((p) => p.name === 'b')?.optional).toBe(true);
    expect(k?.params.find((p) => p.name === 'present(b)')).toMatchObject({
      dtype: 'bool',
      dims: [],
      default: 1,
      presenceOf: 'b',
    });
    expect(printFunction(k!).split('\n')[0]).toContain('b: f32[V]?');
  });

  it('present(b) works through a fn argument', () => {
    const { codes } = compile(
      'fn bias_or_zero(z, b) = where(present(b), z + b, z)\n' +
        'kernel k(z: f32[N, V], b: f32[V]?) -> f32 {\n  return sum(bias_or_zero(z, b))\n}\n',
    );
    expect(codes).toEqual([]);
  });

  it('P0133: a scalar cannot be optional', () => {
    const r = compile('kernel k(x: f32[N], s: f32?) -> f32 {\n  return sum(x) * s\n}\n');
    expect(r.codes).toEqual(['P0133']);
    expect(r.text).toContain('scalar parameter `s` cannot be optional');
    expect(r.text).toContain('give it a default instead: `s: f32 = 0`');
  });

  it('P0113: an optional tensor still cannot have a default', () => {
    expect(compile('kernel k(x: f32[N]? = 0) -> f32 {\n  return sum(x)\n}\n').codes).toEqual([
      'P0113',
    ]);
  });

  it('P0230: present() of anything but an optional tensor parameter', () => {
    for (const arg of ['x', 'b * 2']) {
      const r = compile(
        `kernel k(x: f32[N], b: f32[N]?) -> f32 {\n  return sum(where(present(${arg}), x, b))\n}\n`,
      );
      expect(r.codes).toEqual(['P0230']);
      expect(r.text).toContain('`present` takes an optional tensor parameter');
    }
  });
});
