// Issue 13, "Stack traces": programs deep enough to exhaust the stack of a recursive walk.
// Each must check, and run on both backends with the same answer.
import { describe, expect, it } from 'vitest';
import { longSum, outValue, proj, projc, statementChain } from './helpers.ts';

const DIMS = ['--dims', 'N=3,H=4,V=5'];

/** Runs on both backends and checks they agree; returns the CPU (float64) value. */
async function runBoth(file: string, ...extra: string[]): Promise<number> {
  const cpu = await projc('run', file, ...DIMS, '--backend', 'cpu', ...extra);
  expect(cpu.err).toBe('');
  expect(cpu.code).toBe(0);
  const gpu = await projc('run', file, ...DIMS, '--backend', 'webgpu', ...extra);
  expect(gpu.err).not.toMatch(/error|\n\s+at /);
  expect(gpu.code).toBe(0);
  const c = outValue(cpu.out);
  expect(Math.abs(outValue(gpu.out) - c)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(c)));
  return c;
}

describe('Stack traces: a 2,500-statement chain', () => {
  // Used to die in codegen/emit-values.ts with `Maximum call stack size exceeded`.
  const file = proj(statementChain(2500, (p) => `tanh(${p}) + a0`));

  it('checks', async () => {
    expect((await projc('check', file)).code).toBe(0);
  });

  it('runs on cpu and webgpu with one answer', async () => {
    await runBoth(file);
  }, 120_000);

  it('compiles with gradients', async () => {
    const r = await projc('compile', file, '--grad', 'X,W', '--out', proj('') + '.d');
    expect(r.err).toMatch(/^wrote \d+ files/);
    expect(r.code).toBe(0);
  });
});

describe('Stack traces: a 3,000-term sum', () => {
  const file = proj(longSum(3000));

  it('runs on cpu and webgpu with one answer, gradients included', async () => {
    await runBoth(file, '--grad', 'X,W');
  }, 120_000);
});

describe('Stack traces: 5,000 terms pass check', () => {
  it('checks a 5,000-term sum (it killed elaborate-expr.ts)', async () => {
    const r = await projc('check', proj(longSum(5000)));
    expect(r.err).toContain('ok: 1 file, 1 kernel');
    expect(r.code).toBe(0);
  });

  it('checks 5,000 chained unary minuses and a 5,000-term product', async () => {
    const neg = `kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {\n  return sum(logsumexp(${'- '.repeat(5000)}(X @ W.T), V), N)\n}\n`;
    expect((await projc('check', proj(neg))).code).toBe(0);
    const product = `kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {\n  z = X @ W.T\n  return sum(logsumexp(${Array(5000).fill('z').join(' * ')}, V), N)\n}\n`;
    expect((await projc('check', proj(product))).code).toBe(0);
  });
});

describe('Stack traces: parser depth', () => {
  it('locates a `**` chain nested too deep', async () => {
    const chain = Array(3000).fill('z').join(' ** ');
    const file = proj(
      `kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {\n  z = X @ W.T\n  return sum(logsumexp(${chain}, V), N)\n}\n`,
    );
    const r = await projc('check', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[P0002]: `**` chained and brackets nested more than 64 deep');
    expect(r.err).toMatch(/--> .*:3:\d+/);
  });

  it('locates brackets nested too deep', async () => {
    const file = proj(
      `kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {\n  return sum(logsumexp(${'('.repeat(100)}X @ W.T${')'.repeat(100)}, V), N)\n}\n`,
    );
    const r = await projc('check', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[P0002]: brackets nested more than 64 deep');
  });
});
