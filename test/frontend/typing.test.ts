// The typing rules of spec §4-5 as the front end implements them: each successful row pins
// the dtype and dims of a value, each failing row the code, message and caret of the one
// error it must produce.
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.ts';
import { lineCol, type Span } from '../../src/diagnostics/source.ts';
import { compileFile, type CompiledFile } from '../../src/frontend/compile.ts';
import { printFunction, typeText } from '../../src/ir/print.ts';
import type { IrFunction } from '../../src/ir/types.ts';

// --- helpers

function compile(text: string): CompiledFile {
  return compileFile({ path: 'test.proj', text });
}

const at = (s: Span | undefined): string => {
  if (!s) return 'no span';
  const { line, col } = lineCol(s.file, s.start);
  return `${line}:${col}`;
};
const caretText = (s: Span | undefined): string => (s ? s.file.text.slice(s.start, s.end) : '');
const show = (d: Diagnostic): string => `${d.code} ${at(d.span)} ${d.message}`;

/** The only kernel of a program that must compile without a single diagnostic. */
function onlyKernel(text: string): IrFunction {
  const c = compile(text);
  expect(c.diagnostics.map(show)).toEqual([]);
  const all = [...c.kernels.values()];
  expect(all).toHaveLength(1);
  return all[0] as IrFunction;
}

/** `name: dtype[dims]` of each result of a kernel. */
function resultTypes(fn: IrFunction): string[] {
  return fn.results.map(
    (r) => `${r.name}: ${typeText(fn.nodes[r.node] ?? { dtype: '?', dims: [] })}`,
  );
}

/** The errors of a program, each as what a test asserts about it. */
function errorsOf(text: string): { code: string; message: string; at: string; caret: string }[] {
  return compile(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => ({ code: d.code, message: d.message, at: at(d.span), caret: caretText(d.span) }));
}

/** The one diagnostic of a program (error or warning). */
function onlyDiagnostic(text: string): Diagnostic {
  const ds = compile(text).diagnostics;
  expect(ds.map(show)).toHaveLength(1);
  return ds[0] as Diagnostic;
}

/**
 * Every expression below is elaborated in a kernel with these parameters, as the value of
 * `v` on line 2 (its text starts at column 7). Long dim names are there for did-you-mean,
 * which ignores one-letter names.
 */
const PARAMS = [
  'x: f32[N]',
  'y: f32[N]',
  't: i32[N]',
  'c: bool[N]',
  's: f32',
  'k: i32',
  'X: f32[N, V]',
  'Xb: bf16[N, H]',
  'W: bf16[V, H]',
  'Wt: f32[H, V]',
  'P: f32[H, N]',
  'I: i32[N, H]',
  'h: f32[H]',
  'a: f32[V]',
  'u: i32[V]',
  'Z: f32[B, T, H]',
  'L: f32[B, T, V]',
  'idx: i32[B, T]',
  'idxT: i32[T, B]',
  'E: f32[Batch, Vocab]',
].join(', ');

/** `v = EXPR` in a kernel that uses `v` (so its node survives, labelled `v`). */
function programWith(expr: string): string {
  return `kernel k(${PARAMS}) -> f32 {\n  v = ${expr}\n  return sum(f32(v))\n}\n`;
}

/** The kernel compiled around `v = EXPR`, and the node of `v`. */
function elaborate(expr: string): { fn: IrFunction; ir: string; type: string } {
  const fn = onlyKernel(programWith(expr));
  const id = [...(fn.labels ?? [])].find(([, name]) => name === 'v')?.[0];
  const node = id === undefined ? undefined : fn.nodes[id];
  if (!node) throw new Error(`no node labelled v in\n${printFunction(fn)}`);
  return { fn, ir: printFunction(fn), type: typeText(node) };
}

const typeOf = (expr: string): string => elaborate(expr).type;

// --- successful typing

