// Issue 13, "Internal error on a valid program": two row sets over one W. Each set of rows
// now gets sweeps of its own, so every command takes it and run gives the interpreter's
// answer on webgpu; a value that needs both sets' rows at once is a located P0302.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { outValue, proj, projc } from './helpers.ts';

const TWO = `kernel k(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  return sum(logsumexp(X @ W.T, V), N) + sum(logsumexp(Y @ W.T, V), M)
}
`;

const BOTH = `kernel k(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  a = logsumexp(X @ W.T, V)
  b = logsumexp(Y @ W.T, V)
  return sum(a + b, N, M)
}
`;

describe('Internal error on a valid program: two row sets over one W', () => {
  const file = proj(TWO);
  const dims = ['--dims', 'N=4,M=3,H=4,V=5'];

  for (const grad of [[], ['--grad', 'X,Y,W']])
    for (const cmd of [
      ['check'],
      ['plan', ...dims],
      ['compile', '--out', `${file}.${grad.length}.d`],
      ['ir'],
    ])
      it(`${cmd[0]} ${grad.join(' ')}: runs, a sweep per row set`, async () => {
        const r = await projc(cmd[0] ?? '', file, ...cmd.slice(1), ...grad);
        expect(r.err).not.toContain('error');
        expect(r.code).toBe(0);
        if (cmd[0] === 'plan') {
          expect(r.out).toContain('sweep 0 (');
          expect(r.out).toContain('sweep 1 (');
        }
        if (cmd[0] === 'compile') {
          const m = JSON.parse(readFileSync(`${file}.${grad.length}.d/manifest.json`, 'utf8')) as {
            schedule: { sweeps: { rows: string[] }[] };
          };
          expect(m.schedule.sweeps.map((s) => s.rows)).toEqual([['N'], ['M']]);
        }
      });

  it('run on webgpu (N and M in chunks of 2) gives the cpu interpreter answer, gradients too', async () => {
    const args = [...dims, '--grad', 'X,Y,W', '--json'];
    const cpu = await projc('run', file, ...args, '--backend', 'cpu');
    const gpu = await projc('run', file, ...args, '--backend', 'webgpu', '--chunk-rows', '2');
    expect(cpu.code).toBe(0);
    expect(gpu.code).toBe(0);
    type Out = { outputs: Record<string, number | { data: number[] }> };
    const c = JSON.parse(cpu.out) as Out;
    const g = JSON.parse(gpu.out) as Out;
    expect(Math.abs(Number(g.outputs['out']) - Number(c.outputs['out']))).toBeLessThan(1e-4);
    const text = await projc('run', file, ...dims, '--backend', 'webgpu', '--chunk-rows', '2');
    expect(Math.abs(outValue(text.out) - Number(c.outputs['out']))).toBeLessThan(1e-4);
  }, 60_000);

  it('a value over both row sets at once is a located P0302 naming it', async () => {
    const both = proj(BOTH);
    for (const cmd of [['check'], ['plan', ...dims], ['run', ...dims]]) {
      const r = await projc(cmd[0] ?? '', both, ...cmd.slice(1));
      expect(r.err).toContain(
        'error[P0302]: `k` cannot be run chunked: %7 = add(%4, %6) : f32[N, M] needs the rows [N] and [M] at once',
      );
      expect(r.err).toMatch(/--> .*:4:14/);
      expect(r.err).toContain('= help: reduce over one set of rows before combining it');
      expect(r.err).not.toContain('P0901');
      expect(r.code).toBe(1);
    }
  });
});
