import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProjParser } from '../../grammar/parser.ts';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.ts';
import { lineCol, type SourceFile, type Span } from '../../src/diagnostics/source.ts';
import type { Expr, FnDecl, KernelDecl, Program, Stmt } from '../../src/frontend/ast.ts';
import { parseProgram } from '../../src/frontend/parse.ts';

// --- helpers

/** Compact S-expression of an expression: `(+ a (* b 2))`, `(neg x)`, `(T W)`, `(call f x)`. */
function sexpr(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.text;
    case 'bool':
      return String(e.value);
    case 'name':
      return e.name;
    case 'unary':
      return `(${e.op === '-' ? 'neg' : 'not'} ${sexpr(e.operand)})`;
    case 'binary':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'call':
      return `(call ${[e.callee.name, ...e.args.map(sexpr)].join(' ')})`;
    case 'transpose':
      return `(T ${sexpr(e.operand)})`;
  }
}

function parse(text: string): { file: SourceFile; program: Program; diagnostics: Diagnostic[] } {
  const file = { path: 'test.proj', text };
  return { file, ...parseProgram(file) };
}

/** Parses a program that must have no diagnostics. */
function parseOk(text: string): { file: SourceFile; program: Program } {
  const result = parse(text);
  expect(result.diagnostics.map((d) => d.message)).toEqual([]);
  return result;
}

function kernelOf(program: Program, i = 0): KernelDecl {
  const decl = program.decls[i];
  if (decl?.kind !== 'kernel') throw new Error(`decl ${i} is not a kernel`);
  return decl;
}

function fnOf(program: Program, i = 0): FnDecl {
  const decl = program.decls[i];
  if (decl?.kind !== 'fn') throw new Error(`decl ${i} is not a fn`);
  return decl;
}

function returned(stmt: Stmt | undefined): Expr {
  if (stmt?.kind !== 'return') throw new Error('not a return statement');
  return stmt.value;
}

/** The S-expression of `source` parsed as the body of a one-line fn. */
function exprOf(source: string): string {
  return sexpr(returned(fnOf(parseOk(`fn f() = ${source}`).program).body[0]));
}

const textOf = (s: Span): string => s.file.text.slice(s.start, s.end);
const at = (s: Span | undefined): string => {
  if (!s) return 'no span';
  const { line, col } = lineCol(s.file, s.start);
  return `${line}:${col}`;
};
const summary = (d: Diagnostic): string => `${d.code} ${at(d.span)} ${d.message}`;

const CROSS_ENTROPY = `# token cross-entropy
kernel cross_entropy(
  X: bf16[N, H],               # hidden states
  W: bf16[V, H],
  target: i32[N],
  ignore_index: i32 = -100,
  label_smoothing: f32 = 0.0,
) -> f32 {
  z = X @ W.T
  lse = logsumexp(z, V)
  nll = lse - gather(z, target, V)
  smooth = lse - mean(z, V)
  row = (1 - label_smoothing) * nll + label_smoothing * smooth
  keep = target != ignore_index
  return sum(where(keep, row, 0), N) / maximum(count(keep, N), 1)
}
`;

// --- declarations