describe('types of well-typed expressions', () => {
  const rows: [string, string][] = [
    // literals adapt to the other operand (spec §4)
    ['t != -100', 'bool[N]'],
    ['t + 1', 'i32[N]'],
    ['1 - t * 2', 'i32[N]'],
    ['k * 3', 'i32'],
    ['x * 2', 'f32[N]'],
    ['x + 0.5', 'f32[N]'],
    ['2 ** x', 'f32[N]'],
    ['1 - s', 'f32'],
    ['-x ** 2', 'f32[N]'],
    ['x == x', 'bool[N]'],
    ['c == true', 'bool[N]'],
    ['(x > 0) and c', 'bool[N]'],
    ['not c or c', 'bool[N]'],
    // integer arithmetic stays i32; relu/abs/neg are defined for it
    ['-t', 'i32[N]'],
    ['abs(t)', 'i32[N]'],
    ['relu(t)', 'i32[N]'],
    ['maximum(t, 0)', 'i32[N]'],
    ['minimum(1, t)', 'i32[N]'],
    ['clamp(t, 0, 10)', 'i32[N]'],
    ['where(c, t, 0)', 'i32[N]'],
    ['where(t > 0, 0, t)', 'i32[N]'],
    ['where(c, x, 0)', 'f32[N]'],
    ['where(c, 1, 0)', 'f32[N]'],
    // storage dtypes compute in f32
    ['Xb * 2', 'f32[N, H]'],
    ['exp(W)', 'f32[V, H]'],
    ['-Xb', 'f32[N, H]'],
    ['bf16(x) * 2', 'f32[N]'],
    // broadcasting by name: left dims in order, then the right's new ones
    ['x + X', 'f32[N, V]'],
    ['X + x', 'f32[N, V]'],
    ['a + x', 'f32[V, N]'],
    ['x + a', 'f32[N, V]'],
    ['X * Wt', 'f32[N, V, H]'],
    ['s * X', 'f32[N, V]'],
    ['X - s', 'f32[N, V]'],
    ['where(c, a, 0)', 'f32[N, V]'],
    ['clamp(x, -1, a)', 'f32[N, V]'],
    // @ contracts the last dim of the left with the first of the right, and is f32
    ['Xb @ W.T', 'f32[N, V]'],
    ['Xb @ Wt', 'f32[N, V]'],
    ['X @ Wt.T', 'f32[N, H]'],
    ['h @ Wt', 'f32[V]'],
    ['Xb @ h', 'f32[N]'],
    ['h @ h', 'f32'],
    ['Z @ W.T', 'f32[B, T, V]'],
    ['(Xb @ W.T) @ a', 'f32[N]'],
    // .T reverses a 2-D tensor
    ['W.T', 'bf16[H, V]'],
    ['X.T', 'f32[V, N]'],
    ['exp(X).T.T', 'f32[N, V]'],
    // reductions
    ['sum(X, V)', 'f32[N]'],
    ['sum(X, N)', 'f32[V]'],
    ['sum(X, N, V)', 'f32'],
    ['sum(X)', 'f32'],
    ['sum(L, T)', 'f32[B, V]'],
    ['max(X, N)', 'f32[V]'],
    ['min(X, V)', 'f32[N]'],
    ['logsumexp(X, V)', 'f32[N]'],
    ['logsumexp(L, V)', 'f32[B, T]'],
    ['sum(t, N)', 'i32'],
    ['max(t)', 'i32'],
    ['sum(Xb, H)', 'f32[N]'],
    ['mean(X, V)', 'f32[N]'],
    ['mean(X)', 'f32'],
    ['mean(L, B, T)', 'f32[V]'],
    ['count(c, N)', 'f32'],
    ['count(c)', 'f32'],
    ['count(X > 0, V)', 'f32[N]'],
    ['maximum(count(c, N), 1)', 'f32'],
    // gather, index, size
    ['gather(X, t, V)', 'f32[N]'],
    ['gather(L, idx, V)', 'f32[B, T]'],
    ['gather(L, idxT, V)', 'f32[B, T]'],
    ['gather(X, u, N)', 'f32[V]'],
    ['gather(Xb @ W.T, t, V)', 'f32[N]'],
    ['gather(I, t, H)', 'i32[N]'],
    // other dims broadcast by name both ways: more index dims gather per row, fewer pick one position
    ['gather(L, t, V)', 'f32[B, T, N]'],
    ['gather(X, 0, V)', 'f32[N]'],
    ['index(V)', 'i32[V]'],
    ['index(V) == u', 'bool[V]'],
    ['f32(index(N))', 'f32[N]'],
    ['size(V)', 'f32'],
    ['size(N, V)', 'f32'],
    ['x / size(N)', 'f32[N]'],
    // casts
    ['f32(c)', 'f32[N]'],
    ['f32(t)', 'f32[N]'],
    ['i32(x)', 'i32[N]'],
    ['bool(x)', 'bool[N]'],
    ['bf16(X)', 'bf16[N, V]'],
    ['f16(x)', 'f16[N]'],
    ['f32(Xb)', 'f32[N, H]'],
    // elementwise built-ins
    ['clamp(x, -1, 1)', 'f32[N]'],
    ['maximum(x, 0)', 'f32[N]'],
    ['minimum(x, y)', 'f32[N]'],
    ['exp(x) + log(y) + log1p(x) + expm1(x)', 'f32[N]'],
    ['sqrt(x) * rsqrt(x) * abs(x) * tanh(x)', 'f32[N]'],
    ['sigmoid(x) + softplus(x) + relu(x)', 'f32[N]'],
    // the prelude
    ['softmax(X, V)', 'f32[N, V]'],
    ['softmax(X, N)', 'f32[N, V]'],
    ['log_softmax(L, V)', 'f32[B, T, V]'],
    ['entropy(X, V)', 'f32[N]'],
    ['log_sigmoid(x)', 'f32[N]'],
    ['softmax(Xb @ W.T, V)', 'f32[N, V]'],
  ];
  it.each(rows)('%s : %s', (expr, want) => {
    expect(typeOf(expr)).toBe(want);
  });
});

