// Issue 13, "Internal error on a valid program": two row sets over one W.
import { describe, expect, it } from 'vitest';
import { outValue, proj, projc } from './helpers.ts';

const TWO = `kernel k(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  return sum(logsumexp(X @ W.T, V), N) + sum(logsumexp(Y @ W.T, V), M)
}
`;

describe('Internal error on a valid program: two row sets over one W', () => {
  const file = proj(TWO);
  const dims = ['--dims', 'N=4,M=3,H=4,V=5'];

  for (const cmd of [
    ['check'],
    ['plan', ...dims],
    ['compile', '--out', `${file}.d`],
    ['run', ...dims],
  ])
    it(`${cmd[0]}: a located P0302 with the workaround, not an internal error`, async () => {
      const r = await projc(cmd[0] ?? '', file, ...cmd.slice(1));
      expect(r.err).toContain(
        'error[P0302]: `k` cannot be run chunked: this projection runs over the rows [N], another over [M]',
      );
      expect(r.err).toMatch(/--> .*:2:24/);
      expect(r.err).toContain('= help: write one kernel per set of rows and add their results');
      expect(r.err).not.toContain('P0901');
      expect(r.code).toBe(1);
    });

  it('the cpu interpreter (no chunking) still gives the answer, and the split kernels agree', async () => {
    const whole = await projc('run', file, ...dims, '--backend', 'cpu');
    expect(whole.code).toBe(0);
    // The workaround of the help: one kernel per row set, on the same seeded inputs.
    const part = (rows: string, x: string) =>
      proj(`kernel k(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  return sum(logsumexp(${x} @ W.T, V), ${rows})
}
`);
    let sum = 0;
    for (const [rows, x] of [
      ['N', 'X'],
      ['M', 'Y'],
    ] as const) {
      const r = await projc('run', part(rows, x), ...dims, '--backend', 'webgpu');
      expect(r.code).toBe(0);
      sum += outValue(r.out);
    }
    expect(Math.abs(sum - outValue(whole.out))).toBeLessThan(1e-4 * Math.abs(sum));
  }, 60_000);
});
