// Robustness of the front end on broken programs: valid programs are cut into crude tokens,
// mutated at random (delete, duplicate, swap, insert a token of the language or random
// text, truncate), and compiled. Whatever the text, compileFile must not throw, must
// explain every missing kernel with an error, and must give every diagnostic a span inside
// its file that renders; the CLI must answer 0 or 1, never an internal error.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.ts';
import { renderForTerminal } from '../../src/diagnostics/render.ts';
import type { SourceFile, Span } from '../../src/diagnostics/source.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { verify } from '../../src/graph/verify.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url);

const INLINE = [
  // fns in both forms, dim arguments, the prelude, named results
  `fn sq(x) = x * x
fn normalize(z, d: dim) {
  s = sum(z, d)
  return z / s
}
kernel stats(X: f32[B, T, V], mask: bool[B, T], t: f32 = 0.5) -> (p: f32[B, T, V], ent: f32[B, T], n: f32) {
  p = normalize(sq(X), V)
  ent = entropy(X / t, V)
  n = count(mask)
}
`,
  // casts, where, clamp, gather, index, transposed result, -x**2
  `kernel misc(Z: f32[N, V], y: i32[N], lo: f32 = -inf) -> f32[V, N] {
  c = clamp(Z, lo, 1e3)
  g = gather(log_softmax(c, V), y, V)
  hit = f32(index(V) == y)
  return where(y >= 0 and not (y == 7), -c**2 + hit, g)
}
`,
];

const SOURCES: readonly string[] = [
  ...readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.proj'))
    .sort()
    .map((f) => readFileSync(new URL(f, EXAMPLES), 'utf8')),
  ...INLINE,
];

/** Identifiers, numbers, whitespace, comments, and any other single character. */
function tokenize(text: string): string[] {
  return text.match(/[A-Za-z_]\w*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\s+|#[^\n]*|[^]/gu) ?? [];
}

/** Tokens of the language, and some near misses. */
const VOCABULARY = [
  ...['kernel', 'fn', 'return', 'dim', 'and', 'or', 'not', 'true', 'false', 'inf'],
  ...['f32', 'f16', 'bf16', 'i32', 'bool'],
  ...['sum', 'mean', 'max', 'logsumexp', 'count', 'gather', 'index', 'size', 'where', 'exp'],
  ...['softmax', 'log_softmax', 'entropy', 'maximum', 'clamp'],
  ...['(', ')', '[', ']', '{', '}', ',', ':', ';', '=', '->', '@', '.T', '.', '+', '-', '*'],
  ...['/', '**', '==', '!=', '<', '<=', '>', '>=', '#', '\n', ' '],
  ...['0', '1', '-100', '0.5', '1e-3', '2.5E+4', '1e', '1.2.3', '.5', '99999999999999999999'],
  ...['N', 'V', 'H', 'B', 'T', 'x', 'X', 'W', 'z', 'target', 'out', 'kernel k(', 'fn f(x) = '],
];

/** Text that no program holds: control characters, lone surrogates, wide and RTL characters. */
const ODD_TEXT = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('\u0000', '\uD800', '\uDC00x', '\r\n', '\r', '\t', '\u00A0', '\uFEFF'),
  fc.constantFrom('\u200F', '😀', 'é', 'Ｘ', '𝑥', '\u0301', '$', '`', '"', "'", '\\', '\u2028'),
);

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'insert'; at: number; token: string }
  | { kind: 'truncate'; at: number };

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    token: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...VOCABULARY) }, ODD_TEXT),
  }),
  // rarer: a truncated file mostly tests the end-of-file paths
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(tokens: readonly string[], ms: readonly Mutation[]): string {
  const t = [...tokens];
  for (const m of ms) {
    const i = t.length ? m.at % t.length : 0;
    switch (m.kind) {
      case 'delete':
        t.splice(i, 1);
        break;
      case 'duplicate':
        if (t.length) t.splice(i, 0, t[i] as string);
        break;
      case 'swap': {
        const j = t.length ? m.with % t.length : 0;
        [t[i], t[j]] = [t[j] as string, t[i] as string];
        break;
      }
      case 'insert':
        t.splice(m.at % (t.length + 1), 0, m.token);
        break;
      case 'truncate':
        t.length = m.at % (t.length + 1);
        break;
    }
  }
  return t.join('');
}