describe('what successful expressions lower to', () => {
  it('a literal compared with i32 is an i32 constant', () => {
    expect(elaborate('t != -100').ir).toContain('const -100 : i32');
  });

  it('a literal multiplied with f32 is an f32 constant', () => {
    const { ir } = elaborate('x * 2');
    expect(ir).toContain('const 2 : f32');
    expect(ir).toMatch(/mul\(%\d+, %\d+\) : f32\[N\]/);
  });

  it('an integer literal selected with i32 in where is i32, though the condition comes first', () => {
    const { ir } = elaborate('where(c, t, 0)');
    expect(ir).toContain('const 0 : i32');
    expect(ir).toMatch(/where\(%\d+, %\d+, %\d+\) : i32\[N\]/);
  });

  it('arithmetic on literals folds to one literal', () => {
    const fn = onlyKernel('kernel k(x: f32[N]) -> f32[N] { return x * (2 + 3 * 4) }');
    expect(printFunction(fn)).toContain('const 14 : f32');
  });

  it('@ is a dot with the output dims, whatever the storage dtype', () => {
    expect(elaborate('Xb @ W.T').ir).toContain('dot(%0, %1) {dims=[N, V]} : f32[N, V]');
  });

  it('mean divides the sum by the size of the reduced dims', () => {
    const { ir } = elaborate('mean(X, V)');
    expect(ir).toContain('sum(%0) {axes=[V]} : f32[N]');
    expect(ir).toContain('size(V) : f32');
    expect(ir).toMatch(/div\(%\d+, %\d+\) : f32\[N\]/);
  });

  it('mean and sum with no dims reduce over all of them', () => {
    expect(elaborate('mean(X)').ir).toContain('size(N, V) : f32');
    expect(elaborate('sum(X)').ir).toContain('sum(%0) {axes=[N, V]} : f32');
  });

  it('count is the sum of the bool cast to f32', () => {
    const { ir } = elaborate('count(c, N)');
    expect(ir).toMatch(/%\d+ = f32\(%0\) : f32\[N\]/);
    expect(ir).toMatch(/sum\(%\d+\) \{axes=\[N\]\} : f32/);
  });

  it('softmax is inlined from the prelude as exp(z - detach(max(z))) / Σ', () => {
    const { ir } = elaborate('softmax(X, V)');
    expect(ir).toContain('max(%0) {axes=[V]} : f32[N]');
    expect(ir).toMatch(/detach\(%\d+\) : f32\[N\]/);
    expect(ir).toMatch(/sub\(%0, %\d+\) : f32\[N, V\]/);
    expect(ir).toMatch(/exp\(%\d+\) : f32\[N, V\]/);
    expect(ir).toMatch(/sum\(%\d+\) \{axes=\[V\]\} : f32\[N\]/);
    expect(ir).toMatch(/div\(%\d+, %\d+\) : f32\[N, V\]/);
  });

  it('log_sigmoid is -softplus(-x)', () => {
    const { ir } = elaborate('log_sigmoid(x)');
    expect(ir).toMatch(/neg\(%0\) : f32\[N\]/);
    expect(ir).toMatch(/softplus\(%\d+\) : f32\[N\]/);
  });

  it('gather and index keep their dim', () => {
    expect(elaborate('gather(X, t, V)').ir).toMatch(/gather\(%\d+, %\d+\) \{dim=V\} : f32\[N\]/);
    expect(elaborate('index(V)').ir).toContain('index() {dim=V} : i32[V]');
  });
});

// --- type errors in expressions

/** [expression, code, message, caret text, column of the caret on line 2] */
type ErrorRow = [string, string, string, string, number];