describe('declarations', () => {
  it('parses the cross-entropy kernel of the spec', () => {
    const k = kernelOf(parseOk(CROSS_ENTROPY).program);
    expect(k.name.name).toBe('cross_entropy');
    expect(
      k.params.map((p) => `${p.name.name}: ${p.type.dtype}[${p.type.dims.map((d) => d.name)}]`),
    ).toEqual([
      'X: bf16[N,H]',
      'W: bf16[V,H]',
      'target: i32[N]',
      'ignore_index: i32[]',
      'label_smoothing: f32[]',
    ]);
    expect(k.params.map((p) => p.default && sexpr(p.default))).toEqual([
      undefined,
      undefined,
      undefined,
      '(neg 100)',
      '0.0',
    ]);
    expect(k.result).toMatchObject({ kind: 'single', type: { dtype: 'f32', dims: [] } });
    expect(k.body.map((s) => (s.kind === 'assign' ? s.target.name : 'return'))).toEqual([
      'z',
      'lse',
      'nll',
      'smooth',
      'row',
      'keep',
      'return',
    ]);
    expect(sexpr(returned(k.body[6]))).toBe(
      '(/ (call sum (call where keep row 0) N) (call maximum (call count keep N) 1))',
    );
  });

  it('parses named results, with trailing commas everywhere a list allows one', () => {
    const src =
      'kernel k(x: f32[B, T,], d: f32,) -> (lp: f32[B, T,], total: f32,) { lp = f(x, d,); total = 1 }';
    const k = kernelOf(parseOk(src).program);
    expect(k.params.map((p) => p.type.dims.length)).toEqual([2, 0]);
    expect(k.result.kind).toBe('named');
    if (k.result.kind !== 'named') return;
    expect(
      k.result.fields.map((f) => `${f.name.name}:${f.type.dtype}${f.type.dims.length}`),
    ).toEqual(['lp:f322', 'total:f320']);
    expect(k.body.map((s) => sexpr(s.value))).toEqual(['(call f x d)', '1']);
  });

  it('parses literal defaults: negative numbers, inf, -inf, booleans', () => {
    const src =
      'kernel k(a: f32 = -1e-3, b: f32 = inf, c: f32 = -inf, d: bool = true, e: bool = false) -> f32 { return a }';
    const k = kernelOf(parseOk(src).program);
    expect(k.params.map((p) => p.default && sexpr(p.default))).toEqual([
      '(neg 1e-3)',
      'inf',
      '(neg inf)',
      'true',
      'false',
    ]);
    expect(k.params[1]?.default).toMatchObject({ kind: 'number', value: Infinity, text: 'inf' });
  });

  it('parses both fn forms, with value and dim arguments', () => {
    const src = `
      fn sq(x) = x * x;
      fn norm(x, d: dim,) {
        s = sum(sq(x), d);
        return sqrt(s)
      }
      fn none() = 1`;
    const { program } = parseOk(src);
    const sq = fnOf(program, 0);
    expect(sq.args.map((a) => [a.name.name, a.isDim])).toEqual([['x', false]]);
    expect(sq.body.map((s) => `${s.kind} ${sexpr(s.value)}`)).toEqual(['return (* x x)']);
    const norm = fnOf(program, 1);
    expect(norm.args.map((a) => [a.name.name, a.isDim])).toEqual([
      ['x', false],
      ['d', true],
    ]);
    expect(norm.body.map((s) => `${s.kind} ${sexpr(s.value)}`)).toEqual([
      'assign (call sum (call sq x) d)',
      'return (call sqrt s)',
    ]);
    expect(fnOf(program, 2).args).toEqual([]);
  });

  it('takes statements with or without `;`, comments anywhere, declarations in any order', () => {
    const src = `fn g(x) = x # a helper
      kernel k(a: f32) -> f32 { # body
        b = a; c = b
        d = c;;
        return d; }
      # trailing comment`;
    const r = parse(src);
    // `;;`: the second `;` is a stray token, reported once.
    expect(r.diagnostics.map(summary)).toEqual([
      'P0002 4:15 expected a statement or `}`, found `;`',
    ]);
    const ok = parseOk(src.replace(';;', ';'));
    expect(ok.program.decls.map((d) => d.kind)).toEqual(['fn', 'kernel']);
    expect(kernelOf(ok.program, 1).body).toHaveLength(4);
  });

  it('treats words that merely start with a keyword, dtype names and T as names', () => {
    const { program } = parseOk(
      'kernel kernels(inform: f32, notable: f32, T: f32) -> f32 { order = notable; return f32(order) + inform + T }',
    );
    const k = kernelOf(program);
    expect(k.params.map((p) => p.name.name)).toEqual(['inform', 'notable', 'T']);
    expect(sexpr(returned(k.body[1]))).toBe('(+ (+ (call f32 order) inform) T)');
  });

  it('accepts an empty file and a file of comments as an empty program', () => {
    expect(parseOk('').program.decls).toEqual([]);
    expect(parseOk('  # nothing here\n\n# at all').program.decls).toEqual([]);
  });
});

// --- expressions

