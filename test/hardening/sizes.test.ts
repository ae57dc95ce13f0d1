// Issue 13: sizes past what the host or the device holds are P0506 diagnostics naming the
// tensor or buffer and its dims, not `Invalid typed array length` (exit 3).
import { describe, expect, it } from 'vitest';
import { projc } from './helpers.ts';

const CE = 'examples/cross_entropy.proj';

describe('Stack traces: --dims N=1000000000000,H=4,V=4', () => {
  for (const backend of ['cpu', 'webgpu'])
    it(`names the tensor and its dims on ${backend}`, async () => {
      const r = await projc('run', CE, '--dims', 'N=1000000000000,H=4,V=4', '--backend', backend);
      expect(r.err).toContain(
        'error[P0506]: input `X` bf16[N, H] would have 4000000000000 elements (N=1000000000000, H=4): more than a host array holds',
      );
      expect(r.err).not.toMatch(/Invalid typed array length|\n\s+at /);
      expect(r.code).toBe(1);
    });

  it('names a computed value the cpu backend would hold whole', async () => {
    const r = await projc('run', CE, '--dims', 'N=100000000,H=4,V=64', '--backend', 'cpu');
    expect(r.err).toContain('error[P0506]: value `z` (%5 dot) f32[N, V] would have 6400000000');
    expect(r.code).toBe(1);
  });
});

describe('Unclear or silent: plan at N=2^32 passes maxBufferSize', () => {
  it('is caught by plan, naming the buffer', async () => {
    const r = await projc('plan', CE, '--dims', 'N=4294967296,H=4096,V=128256', '--grad', 'X,W');
    expect(r.err).toContain(
      "error[P0506]: buffer `in.X` (bf16[N=4294967296, H=4096]) needs 35184372088832 bytes, over the device's maxBufferSize of 4294967292 bytes",
    );
    expect(r.code).toBe(1);
    const json = await projc('plan', CE, '--dims', 'N=4294967296,H=4,V=8', '--json');
    expect(json.err).toContain('buffer `in.X`');
    expect(json.code).toBe(1);
  });

  it('still plans the 16K × 128K seed case and a chunk of several row dims', async () => {
    const seed = await projc('plan', CE, '--dims', 'N=16384,H=4096,V=128256', '--grad', 'X,W');
    expect(seed.code).toBe(0);
    const multi = await projc(
      'plan',
      'examples/token_entropy.proj',
      '--dims',
      'B=4,T=1024,H=2048,V=32000',
      '--grad',
      'X,W',
    );
    expect(multi.err).toBe('');
    expect(multi.code).toBe(0);
  });
});