describe('type errors in expressions', () => {
  const floatOnly = [
    'exp',
    'log',
    'log1p',
    'expm1',
    'sqrt',
    'rsqrt',
    'tanh',
    'sigmoid',
    'softplus',
  ];
  const rows: ErrorRow[] = [
    // P0201: i32 and f32 do not mix, and a fractional literal does not adapt to i32
    ['t + 0.5', 'P0201', '`+` mixes i32 and f32 operands', '0.5', 11],
    ['k * 0.5', 'P0201', '`*` mixes i32 and f32 operands', '0.5', 11],
    ['t + x', 'P0201', '`+` mixes i32 and f32 operands', 'x', 11],
    ['x * t', 'P0201', '`*` mixes f32 and i32 operands', 't', 11],
    ['t < x', 'P0201', '`<` mixes i32 and f32 operands', 'x', 11],
    ['where(c, x, t)', 'P0201', '`where` mixes f32 and i32 operands', 't', 19],
    ['maximum(t, s)', 'P0201', '`maximum` mixes i32 and f32 operands', 's', 18],
    ['clamp(t, 0, 0.5)', 'P0201', '`clamp` mixes i32 and f32 operands', '0.5', 19],
    // P0202: bool is not a number
    ['c + x', 'P0202', '`+` cannot take a bool operand', 'c', 7],
    ['x * (x > 0)', 'P0202', '`*` cannot take a bool operand', 'x > 0', 12],
    ['-c', 'P0202', '`-` cannot take a bool operand', 'c', 8],
    ['c < 1', 'P0202', '`<` cannot take a bool operand', 'c', 7],
    ['sum(c, N)', 'P0202', '`sum` cannot take a bool operand', 'c', 11],
    ['exp(c)', 'P0202', '`exp` cannot take a bool operand', 'c', 11],
    ['maximum(c, x)', 'P0202', '`maximum` cannot take a bool operand', 'c', 15],
    // P0203: and/or/not and the condition of where need bool
    ['x and c', 'P0203', '`and` needs bool operands, found f32', 'x', 7],
    ['c or t', 'P0203', '`or` needs bool operands, found i32', 't', 12],
    ['not x', 'P0203', '`not` needs bool operands, found f32', 'x', 11],
    ['where(x, x, 0)', 'P0203', '`where` needs bool operands, found f32', 'x', 13],
    ['where(t, x, 0)', 'P0203', '`where` needs bool operands, found i32', 't', 13],
    ['count(x, N)', 'P0203', '`count` needs a bool, found f32', 'x', 13],
    // P0211: float-only operations on i32
    ['t / 2', 'P0211', '`/` is not defined for i32', 't', 7],
    ['t ** 2', 'P0211', '`**` is not defined for i32', 't', 7],
    ...floatOnly.map((f): ErrorRow => [
      `${f}(t)`,
      'P0211',
      `\`${f}\` is not defined for i32`,
      't',
      7 + f.length + 1,
    ]),
    ['mean(t, N)', 'P0211', '`mean` is not defined for i32', 't', 12],
    ['logsumexp(t, N)', 'P0211', '`logsumexp` is not defined for i32', 't', 17],
    ['I @ Wt', 'P0211', '`@` is not defined for i32', 'I', 7],
    // @
    [
      'Xb @ W',
      'P0204',
      '`@` contracts the last dim of the left side with the first dim of the right side, but they are `H` and `V`',
      '@',
      10,
    ],
    ['Xb @ P', 'P0210', 'dim `N` appears on both sides of `@` besides the contracted `H`', '@', 10],
    ['X @ s', 'P0212', '`@` needs tensors on both sides, found f32', 's', 11],
    ['2 @ X', 'P0212', '`@` needs tensors on both sides, found a number literal', '2', 7],
    ['N @ X', 'P0112', '`N` is a dim, not a value', 'N', 7],
    // .T
    ['x.T', 'P0205', '`.T` needs a 2-D tensor, found f32[N]', 'x', 7],
    ['L.T', 'P0205', '`.T` needs a 2-D tensor, found f32[B, T, V]', 'L', 7],
    ['s.T', 'P0205', '`.T` needs a 2-D tensor, found f32', 's', 7],
    // reductions and their dim arguments
    ['sum(X, H)', 'P0206', '`sum` over `H`, but the value has dims [N, V]', 'X', 11],
    ['max(x, V)', 'P0206', '`max` over `V`, but the value has dims [N]', 'x', 11],
    ['logsumexp(x, N, V)', 'P0206', '`logsumexp` over `V`, but the value has dims [N]', 'x', 17],
    ['mean(x, V)', 'P0206', '`mean` over `V`, but the value has dims [N]', 'x', 12],
    ['count(c, V)', 'P0206', '`count` over `V`, but the value has dims [N]', 'c', 13],
    ['sum(X, Q)', 'P0110', 'unknown dim `Q`', 'Q', 14],
    ['sum(X, x)', 'P0111', 'expected a dim, found the value `x`', 'x', 14],
    ['sum(X, 2)', 'P0111', 'expected a dim name here', '2', 14],
    ['sum(X, x + 1)', 'P0111', 'expected a dim name here', 'x + 1', 14],
    ['index(x)', 'P0111', 'expected a dim, found the value `x`', 'x', 13],
    ['X + N', 'P0112', '`N` is a dim, not a value', 'N', 11],
    ['exp(V)', 'P0112', '`V` is a dim, not a value', 'V', 11],
    ['sum(N)', 'P0112', '`N` is a dim, not a value', 'N', 11],
    // gather
    ['gather(X, x, V)', 'P0207', 'the index of `gather` must be i32, found f32', 'x', 17],
    [
      'gather(X, u, V)',
      'P0207',
      "the index of `gather` cannot have the gathered dim `V`; x's other dims are [N], the index has [V]",
      'u',
      17,
    ],
    ['gather(X, t, H)', 'P0206', '`gather` along `H`, but x has dims [N, V]', 'X', 14],
    ['gather(c, t, N)', 'P0202', '`gather` cannot take a bool operand', 'c', 14],
    // calls
    ['exp(x, x)', 'P0106', '`exp` takes 1 argument, found 2', 'exp(x, x)', 7],
    ['maximum(x)', 'P0106', '`maximum` takes 2 arguments, found 1', 'maximum(x)', 7],
    ['sum()', 'P0106', '`sum` takes 1 value and any number of dims, found 0', 'sum()', 7],
    ['gather(X, t)', 'P0106', '`gather` takes 2 values and a dim, found 2', 'gather(X, t)', 7],
    ['index(N, V)', 'P0106', '`index` takes a dim, found 2', 'index(N, V)', 7],
    ['size()', 'P0106', '`size` takes one or more dims, found 0', 'size()', 7],
    ['softmax(X)', 'P0106', '`softmax` takes 2 arguments, found 1', 'softmax(X)', 7],
    ['frobnicate(x)', 'P0105', 'unknown function `frobnicate`', 'frobnicate', 7],
    ['yy + x', 'P0101', 'unknown name `yy`', 'yy', 7],
  ];
  it.each(rows)('%s → %s', (expr, code, message, caret, col) => {
    expect(errorsOf(programWith(expr))).toEqual([{ code, message, caret, at: `2:${col}` }]);
  });

  it('P0204 suggests .T on the right operand when that fixes it', () => {
    expect(onlyDiagnostic(programWith('Xb @ W')).help).toEqual(['did you mean `W.T`?']);
    expect(onlyDiagnostic(programWith('Xb @ (2 * W)')).help).toEqual(['did you mean `(2 * W).T`?']);
  });

  it('P0204 suggests .T on the left operand when that fixes it', () => {
    const d = onlyDiagnostic(programWith('X @ Xb'));
    expect(d.code).toBe('P0204');
    expect(d.help).toEqual(['did you mean `X.T`?']);
  });

  it('P0204 names both shapes, and suggests nothing when .T would not help', () => {
    const d = onlyDiagnostic(programWith('Wt @ Xb'));
    expect(d.code).toBe('P0204');
    expect(d.notes).toEqual(['left is f32[H, V]', 'right is bf16[N, H]']);
    expect(d.help).toEqual([]);
  });

  it('operand types are listed as notes of a binary type error', () => {
    expect(onlyDiagnostic(programWith('t + 0.5')).notes).toEqual([
      'operand 1 is i32[N]',
      'operand 2 is a number literal',
    ]);
  });

  it('an unknown dim suggests the closest dim in scope', () => {
    const d = onlyDiagnostic(programWith('sum(E, Vocb)'));
    expect([d.code, d.message, d.help]).toEqual([
      'P0110',
      'unknown dim `Vocb`',
      ['did you mean `Vocab`?'],
    ]);
    expect(d.notes).toEqual(['dims in scope: N, V, H, B, T, Batch, Vocab']);
  });

  it('an unknown function suggests the closest built-in or fn', () => {
    const d = onlyDiagnostic(programWith('sofmax(X, V)'));
    expect([d.code, d.message, d.help]).toEqual([
      'P0105',
      'unknown function `sofmax`',
      ['did you mean `softmax`?'],
    ]);
    expect(onlyDiagnostic(programWith('logsumexq(X, V)')).help).toEqual([
      'did you mean `logsumexp`?',
    ]);
  });

  it('an unknown name suggests a close name, or calling a function of that name', () => {
    expect(onlyDiagnostic(programWith('Xbb')).help).toEqual(['did you mean `Xb`?']);
    expect(onlyDiagnostic(programWith('exp')).help).toEqual([
      '`exp` is a function: call it, e.g. `exp(...)`',
    ]);
  });

  it('errors do not cascade: a value built on an error reports nothing more', () => {
    const text = `kernel k(x: f32[N], t: i32[N]) -> f32 {\n  a = t + 0.5\n  b = exp(a) * x\n  return sum(b, N)\n}\n`;
    expect(errorsOf(text).map((e) => `${e.code} ${e.at}`)).toEqual(['P0201 2:11']);
  });
});

