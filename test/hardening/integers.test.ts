// Issue 13, "Silent wrong integers": literal range, one float → i32 rule on both backends,
// and range checks of i32 values given through the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, Runtime, UserError } from '../../src/index.ts';
import { castToI32 } from '../../src/ops/cast-eval.ts';
import { proj, projc } from './helpers.ts';

const HEAD = 'kernel k(X: f32[N, H], W: f32[V, H], t: i32[N]) ->';

describe('Silent wrong integers: the literal in t + 99999999999', () => {
  it('is a located error, not a wrap to 1215752191', async () => {
    const r = await projc(
      'check',
      proj(
        `${HEAD} i32 {\n  return sum(t + 99999999999, N) + i32(sum(logsumexp(X @ W.T, V), N))\n}\n`,
      ),
    );
    expect(r.err).toContain('error[P0504]: the integer literal 99999999999 does not fit in i32');
    expect(r.err).toMatch(/--> .*:2:18/);
    expect(r.code).toBe(1);
  });

  it('also in a gather index, an i32 result and a comparison', async () => {
    for (const body of [
      'return sum(gather(t, 3000000000, N), N)',
      'return -2147483649',
      'return count(t == -2147483649, N)',
    ]) {
      const r = await projc('check', proj(`${HEAD} i32 {\n  ${body}\n}\n`));
      expect(r.err, body).toContain('error[P0504]');
      expect(r.code).toBe(1);
    }
  });

  it('accepts both ends of the range', async () => {
    const r = await projc(
      'check',
      proj(`${HEAD} i32 {\n  return sum(where(t == -2147483648, 2147483647, t), N)\n}\n`),
    );
    expect(r.err).toContain('ok:');
    expect(r.code).toBe(0);
  });
});

describe('Silent wrong integers: i32(1e10), i32(inf) on cpu and webgpu', () => {
  // Wrapped on cpu (1e10 | 0 = 1410065408), saturated on webgpu (to 2147483520).
  it('follows one rule: truncate, saturate out of range, NaN → 0', () => {
    expect(
      [1e10, Infinity, -Infinity, NaN, 2.9, -2.9, -0.5, 2 ** 31, -(2 ** 31) - 1].map(castToI32),
    ).toEqual([2147483647, 2147483647, -2147483648, 0, 2, -2, 0, 2147483647, -2147483648]);
  });

  it('gives the same values on both backends', async () => {
    const file =
      proj(`kernel k(X: f32[N, H], W: f32[V, H]) -> (a: i32, b: i32, c: i32, d: i32, e: i32) {
  l = logsumexp(X @ W.T, V) * 0 + 1
  a = max(i32(l * 1e10), N)
  b = max(i32(l * inf), N)
  c = min(i32(l * -inf), N)
  d = max(i32(l * 0 * inf), N)
  e = max(i32(l * -2.7), N)
}
`);
    const want = 'a = 2147483647\n  b = 2147483647\n  c = -2147483648\n  d = 0\n  e = -2';
    for (const backend of ['cpu', 'webgpu']) {
      const r = await projc('run', file, '--dims', 'N=3,H=4,V=5', '--backend', backend);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(want);
    }
  }, 60_000);

  it('keeps -inf and inf apart as constants (they were one node, so `x * -inf` was `x * inf`)', async () => {
    const file = proj(`kernel k(X: f32[N, H], W: f32[V, H]) -> (a: f32, b: f32) {
  l = logsumexp(X @ W.T, V) * 0 + 1
  a = max(l * inf, N)
  b = max(l * -inf, N)
}
`);
    const r = await projc('run', file, '--dims', 'N=3,H=4,V=5', '--backend', 'cpu');
    expect(r.out).toContain('a = Infinity\n  b = -Infinity');
  });
});

describe('Silent wrong integers: the API range-checks i32 tensors and scalars', () => {
  const { kernels } = compile(
    'kernel ce(X: f32[N, H], W: f32[V, H], target: i32[N], ignore_index: i32 = -100) -> f32 {\n  z = X @ W.T\n  keep = target != ignore_index\n  return sum(where(keep, logsumexp(z, V) - gather(z, target, V), 0), N)\n}\n',
  );
  const ce = kernels.get('ce');
  let rt: Runtime | undefined;
  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt?.release());
  const X = { data: new Float32Array(8), shape: [2, 4] };
  const W = { data: new Float32Array(12), shape: [3, 4] };

  it('rejects a target of 2^32 + 3 (it acted as 3), naming the input', async () => {
    if (!ce || !rt) throw new Error('setup');
    const run = rt.run(ce, { X, W, target: { data: [1, 2 ** 32 + 3], shape: [2] } });
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(
      '`target` is i32, but its value 4294967299 at index 1 is not an integer in [-2^31, 2^31)',
    );
  });

  it('rejects ignore_index: 0.5 (it acted as 0)', async () => {
    if (!ce || !rt) throw new Error('setup');
    await expect(
      rt.run(ce, { X, W, target: { data: [1, 2], shape: [2] }, ignore_index: 0.5 }),
    ).rejects.toThrow('`ignore_index` is i32, but its value 0.5 is not an integer');
  });

  it('still runs in-range values', async () => {
    if (!ce || !rt) throw new Error('setup');
    const r = await rt.run(ce, { X, W, target: { data: [1, -100], shape: [2] } });
    expect(r.outputs.get('out')?.data[0]).toBeCloseTo(Math.log(3), 5);
  });
});