describe('expressions', () => {
  it.each([
    // unary minus is looser than `**`, and `**` is right-associative
    ['-x**2', '(neg (** x 2))'],
    ['2**3**2', '(** 2 (** 3 2))'],
    ['2 ** -1', '(** 2 (neg 1))'],
    ['-2 ** -x ** 2', '(neg (** 2 (neg (** x 2))))'],
    ['- -x', '(neg (neg x))'],
    ['-a * b', '(* (neg a) b)'],
    ['x ** y.T', '(** x (T y))'],
    ['a ** b * c', '(* (** a b) c)'],
    // `* / @` and `+ -` are left-associative, `*` binds tighter than `+`
    ['a - b - c', '(- (- a b) c)'],
    ['a / b / c', '(/ (/ a b) c)'],
    ['a + b * c', '(+ a (* b c))'],
    ['a * b / c @ d', '(@ (/ (* a b) c) d)'],
    ['X @ W.T * 2', '(* (@ X (T W)) 2)'],
    ['(a + b) * c', '(* (+ a b) c)'],
    // comparisons sit between `+ -` and `not`
    ['a < b + 1', '(< a (+ b 1))'],
    ['a <= b', '(<= a b)'],
    ['a > b', '(> a b)'],
    ['a >= b', '(>= a b)'],
    ['a != b', '(!= a b)'],
    ['not a == b', '(not (== a b))'],
    ['not not a', '(not (not a))'],
    ['a or b and c', '(or a (and b c))'],
    ['a and b or c', '(or (and a b) c)'],
    ['a or b or c', '(or (or a b) c)'],
    ['not a and b', '(and (not a) b)'],
    ['a == b or not c <= d', '(or (== a b) (not (<= c d)))'],
    // postfix
    ['f(x).T', '(T (call f x))'],
    ['(a + b).T', '(T (+ a b))'],
    ['a.T.T', '(T (T a))'],
    ['f()', '(call f)'],
    ['g(a, b + 1,)', '(call g a (+ b 1))'],
    ['f(g(x), -y)', '(call f (call g x) (neg y))'],
    ['((a))', 'a'],
    // literals
    ['true', 'true'],
    ['false', 'false'],
    ['inf', 'inf'],
  ])('%s  →  %s', (source, expected) => {
    expect(exprOf(source)).toBe(expected);
  });

  it.each([
    ['12', 12],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['1.', 1],
    ['1e-3', 1e-3],
    ['2.5E+4', 2.5e4],
    ['3e2', 300],
  ])('reads the number literal %s', (source, value) => {
    const e = returned(fnOf(parseOk(`fn f() = ${source}`).program).body[0]);
    expect(e).toMatchObject({ kind: 'number', value, text: source });
  });
});

// --- spans

describe('spans', () => {
  const src = `kernel k(
  X: bf16[N, H],
  s: f32 = -1,
) -> (a: f32[N], b: f32) {
  a = (X @ W.T) * s;
  b = sum(a, N)
  return f(a).T
}
fn g(x, d: dim) = -x ** 2`;
  const { program } = parseOk(src);
  const k = kernelOf(program);

  it('covers declarations, parameters, types and results', () => {
    expect(at(k.span)).toBe('1:1');
    expect(textOf(k.span).endsWith('f(a).T\n}')).toBe(true);
    expect(textOf(k.name.span)).toBe('k');
    const [x, s] = k.params;
    expect(x && textOf(x.span)).toBe('X: bf16[N, H]');
    expect(x && textOf(x.type.span)).toBe('bf16[N, H]');
    expect(x && textOf(x.type.dtypeSpan)).toBe('bf16');
    expect(x && at(x.type.dims[1]?.span)).toBe('2:14');
    expect(s && textOf(s.span)).toBe('s: f32 = -1');
    expect(s?.default && textOf(s.default.span)).toBe('-1');
    expect(textOf(k.result.span)).toBe('(a: f32[N], b: f32)');
    const g = fnOf(program, 1);
    expect(textOf(g.span)).toBe('fn g(x, d: dim) = -x ** 2');
    expect(g.args.map((a) => textOf(a.span))).toEqual(['x', 'd: dim']);
  });

  it('covers statements without their `;`, and expressions operand to operand', () => {
    const [first, second, third] = k.body;
    expect(first && textOf(first.span)).toBe('a = (X @ W.T) * s');
    expect(first?.kind === 'assign' && textOf(first.target.span)).toBe('a');
    const mul = first?.value;
    expect(mul?.kind).toBe('binary');
    if (mul?.kind !== 'binary') return;
    // Parentheses belong to the enclosing node, not to the expression inside them.
    expect(textOf(mul.span)).toBe('(X @ W.T) * s');
    expect(textOf(mul.opSpan)).toBe('*');
    expect(at(mul.opSpan)).toBe('5:17');
    expect(textOf(mul.left.span)).toBe('X @ W.T');
    if (mul.left.kind !== 'binary') throw new Error('expected @');
    expect(textOf(mul.left.right.span)).toBe('W.T');
    const call = second?.value;
    expect(call && textOf(call.span)).toBe('sum(a, N)');
    expect(call?.kind === 'call' && textOf(call.callee.span)).toBe('sum');
    expect(third && textOf(third.span)).toBe('return f(a).T');
    expect(third && at(third.value.span)).toBe('7:10');
  });

  it('covers unary operators and the synthesized return of a one-line fn', () => {
    const ret = fnOf(program, 1).body[0];
    expect(ret && textOf(ret.span)).toBe('-x ** 2');
    const neg = ret?.value;
    expect(neg?.kind === 'unary' && textOf(neg.opSpan)).toBe('-');
    expect(neg?.kind === 'unary' && textOf(neg.operand.span)).toBe('x ** 2');
  });
});