// --- fns

describe('user fns', () => {
  it('both forms are inlined, with dim arguments renamed to the caller dims', () => {
    const fn = onlyKernel(
      [
        'fn sq(x) = x * x',
        'fn normalize(z, d: dim) {',
        '  s = sum(z, d)',
        '  return z / s',
        '}',
        'kernel k(X: f32[N, V]) -> (rows: f32[N, V], cols: f32[N, V]) {',
        '  rows = normalize(sq(X), V)',
        '  cols = normalize(X, N)',
        '}',
      ].join('\n'),
    );
    expect(resultTypes(fn)).toEqual(['rows: f32[N, V]', 'cols: f32[N, V]']);
    const ir = printFunction(fn);
    expect(ir).toContain('sum(%1) {axes=[V]} : f32[N]');
    expect(ir).toContain('sum(%0) {axes=[N]} : f32[V]');
    expect(ir).not.toContain('call');
  });

  it('a fn is typed per call: the same fn works on f32 and on i32', () => {
    const fn = onlyKernel(
      'fn twice(x) = x + x\nkernel k(x: f32[N], t: i32[N]) -> (a: f32[N], b: i32[N]) {\n  a = twice(x)\n  b = twice(t)\n}\n',
    );
    expect(resultTypes(fn)).toEqual(['a: f32[N]', 'b: i32[N]']);
  });

  it('fns may be declared after use and may call each other', () => {
    const fn = onlyKernel(
      'kernel k(X: f32[N, V]) -> f32[N] { return f(X, V) }\nfn f(z, d: dim) = g(z, d) * 2\nfn g(z, d: dim) = logsumexp(z, d)\n',
    );
    expect(resultTypes(fn)).toEqual(['out: f32[N]']);
  });

  it('a user fn may shadow a prelude fn', () => {
    const fn = onlyKernel(
      'fn softmax(z, d: dim) = z * 2\nkernel k(X: f32[N, V]) -> f32[N, V] { return softmax(X, V) }\n',
    );
    const ir = printFunction(fn);
    expect(ir).not.toContain('logsumexp');
    expect(ir).toContain('const 2 : f32');
  });

  it('P0106: a fn called with the wrong number of arguments', () => {
    const text = 'fn f(x) = x\nkernel k(X: f32[N]) -> f32[N] { return f(X, X) }\n';
    expect(errorsOf(text)).toEqual([
      { code: 'P0106', message: '`f` takes 1 arguments, found 2', at: '2:40', caret: 'f(X, X)' },
    ]);
  });

  it('P0107: a fn that calls itself', () => {
    const text = 'fn f(x) = f(x) + 1\nkernel k(X: f32[N]) -> f32[N] { return f(X) }\n';
    expect(errorsOf(text)).toEqual([
      {
        code: 'P0107',
        message: '`f` calls itself; fns are inlined and cannot recurse',
        at: '1:11',
        caret: 'f(x)',
      },
    ]);
  });

  it('P0107: mutual recursion, with the call chain', () => {
    const text = 'fn f(x) = g(x)\nfn g(x) = f(x)\nkernel k(X: f32[N]) -> f32[N] { return f(X) }\n';
    const [d, ...rest] = compile(text).diagnostics;
    expect(rest.map(show)).toEqual([]);
    expect(d && [d.code, at(d.span), caretText(d.span)]).toEqual(['P0107', '2:11', 'f(x)']);
    expect(d?.notes).toEqual([
      'call chain: f → g → f',
      'in the call of `g` at test.proj:1:11',
      'in the call of `f` at test.proj:3:40',
    ]);
  });

  it('P0108: a fn without return, reported even when never called', () => {
    for (const kernel of ['return X', 'return f(X)']) {
      const text = `fn f(x) {\n  y = x\n}\nkernel k(X: f32[N]) -> f32[N] { ${kernel} }\n`;
      expect(errorsOf(text)).toEqual([
        { code: 'P0108', message: 'fn `f` has no `return`', at: '1:4', caret: 'f' },
      ]);
    }
  });

  it('P0109: a return that is not the last statement of a fn', () => {
    const text = 'fn f(x) {\n  return x\n  y = x\n}\nkernel k(X: f32[N]) -> f32[N] { return X }\n';
    expect(errorsOf(text)).toEqual([
      {
        code: 'P0109',
        message: '`return` must be the last statement',
        at: '2:3',
        caret: 'return x',
      },
    ]);
  });

  it('P0101: an unknown name inside a fn, even when the fn is never called', () => {
    const text = 'fn f(x) = x + yy\nkernel k(X: f32[N]) -> f32[N] { return X }\n';
    const d = onlyDiagnostic(text);
    expect([d.code, d.message, at(d.span)]).toEqual(['P0101', 'unknown name `yy`', '1:15']);
    expect(d.notes).toEqual([
      'a fn sees only its arguments and its own assignments; pass dims as `d: dim` arguments',
    ]);
  });

  it('P0101: a fn does not see the kernel parameters of its caller', () => {
    const text = 'fn f(x) = x + X\nkernel k(X: f32[N]) -> f32[N] { return f(X) }\n';
    const c = compile(text);
    expect(c.diagnostics.map(show)).toEqual(['P0101 1:15 unknown name `X`']);
    // the kernel calling the broken fn is not compiled
    expect([...c.kernels.keys()]).toEqual([]);
  });

  it('P0105: an unknown function inside a fn, even when never called', () => {
    const text = 'fn f(x) = frob(x)\nkernel k(X: f32[N]) -> f32[N] { return X }\n';
    expect(errorsOf(text)).toEqual([
      { code: 'P0105', message: 'unknown function `frob`', at: '1:11', caret: 'frob' },
    ]);
  });

  it('P0102: a fn assigning its own argument', () => {
    const text =
      'fn f(x) {\n  x = 1\n  return x\n}\nkernel k(X: f32[N]) -> f32[N] { return f(X) }\n';
    expect(errorsOf(text)).toEqual([
      {
        code: 'P0102',
        message: '`x` is already an argument; values are immutable',
        at: '2:3',
        caret: 'x',
      },
    ]);
  });

  it('P0112: a dim argument used as a value inside a fn, with the call site as a note', () => {
    const text = 'fn f(x, d: dim) = x + d\nkernel k(X: f32[N]) -> f32[N] { return f(X, N) }\n';
    const d = onlyDiagnostic(text);
    // the message names the caller's dim that `d` stands for
    expect([d.code, d.message, at(d.span), caretText(d.span)]).toEqual([
      'P0112',
      '`N` is a dim, not a value',
      '1:23',
      'd',
    ]);
    expect(d.notes).toEqual(['in the call of `f` at test.proj:2:40']);
  });

  it('P0111: a value passed where a fn expects a dim', () => {
    const text =
      'fn f(x, d: dim) = sum(x, d)\nkernel k(X: f32[N, V]) -> f32[N] { return f(X, X) }\n';
    expect(errorsOf(text)).toEqual([
      {
        code: 'P0111',
        message: 'expected a dim, found the value `X`',
        at: '2:48',
        caret: 'X',
      },
    ]);
  });

  it('a kernel calling a fn broken by a syntax error is not compiled, and says nothing more', () => {
    const text =
      'fn f(x) {\n  y = x + )\n  return y\n}\nkernel k(X: f32[N]) -> f32[N] { return f(X) }\n';
    const c = compile(text);
    expect(c.diagnostics.map(show)).toEqual(['P0002 2:11 expected an expression, found `)`']);
    expect([...c.kernels.keys()]).toEqual([]);
  });

  it('a type error inside a fn called from two kernels fails both kernels', () => {
    const text =
      'fn f(x) = x + 0.5\nkernel a(t: i32[N]) -> i32[N] { return f(t) }\nkernel b(t: i32[N]) -> i32[N] { return f(t) }\n';
    const c = compile(text);
    // reported once (at its place in the fn), but neither kernel compiles
    expect(c.diagnostics.map(show)).toEqual(['P0201 1:15 `+` mixes i32 and f32 operands']);
    expect([...c.kernels.keys()]).toEqual([]);
  });
});

