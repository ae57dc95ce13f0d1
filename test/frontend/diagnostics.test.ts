// The rendered form of every diagnostic the front end emits, pinned by snapshots: the
// summary line `FILE:LINE:COL: error: MESSAGE`, then the rustc-style block (header, `-->`,
// source line, caret, labels, `= note:`, `= help:`). Also: several errors in one file are
// all reported, and every code of CODES is exercised by some test.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { CODES, type Code } from '../../src/diagnostics/codes.ts';
import { renderForTerminal } from '../../src/diagnostics/render.ts';
import { compileFile } from '../../src/frontend/compile.ts';

const dir = mkdtempSync(join(tmpdir(), 'projc-diag-'));

/** Every diagnostic of a program, rendered as the CLI prints them. */
function rendered(text: string, path = 'test.proj'): { codes: Code[]; text: string } {
  const { diagnostics } = compileFile({ path, text });
  return {
    codes: diagnostics.map((d) => d.code),
    text: diagnostics.map(renderForTerminal).join('\n'),
  };
}

async function projc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

let fileNo = 0;
function tempFile(text: string): string {
  const path = join(dir, `p${fileNo++}.proj`);
  writeFileSync(path, text);
  return path;
}

/** Output with the temporary directory replaced, so that snapshots are stable. */
const stable = (s: string): string => s.split(dir).join('<tmp>');

/** One program per code the front end emits; each must produce its code (and may produce others). */
const PROGRAMS: Partial<Record<Code, string>> = {
  P0001: 'kernel k(x: f32[N]) -> f32 {\n  return sum(x) $ 2\n}\n',
  P0002: 'kernel k(x: f32[N]) -> f32 {\n  return sum(x) +\n}\n',
  P0003: 'kernel k(x: f32[N]) -> f32 {\n  return sum(x) * 1e\n}\n',
  P0101: 'kernel k(hidden: f32[N]) -> f32 {\n  return sum(hiden)\n}\n',
  P0102: 'kernel k(x: f32[N]) -> f32[N] {\n  y = x * 2\n  y = y + 1\n  return y\n}\n',
  P0103: 'kernel k(x: f32[N],\n         x: f32[N]) -> f32[N] {\n  return x\n}\n',
  P0104: 'fn f(x) = x\n\nfn f(y) = y * 2\n\nkernel k(x: f32[N]) -> f32[N] { return f(x) }\n',
  P0105: 'kernel k(X: f32[N, V]) -> f32[N] {\n  return logsumexq(X, V)\n}\n',
  P0106: 'kernel k(X: f32[N, V]) -> f32[N, V] {\n  return softmax(X)\n}\n',
  P0107:
    'fn even(x) = odd(x) + 1\nfn odd(x) = even(x) * 2\nkernel k(x: f32[N]) -> f32[N] {\n  return even(x)\n}\n',
  P0108: 'kernel k(x: f32[N]) -> (loss: f32, lse: f32) {\n  loss = sum(x)\n}\n',
  P0109: 'kernel k(x: f32[N]) -> f32 {\n  return sum(x)\n  y = x\n}\n',
  P0110: 'kernel k(X: f32[N, Vocab]) -> f32[Vocb] {\n  return sum(X, N)\n}\n',
  P0111: 'kernel k(X: f32[N, V], w: f32[V]) -> f32[N] {\n  return sum(X, w)\n}\n',
  P0112: 'kernel k(X: f32[N, V]) -> f32[N] {\n  return sum(X, V) / V\n}\n',
  P0113: 'kernel k(X: f32[N, V] = 0) -> f32 {\n  return sum(X)\n}\n',
  P0115: 'kernel k(x: f32[N]) -> f32 {\n  scaled = x * 2\n  return sum(x)\n}\n',
  P0116: 'fn softplus(x) = log(1 + exp(x))\nkernel k(x: f32[N]) -> f32[N] { return x }\n',
  P0201: 'kernel k(target: i32[N]) -> f32[N] {\n  return target + 0.5\n}\n',
  P0202: 'kernel k(x: f32[N]) -> f32 {\n  keep = x > 0\n  return sum(keep, N)\n}\n',
  P0203: 'kernel k(x: f32[N]) -> f32[N] {\n  return where(x, x, 0)\n}\n',
  P0204: 'kernel k(X: bf16[N, H], W: bf16[V, H]) -> f32[N, V] {\n  z = X @ W\n  return z\n}\n',
  P0205: 'kernel k(X: f32[B, T, H]) -> f32[H, T, B] {\n  return X.T\n}\n',
  P0206: 'kernel k(X: f32[N, V], h: f32[H]) -> f32[N] {\n  return logsumexp(X, H)\n}\n',
  P0207: 'kernel k(X: f32[N, V], target: f32[N]) -> f32[N] {\n  return gather(X, target, V)\n}\n',
  P0208: 'kernel k(X: f32[N, V]) -> f32[N] {\n  return logsumexp(X, N)\n}\n',
  P0209: 'kernel k(x: f32[N], ignore_index: i32 = -100.5) -> f32[N] {\n  return x\n}\n',
  P0210: 'kernel k(X: f32[N, H], P: f32[H, N]) -> f32 {\n  return sum(X @ P)\n}\n',
  P0211: 'kernel k(target: i32[N]) -> f32 {\n  return sum(exp(target))\n}\n',
  P0212: 'kernel k(X: f32[N, H], s: f32) -> f32[N, H] {\n  return X @ s\n}\n',
  P0213: 'kernel k(X: f32[N, N]) -> f32 {\n  return sum(X)\n}\n',
};