// --- errors

describe('syntax errors', () => {
  it.each([
    ['missing `)`', 'kernel k(a: f32 -> f32 { return a }', 'P0002 1:17 expected `)`, found `->`'],
    [
      'stray token',
      'kernel k(a: f32) -> f32 { return a ) }',
      'P0002 1:36 expected a statement or `}`, found `)`',
    ],
    [
      'missing expression',
      'kernel k(a: f32) -> f32 { x = }',
      'P0002 1:31 expected an expression, found `}`',
    ],
    [
      'chained comparison',
      'fn f(a, b, c) = a < b < c',
      'P0002 1:23 comparison operators cannot be chained',
    ],
    ['unexpected character', 'fn f(a) = a $ 1', 'P0001 1:13 unexpected character `$`'],
    ['control character', 'fn f(a) = a\u0007', 'P0001 1:12 unexpected character `\\u{7}`'],
    [
      'keyword as a name',
      'kernel fn(a: f32) -> f32 { return a }',
      'P0002 1:8 `fn` is a keyword and cannot be used as a name',
    ],
    [
      'keyword as a parameter',
      'kernel k(x: f32[N, V], dim: i32) -> f32 { return x }',
      'P0002 1:24 `dim` is a keyword and cannot be used as a name',
    ],
    ['missing name', 'fn (x) = x', 'P0002 1:4 expected a name, found `(`'],
    [
      'typed fn argument',
      'fn f(x: f32) = x',
      'P0002 1:9 expected `dim` (a fn argument has no type), found `f32`',
    ],
    // Recovery resumes at `x` as if a statement started there; only the first error shows.
    ['`==` for `=`', 'fn f(x) { y == x; return y }', 'P0002 1:13 expected `=`, found `==`'],
    ['top-level junk', 'x = 1', 'P0002 1:1 expected `kernel` or `fn`, found `x`'],
    [
      'bad default',
      'kernel k(a: f32 = b) -> f32 { return a }',
      'P0002 1:19 expected a default value (a number, `inf`, `true` or `false`), found `b`',
    ],
    ['unknown dtype', 'kernel k(a: float) -> f32 { return a }', 'P0002 1:13 unknown dtype `float`'],
    ['member other than T', 'fn f(a) = a.shape', 'P0002 1:13 unknown member `.shape`'],
    ['malformed exponent', 'fn f() = 1e', 'P0003 1:10 malformed number literal `1e`'],
    ['two dots', 'fn f() = 1.2.3', 'P0003 1:10 malformed number literal `1.2.3`'],
    ['letters after digits', 'fn f() = 2x', 'P0003 1:10 malformed number literal `2x`'],
  ])('%s', (_, source, expected) => {
    expect(parse(source).diagnostics.map(summary)).toEqual([expected]);
  });

  it('gives an unexpected character a one-character span', () => {
    const [d] = parse('fn f(a) = a $$ 1').diagnostics;
    expect(d?.span && textOf(d.span)).toBe('$');
  });

  it('puts an unexpected end of file right after the last token', () => {
    const { diagnostics } = parse('kernel k(a: f32) -> f32 {\n  return a\n\n# end\n');
    expect(diagnostics.map(summary)).toEqual(['P0002 2:11 unexpected end of file, expected `}`']);
    expect(diagnostics[0]?.span && diagnostics[0].span.end - diagnostics[0].span.start).toBe(0);
  });

  it('reports independent errors of one file together and keeps what parsed whole', () => {
    const src = `kernel a(x: f32) -> f32 {
  y = x + * 2
  return y
}
kernel b(x: f32) -> f32 {
  y = (x + 1
  z = 2
  return y
}
) )
fn c(x) = x <= x == x
fn d(x) { return x }`;
    const { program, diagnostics } = parse(src);
    expect(diagnostics.map(summary)).toEqual([
      'P0002 2:11 expected an expression, found `*`',
      'P0002 7:3 expected `)`, found `z`',
      'P0002 10:1 expected `kernel` or `fn`, found `)`',
      'P0002 11:18 comparison operators cannot be chained',
    ]);
    // The broken statements are dropped; their declarations and the others remain.
    expect(program.decls.map((d) => `${d.name.name}:${d.body.length}`)).toEqual([
      'a:1',
      'b:2',
      'c:1',
      'd:1',
    ]);
  });

  it('refuses absurd nesting with a diagnostic, and the parser stays usable', () => {
    const deepParens = parse(`fn f() = ${'('.repeat(5000)}1${')'.repeat(5000)}`);
    expect(deepParens.diagnostics.map((d) => d.message)).toEqual([
      'brackets nested more than 64 deep',
    ]);
    const deepPowers = parse(`fn f(x) = ${'x ** '.repeat(20000)}x`);
    expect(deepPowers.diagnostics.map((d) => d.code)).toEqual(['P0002']);
    expect(exprOf('a + b')).toBe('(+ a b)');
  });
});