// --- statements and results

describe('statements', () => {
  it('P0102: a name assigned twice', () => {
    const text = 'kernel k(X: f32[N]) -> f32[N] {\n  y = X\n  y = X + 1\n  return y\n}\n';
    const d = onlyDiagnostic(text);
    expect([d.code, d.message, at(d.span)]).toEqual([
      'P0102',
      '`y` is already assigned; values are immutable',
      '3:3',
    ]);
    expect(d.labels?.map((l) => `${at(l.span)} ${l.message}`)).toEqual(['2:3 first assigned here']);
    expect(d.help).toEqual(['give the new value its own name']);
  });

  it('P0102: assigning a parameter', () => {
    const text = 'kernel k(X: f32[N]) -> f32[N] {\n  X = X + 1\n  return X\n}\n';
    const d = onlyDiagnostic(text);
    expect([d.code, d.message, at(d.span)]).toEqual([
      'P0102',
      '`X` is already a parameter; values are immutable',
      '2:3',
    ]);
    expect(d.labels?.map((l) => `${at(l.span)} ${l.message}`)).toEqual(['1:10 declared here']);
  });

  it('P0109: return before the last statement', () => {
    const text = 'kernel k(X: f32[N]) -> f32[N] {\n  return X\n  return X + 1\n}\n';
    expect(errorsOf(text)).toEqual([
      {
        code: 'P0109',
        message: '`return` must be the last statement',
        at: '2:3',
        caret: 'return X',
      },
    ]);
  });

  it('P0109: return in a kernel with named results (and the result is then missing)', () => {
    const text = 'kernel k(X: f32[N]) -> (a: f32[N]) {\n  return X\n}\n';
    const c = compile(text);
    expect(c.diagnostics.map(show)).toEqual([
      'P0108 1:28 result `a` is never assigned',
      'P0109 2:3 this kernel has named results: assign each of them instead of `return`',
    ]);
    expect(c.diagnostics[1]?.help).toEqual(['assign `a = ...`']);
  });

  it('P0108: a kernel that never returns', () => {
    const text = 'kernel k(X: f32[N]) -> f32[N] {\n  y = X\n}\n';
    const c = compile(text);
    expect(c.diagnostics.map(show)).toEqual([
      'P0108 1:8 kernel `k` never returns a value',
      'P0115 2:3 `y` is assigned but never used',
    ]);
    expect(c.diagnostics[0]?.help).toEqual(['end the body with `return EXPR`']);
  });

  it('P0108: a named result never assigned, caret on its declared type', () => {
    const text = 'kernel k(X: f32[N, V]) -> (a: f32[N, V], b: f32[N]) {\n  a = X\n}\n';
    expect(errorsOf(text)).toEqual([
      { code: 'P0108', message: 'result `b` is never assigned', at: '1:45', caret: 'f32[N]' },
    ]);
  });

  it('P0115: an assigned value that is never used is a warning; the kernel still compiles', () => {
    const text = 'kernel k(X: f32[N]) -> f32[N] {\n  y = X * 2\n  return X\n}\n';
    const c = compile(text);
    expect(c.diagnostics.map((d) => `${d.severity} ${show(d)}`)).toEqual([
      'warning P0115 2:3 `y` is assigned but never used',
    ]);
    expect([...c.kernels.keys()]).toEqual(['k']);
  });

  it('a name used before its assignment is unknown', () => {
    const text = 'kernel k(X: f32[N]) -> f32[N] {\n  y = z\n  z = X\n  return y + z\n}\n';
    expect(errorsOf(text).map((e) => `${e.code} ${e.at} ${e.message}`)).toEqual([
      'P0101 2:7 unknown name `z`',
    ]);
  });
});