describe('rendered diagnostics, one program per code', () => {
  it.each(Object.entries(PROGRAMS))('%s', (code, text) => {
    const r = rendered(text);
    expect(r.codes).toContain(code);
    expect(r.text).toMatchSnapshot();
  });

  it('P0204 suggests `.T`', () => {
    const r = rendered(PROGRAMS.P0204 ?? '');
    expect(r.codes).toEqual(['P0204']);
    expect(r.text).toContain('  = help: did you mean `W.T`?\n');
  });

  it('an error inside a prelude fn points at the user call, with the prelude line as a label', () => {
    const r = rendered('kernel k(t: i32[N]) -> f32[N] {\n  return softmax(t, N)\n}\n');
    expect(r.codes).toEqual(['P0211']);
    expect(r.text.split('\n')[0]).toMatch(/^test\.proj:2:10: error:/);
    expect(r.text).toMatch(/- inside the prelude/);
    expect(r.text).toMatchSnapshot();
  });

  it('a one-line summary starts every diagnostic with a position', () => {
    for (const [code, text] of Object.entries(PROGRAMS)) {
      const first = rendered(text).text.split('\n')[0] ?? '';
      expect(first, code).toMatch(/^test\.proj:\d+:\d+: (error|warning): \S/);
    }
  });

  it('a source line wider than 9 lines numbers its gutter to fit', () => {
    const text = `${'\n'.repeat(11)}kernel k(x: f32[N]) -> f32 {\n  return sum(x, V)\n}\n`;
    expect(rendered(text).text).toMatchSnapshot();
  });
});

const THREE_ERRORS = `# three independent mistakes, in two kernels
kernel logits(X: bf16[N, H], W: bf16[V, H]) -> f32[N, V] {
  z = X @ W
  return z
}

kernel loss(X: f32[N, V], target: i32[N]) -> f32 {
  lse = logsumexp(X, V)
  nll = lse - gather(X, target + 0.5, V)
  keep = target != -100
  return sum(where(keep, nll, 0), N) / count(keep, Q)
}
`;

describe('several errors in one file', () => {
  it('all three are reported, in source order, with their positions', () => {
    const { diagnostics } = compileFile({ path: 'three.proj', text: THREE_ERRORS });
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.code)).toEqual(['P0204', 'P0201', 'P0110']);
    expect(diagnostics.map(renderForTerminal).join('\n')).toMatchSnapshot();
  });

  it('projc check prints three summary lines and exits 1', async () => {
    const path = tempFile(THREE_ERRORS);
    const r = await projc('check', path);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const summaries = r.err.split('\n').filter((l) => l.startsWith(path));
    expect(summaries.map(stable)).toEqual([
      '<tmp>/p0.proj:3:9: error: `@` contracts the last dim of the left side with the first dim of the right side, but they are `H` and `V`',
      '<tmp>/p0.proj:9:34: error: `+` mixes i32 and f32 operands',
      '<tmp>/p0.proj:11:52: error: unknown dim `Q`',
    ]);
    expect(r.err).toMatch(/error: 3 errors in 1 file\n$/);
  });
});

/** Codes the CLI emits about a program (no span of the front end's own). */
const CLI_CASES: [Code, string[]][] = [
  ['P0114', ['ir', 'examples/cross_entropy.proj', '--kernel', 'cross_entropi']],
  ['P0301', ['ir', 'examples/cross_entropy.proj', '--grad', 'X,target']],
];

describe('diagnostics of the command line', () => {
  it.each(CLI_CASES)('%s', async (code, argv) => {
    const r = await projc(...argv);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error[${code}]`);
    expect(r.err).toMatchSnapshot();
  });
});

/**
 * Codes no test of the front end can produce: inputs and run-time checks (tested by the
 * run/interp tests when they exist), what the chunk planner will emit, and internal errors.
 */
const RUN_TIME_ONLY: readonly Code[] = [
  'P0302',
  'P0401',
  'P0402',
  'P0403',
  'P0404',
  'P0405',
  'P0406',
  'P0407',
  'P0408',
  'P0901',
];

/** Every file under `test/` (test sources and snapshot files), except this one. */
function testFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (/\.(ts|snap)$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('every diagnostic code is tested', () => {
  it('each code of CODES is exercised by a test, or is listed as run-time only', () => {
    const self = fileURLToPath(import.meta.url);
    const text = testFiles(fileURLToPath(new URL('..', import.meta.url)))
      .filter((p) => p !== self)
      .map((p) => readFileSync(p, 'utf8'))
      .join('\n');
    const here = new Set<string>([...Object.keys(PROGRAMS), ...CLI_CASES.map(([c]) => c)]);
    const untested = Object.keys(CODES).filter(
      (c) => !here.has(c) && !text.includes(c) && !RUN_TIME_ONLY.includes(c as Code),
    );
    expect(untested).toEqual([]);
  });

  it('the run-time-only list names real codes, none of which the front end emits', () => {
    for (const c of RUN_TIME_ONLY) {
      expect(Object.keys(CODES)).toContain(c);
      expect(Object.keys(PROGRAMS)).not.toContain(c);
    }
  });
});