const PROGRAM = fc
  .record({
    source: fc.nat({ max: SOURCES.length - 1 }),
    mutations: fc.array(MUTATION, { minLength: 1, maxLength: 4 }),
  })
  .map(({ source, mutations }) => mutate(tokenize(SOURCES[source] as string), mutations));

function spanInside(s: Span, file: SourceFile): boolean {
  const sameFile = s.file === file || s.file.path === '<prelude>';
  return sameFile && 0 <= s.start && s.start <= s.end && s.end <= s.file.text.length;
}

/** Checks everything the front end promises about any text; throws to fail the property. */
function checkFrontEnd(text: string): void {
  const file: SourceFile = { path: 'fuzz.proj', text };
  const c = compileFile(file);
  const errors = c.diagnostics.filter((d) => d.severity === 'error');
  const declared = c.program.decls.flatMap((d) => (d.kind === 'kernel' ? [d] : []));
  // A kernel declared but not compiled is explained by an error.
  if (errors.length === 0) expect([...c.kernels.keys()]).toEqual(declared.map((d) => d.name.name));
  for (const [name, fn] of c.kernels) {
    verify(fn);
    // a compiled kernel produces every result it declares
    const decl = declared.find((d) => d.name.name === name);
    const wanted = decl?.result.kind === 'named' ? decl.result.fields.length : 1;
    expect(fn.results.length, name).toBe(wanted);
  }
  for (const d of c.diagnostics) checkDiagnostic(d, file);
}

function checkDiagnostic(d: Diagnostic, file: SourceFile): void {
  for (const s of [d.span, ...(d.labels ?? []).map((l) => l.span)])
    if (s && !spanInside(s, file))
      throw new Error(`${d.code} ${d.message}: span ${s.start}..${s.end} outside ${s.file.path}`);
  const r = renderForTerminal(d);
  expect(r).toContain(`${d.severity}[${d.code}]: `);
}

describe('the front end on mutated programs', () => {
  it('the unmutated sources compile cleanly', () => {
    for (const text of SOURCES) {
      const c = compileFile({ path: 's.proj', text });
      expect(c.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
      expect(c.kernels.size).toBe((text.match(/^kernel /gm) ?? []).length);
    }
  });

  it('the crude tokenizer loses no text', () => {
    for (const text of SOURCES) expect(tokenize(text).join('')).toBe(text);
  });

  it('never throws, explains every missing kernel, and spans every diagnostic inside its file', () => {
    fc.assert(fc.property(PROGRAM, checkFrontEnd), {
      seed: Number(process.env.FUZZ_SEED ?? 20261129),
      numRuns: Number(process.env.FUZZ_RUNS ?? 1500),
    });
  });

  it('survives arbitrary text and pathological nesting', () => {
    for (const text of [
      '',
      '#',
      '\uFEFF',
      'kernel',
      '('.repeat(5000),
      `kernel k(x: f32[N]) -> f32 { return ${'-'.repeat(3000)}x }`,
      `kernel k(x: f32[N]) -> f32 { return ${'x ** '.repeat(3000)}x }`,
      `kernel k(x: f32[N]) -> f32 { return ${'exp('.repeat(60)}sum(x)${')'.repeat(60)} }`,
    ])
      checkFrontEnd(text);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), checkFrontEnd), {
      seed: 7,
      numRuns: 300,
    });
  });
});

describe('projc check on mutated programs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'projc-fuzz-'));
  let n = 0;

  it('exits 0 or 1, never with an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(PROGRAM, async (text) => {
        const path = join(dir, `m${n++}.proj`);
        writeFileSync(path, text);
        let err = '';
        const code = await main(['check', path], { out: () => {}, err: (t) => (err += t) });
        expect(code, err).toBeLessThanOrEqual(1);
        expect(err).not.toContain('P0901');
        // an exit of 1 comes with at least one error printed rustc-style
        if (code === 1) expect(err).toMatch(/^error\[P0\d{3}\]: /m);
      }),
      { seed: 11, numRuns: 150 },
    );
  });
});