// --- robustness

/** Every span in the AST, to check that they all lie inside the file. */
function allSpans(program: Program): Span[] {
  const spans: Span[] = [];
  const expr = (e: Expr): void => {
    spans.push(e.span);
    if (e.kind === 'unary') (spans.push(e.opSpan), expr(e.operand));
    if (e.kind === 'binary') (spans.push(e.opSpan), expr(e.left), expr(e.right));
    if (e.kind === 'call') (spans.push(e.callee.span), e.args.forEach(expr));
    if (e.kind === 'transpose') expr(e.operand);
  };
  for (const d of program.decls) {
    spans.push(d.span, d.name.span);
    for (const s of d.body) (spans.push(s.span), expr(s.value));
    if (d.kind === 'fn') spans.push(...d.args.map((a) => a.span));
    if (d.kind === 'kernel') {
      spans.push(d.result.span);
      for (const p of d.params) {
        spans.push(p.span, p.type.span, p.type.dtypeSpan, ...p.type.dims.map((x) => x.span));
        if (p.default) expr(p.default);
      }
    }
  }
  return spans;
}

function expectWellFormed(text: string): void {
  const { program, diagnostics } = parse(text);
  for (const s of [...allSpans(program), ...diagnostics.flatMap((d) => (d.span ? [d.span] : []))]) {
    expect(0 <= s.start && s.start <= s.end && s.end <= text.length).toBe(true);
  }
  for (const d of diagnostics) expect(d.message).not.toMatch(/undefined|NaN|-->/);
}

describe('robustness', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), expectWellFormed), {
      numRuns: 300,
    });
  });

  it('never throws on programs with tokens deleted, duplicated or swapped', () => {
    const tokens = CROSS_ENTROPY.split(/(\s+)/);
    const edit = fc.array(
      fc.tuple(fc.nat(tokens.length - 1), fc.constantFrom('drop', 'dup', 'swap')),
      {
        minLength: 1,
        maxLength: 4,
      },
    );
    fc.assert(
      fc.property(edit, (edits) => {
        const t = [...tokens];
        for (const [i, op] of edits) {
          if (op === 'drop') t.splice(i, 1);
          if (op === 'dup') t.splice(i, 0, t[i] ?? '');
          if (op === 'swap') t.splice(i, 2, t[i + 1] ?? '', t[i] ?? '');
        }
        expectWellFormed(t.join(''));
      }),
      { numRuns: 300 },
    );
  });

  it('has a grammar free of ambiguities and left recursion', () => {
    // chevrotain 13 checks grammars with Object.groupBy (Node 22+); lend it one on Node 20.
    const hadGroupBy = 'groupBy' in Object;
    if (!hadGroupBy) {
      const groupBy = <T>(items: Iterable<T>, key: (item: T) => PropertyKey) => {
        const groups: Record<PropertyKey, T[]> = {};
        for (const item of items) (groups[key(item)] ??= []).push(item);
        return groups;
      };
      Object.defineProperty(Object, 'groupBy', { value: groupBy, configurable: true });
    }
    try {
      expect(() => new ProjParser({ validateGrammar: true })).not.toThrow();
    } finally {
      if (!hadGroupBy) Reflect.deleteProperty(Object, 'groupBy');
    }
  });
});