describe('results', () => {
  it('named results are assigned in any order and keep the declared order', () => {
    const fn = onlyKernel(
      'kernel k(X: f32[N, V], s: f32) -> (a: f32[N, V], b: f32) {\n  b = s * 2\n  a = X\n}\n',
    );
    expect(resultTypes(fn)).toEqual(['a: f32[N, V]', 'b: f32']);
  });

  it('a named result may be used by later statements', () => {
    const fn = onlyKernel(
      'kernel k(X: f32[N, V]) -> (lse: f32[N], loss: f32) {\n  lse = logsumexp(X, V)\n  loss = mean(lse)\n}\n',
    );
    expect(resultTypes(fn)).toEqual(['lse: f32[N]', 'loss: f32']);
  });

  it('the same dims in another order are transposed to the declared order', () => {
    const fn = onlyKernel('kernel k(X: f32[N, V]) -> f32[V, N] { return X }');
    expect(resultTypes(fn)).toEqual(['out: f32[V, N]']);
    expect(printFunction(fn)).toContain('transpose(%0) : f32[V, N]');
    const named = onlyKernel(
      'kernel k(a: f32[V], x: f32[N]) -> (p: f32[N, V]) {\n  p = a * x\n}\n',
    );
    expect(resultTypes(named)).toEqual(['p: f32[N, V]']);
    expect(printFunction(named)).toMatch(/transpose\(%\d+\) : f32\[N, V\]/);
  });

  it('an f32 value is rounded to a declared bf16 or f16 result', () => {
    const fn = onlyKernel('kernel k(x: f32[N], s: f32) -> bf16[N] { return x * s }');
    expect(resultTypes(fn)).toEqual(['out: bf16[N]']);
    expect(printFunction(fn)).toMatch(/bf16\(%\d+\) : bf16\[N\]/);
  });

  it('a literal result takes the declared class', () => {
    expect(resultTypes(onlyKernel('kernel k(x: f32[N]) -> f32 { return 1.5 }'))).toEqual([
      'out: f32',
    ]);
    expect(resultTypes(onlyKernel('kernel k(x: f32[N]) -> i32 { return 1 + 2 }'))).toEqual([
      'out: i32',
    ]);
  });

  it('P0208: extra dims, with a hint to reduce them', () => {
    const text = 'kernel k(X: f32[N, V]) -> f32[N] { return X }';
    const d = onlyDiagnostic(text);
    expect([d.code, d.message, at(d.span), caretText(d.span)]).toEqual([
      'P0208',
      'result `out` is declared f32[N] but the value is f32[N, V]',
      '1:43',
      'X',
    ]);
    expect(d.labels?.map((l) => `${caretText(l.span)}: ${l.message}`)).toEqual([
      'f32[N]: declared here',
    ]);
    expect(d.help).toEqual(['reduce the extra dims, e.g. with `sum` or `mean`']);
  });

  it('P0208: the wrong dtype, with a hint to cast', () => {
    const d = onlyDiagnostic('kernel k(t: i32[N]) -> f32[N] { return t * 2 }');
    expect([d.code, d.message]).toEqual([
      'P0208',
      'result `out` is declared f32[N] but the value is i32[N]',
    ]);
    expect(d.help).toEqual(['cast it: `f32(...)`']);
    const lit = onlyDiagnostic('kernel k(t: i32[N]) -> i32 { return 1.5 }');
    expect([lit.code, lit.message]).toEqual([
      'P0208',
      'result `out` is declared i32 but the value is f32',
    ]);
  });

  it('P0208: a named result of the wrong type', () => {
    const text = 'kernel k(X: f32[N, V]) -> (a: f32[N]) {\n  a = X > 0\n}\n';
    expect(errorsOf(text)).toEqual([
      {
        code: 'P0208',
        message: 'result `a` is declared f32[N] but the value is bool[N, V]',
        at: '2:7',
        caret: 'X > 0',
      },
    ]);
  });

  it('P0110: a result dim that no parameter declares (and no P0208 on top of it)', () => {
    const text = 'kernel k(X: f32[Rows, Vocab]) -> f32[Rows, Vocb] { return X }';
    const c = compile(text);
    expect(c.diagnostics.map(show)).toEqual([
      'P0110 1:44 unknown dim `Vocb`: no parameter declares it',
    ]);
    const d = c.diagnostics[0];
    expect(caretText(d?.span)).toBe('Vocb');
    expect(d?.help).toEqual(['did you mean `Vocab`?']);
    expect(d?.notes).toEqual([
      "a result's dims must come from the parameters, whose shapes bind them at run time",
    ]);
  });

  it('P0213: a dim repeated in a type', () => {
    const text = 'kernel k(X: f32[N, N]) -> f32 { return sum(X) }';
    expect(errorsOf(text)).toEqual([
      { code: 'P0213', message: 'dim `N` appears twice in one type', at: '1:20', caret: 'N' },
    ]);
  });
});

