// Issue 13, "Hang": inputs that used to take minutes or never finish. Each test has a
// timeout far above the time the fixed code takes and far below the time the old one did.
import { describe, expect, it } from 'vitest';
import { renderDiagnostic } from '../../src/diagnostics/render.ts';
import { lineCol, lineText } from '../../src/diagnostics/source.ts';
import { fnTower, proj, projc } from './helpers.ts';

describe('Hang: exponential fn inlining', () => {
  it('shares equal calls: 30 levels of g(x) + g(x) check and run at once', async () => {
    // 2^30 inlined bodies before; each (fn, arguments) is now elaborated once.
    const file = proj(fnTower(30, (g) => `${g}(x) + ${g}(x)`));
    const check = await projc('check', file);
    expect(check.err).toContain('ok: 1 file, 1 kernel');
    expect(check.code).toBe(0);
    const ir = await projc('ir', file);
    expect(ir.code).toBe(0);
    // 30 doublings of z * 2 are 31 muls at most, not 2^30 nodes.
    expect((ir.out.match(/= mul/g) ?? []).length).toBeLessThanOrEqual(40);
  }, 20_000);

  it('reports an expansion past the limit, naming the fn and the size', async () => {
    // Every call gets new arguments: 2^30 distinct terms that no sharing can avoid.
    const file = proj(fnTower(30, (g) => `${g}(x + 1) + ${g}(x * 3)`));
    const r = await projc('check', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'error[P0501]: inlining `g30` expands this kernel past 250000 expressions',
    );
    expect(r.err).toMatch(/--> .*:3\d:24/);
    expect(r.err).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('reports fn calls nested past the limit instead of dropping the kernel silently', async () => {
    // Used to print `ok: 1 file, 0 kernels`.
    const file = proj(fnTower(80, (g) => `${g}(x) + 1`));
    const r = await projc('check', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[P0502]: fn calls nest more than 64 deep here');
    expect(r.err).toContain('call chain: g80 → g79');
  });
});

describe('Hang: 10k warnings render in linear time', () => {
  it('renders 20,000 warnings of one file', async () => {
    // Each rendering used to split the whole source again: 37 s for 10k, quadratic.
    const n = 20_000;
    const unused = Array.from({ length: n }, (_, i) => `  u${i} = ${i}\n`).join('');
    const file = proj(
      `kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {\n${unused}  return sum(logsumexp(X @ W.T, V), N)\n}\n`,
    );
    const r = await projc('check', file);
    expect(r.code).toBe(0);
    expect((r.err.match(/warning\[P0115\]/g) ?? []).length).toBe(n);
    expect(r.err).toContain(
      `${file}:${n + 1}:3: warning: \`u${n - 1}\` is assigned but never used`,
    );
  }, 20_000);

  it('finds lines and columns as the line scan did, CRLF included', () => {
    const file = { path: 'x.proj', text: 'ab\r\ncd\n\nefg' };
    expect(lineCol(file, 0)).toEqual({ line: 1, col: 1 });
    expect(lineCol(file, 4)).toEqual({ line: 2, col: 1 });
    expect(lineCol(file, 8)).toEqual({ line: 4, col: 1 });
    expect(lineCol(file, 99)).toEqual({ line: 4, col: 4 });
    expect([1, 2, 3, 4, 5].map((l) => lineText(file, l))).toEqual(['ab', 'cd', '', 'efg', '']);
    const d = renderDiagnostic({
      severity: 'error',
      code: 'P0101',
      message: 'm',
      span: { file, start: 9, end: 11 },
    });
    expect(d).toContain('4 | efg\n  |  ^^');
  });
});