// --- parameters and declarations

describe('parameters', () => {
  it('scalar defaults of every dtype are kept in the IR', () => {
    const fn = onlyKernel(
      'kernel k(x: f32[N], a: f32 = 0.5, b: i32 = -100, c: bool = true, d: f32 = -inf, e: f32 = 1e-3) -> f32[N] { return x }',
    );
    expect(fn.params.map((p) => [p.name, p.default])).toEqual([
      ['x', undefined],
      ['a', 0.5],
      ['b', -100],
      ['c', 1],
      ['d', -Infinity],
      ['e', 0.001],
    ]);
  });

  it('P0103: a parameter declared twice', () => {
    const d = onlyDiagnostic('kernel k(X: f32[N], X: f32[N]) -> f32[N] { return X }');
    expect([d.code, d.message, at(d.span)]).toEqual([
      'P0103',
      'parameter `X` is declared twice',
      '1:21',
    ]);
    expect(d.labels?.map((l) => `${at(l.span)} ${l.message}`)).toEqual([
      '1:10 first declared here',
    ]);
  });

  it('P0113: a default on a tensor parameter', () => {
    expect(errorsOf('kernel k(X: f32[N] = 0) -> f32[N] { return X }')).toEqual([
      {
        code: 'P0113',
        message: 'tensor parameter `X` cannot have a default',
        at: '1:22',
        caret: '0',
      },
    ]);
  });

  it.each([
    ['i32 = 0.5', 'i32', '0.5', 'use an integer'],
    ['i32 = 1e10', 'i32', '1e10', 'use an integer'],
    ['bool = 1', 'bool', '1', 'use `true` or `false`'],
    ['f32 = true', 'f32', 'true', 'use a number'],
    ['i32 = false', 'i32', 'false', 'use an integer'],
  ])('P0209: a default that does not fit: %s', (decl, dtype, caret, help) => {
    const d = onlyDiagnostic(`kernel k(x: f32[N], a: ${decl}) -> f32[N] { return x }`);
    expect([d.code, d.message, caretText(d.span), at(d.span)]).toEqual([
      'P0209',
      `default value of \`a\` does not fit its type ${dtype}`,
      caret,
      `1:${24 + decl.indexOf('=') + 2}`,
    ]);
    expect(d.help).toEqual([help]);
  });
});

describe('declarations', () => {
  it('P0104: a kernel declared twice; the first one still compiles', () => {
    const text =
      'kernel k(X: f32[N]) -> f32[N] { return X }\nkernel k(X: f32[N]) -> f32[N] { return X * 2 }\n';
    const c = compile(text);
    expect(c.diagnostics.map(show)).toEqual(['P0104 2:8 `k` is declared twice']);
    expect(c.diagnostics[0]?.labels?.map((l) => `${at(l.span)} ${l.message}`)).toEqual([
      '1:8 first declared here',
    ]);
    expect(printFunction(c.kernels.get('k') as IrFunction)).not.toContain('mul');
  });

  it('P0104: a fn and a kernel of one name', () => {
    const text = 'fn k(x) = x\nkernel k(X: f32[N]) -> f32[N] { return X }\n';
    expect(errorsOf(text)).toEqual([
      { code: 'P0104', message: '`k` is declared twice', at: '2:8', caret: 'k' },
    ]);
  });

  it('P0116: a fn shadowing a built-in (a cast too)', () => {
    for (const name of ['exp', 'sum', 'f32']) {
      const d = onlyDiagnostic(`fn ${name}(x) = x\nkernel k(X: f32[N]) -> f32[N] { return X }\n`);
      expect([d.code, d.message, at(d.span), caretText(d.span)]).toEqual([
        'P0116',
        `fn \`${name}\` would shadow the built-in of that name`,
        '1:4',
        name,
      ]);
      expect(d.help).toEqual(['choose another name']);
    }
  });

  it('a kernel cannot be called like a fn', () => {
    const text =
      'kernel k(X: f32[N]) -> f32 { return sum(X) }\nkernel j(X: f32[N]) -> f32 { return k(X) }\n';
    const c = compile(text);
    expect(c.diagnostics.map(show)).toEqual(['P0105 2:37 unknown function `k`']);
    expect([...c.kernels.keys()]).toEqual(['k']);
  });

  it('every kernel of a file compiles independently; the broken one is left out', () => {
    const text =
      'kernel good(X: f32[N]) -> f32 { return sum(X) }\nkernel bad(X: f32[N]) -> f32 { return sum(X, V) }\n';
    const c = compile(text);
    expect(c.diagnostics.map((d) => d.code)).toEqual(['P0110']);
    expect([...c.kernels.keys()]).toEqual(['good']);
  });
});
