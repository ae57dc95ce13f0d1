// `projc run --backend cpu`: inputs from safetensors, --set, --grad, --cotangent, --out,
// --json, and every bad-input case with its message.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import {
  decodeToF64,
  encodeFromNumbers,
  readSafetensors,
  writeSafetensors,
  type StDtype,
  type StTensor,
} from '../../src/io/safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'projc-run-'));
const CE = 'examples/cross_entropy.proj';

/** `projc ...`; `run` defaults to the CPU backend here (the WebGPU one is tested below and in test/runtime). */
async function projc(...args: string[]) {
  let out = '';
  let err = '';
  const argv =
    args[0] === 'run' && !args.includes('--backend') ? [...args, '--backend', 'cpu'] : args;
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

function t(name: string, dtype: StDtype, shape: number[], f: (i: number) => number): StTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return encodeFromNumbers(
    Array.from({ length: n }, (_, i) => f(i)),
    dtype,
    shape,
    name,
  );
}

let fileNo = 0;
function inputs(...tensors: StTensor[]): string {
  const path = join(dir, `in${fileNo++}.safetensors`);
  writeFileSync(path, writeSafetensors(tensors));
  return path;
}

const N = 6;
const H = 4;
const V = 9;
const X = t('X', 'BF16', [N, H], (i) => Math.sin(i));
const W = t('W', 'BF16', [V, H], (i) => Math.cos(i) / 2);
const target = t('target', 'I64', [N], (i) => (i * 5) % V);

describe('projc run --backend cpu', () => {
  it('runs from a safetensors file and writes results and gradients', async () => {
    const out = join(dir, 'out.safetensors');
    const r = await projc(
      'run',
      CE,
      '--inputs',
      inputs(X, W, target),
      '--grad',
      'X,W',
      '--out',
      out,
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.backend).toBe('cpu');
    expect(typeof j.outputs.out).toBe('number');
    expect(j.outputs['grad.X']).toEqual({ shape: [N, H] });
    expect(j.outputs['grad.W']).toEqual({ shape: [V, H] });
    expect(j).toHaveProperty('chunkRows', N);
    for (const k of ['chunks', 'passes', 'peakBytes', 'ms']) expect(j).toHaveProperty(k);
    const f = readSafetensors(readFileSync(out), out);
    expect([...f.tensors.keys()].sort()).toEqual(['grad.W', 'grad.X', 'out']);
    expect(f.tensors.get('out')?.shape).toEqual([]);
    expect(f.tensors.get('grad.X')?.dtype).toBe('F32');
    expect(decodeToF64(f.tensors.get('out') as StTensor, out)[0]).toBeCloseTo(j.outputs.out, 5);
  });

  it('takes scalars from --set, 0-dim tensors and defaults, in that order', async () => {
    const file = inputs(
      X,
      W,
      target,
      t('label_smoothing', 'F32', [], () => 0.5),
    );
    const fromFile = await projc('run', CE, '--inputs', file, '--json');
    const fromSet = await projc(
      'run',
      CE,
      '--inputs',
      file,
      '--set',
      'label_smoothing=0',
      '--json',
    );
    const fromDefault = await projc('run', CE, '--inputs', inputs(X, W, target), '--json');
    expect(JSON.parse(fromSet.out).outputs.out).toBe(JSON.parse(fromDefault.out).outputs.out);
    expect(JSON.parse(fromFile.out).outputs.out).not.toBe(JSON.parse(fromDefault.out).outputs.out);
  });

  it('runs on seeded random inputs with --dims', async () => {
    const a = await projc('run', CE, '--dims', 'N=5,H=3,V=7', '--seed', '3', '--json');
    const b = await projc('run', CE, '--dims', 'N=5,H=3,V=7', '--seed', '3', '--json');
    const c = await projc('run', CE, '--dims', 'N=5,H=3,V=7', '--seed', '4', '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out).outputs.out).toBe(JSON.parse(b.out).outputs.out);
    expect(JSON.parse(a.out).outputs.out).not.toBe(JSON.parse(c.out).outputs.out);
  });

  it('takes a tensor cotangent from the inputs file', async () => {
    const src = 'examples/token_entropy.proj';
    const Xb = t('X', 'F32', [2, 3, H], (i) => Math.sin(i));
    const Wb = t('W', 'F32', [V, H], (i) => Math.cos(i));
    const tg = t('target', 'I32', [2, 3], (i) => i);
    const g = t('g', 'F32', [2, 3], (i) => i - 2);
    const text = readFileSync(src, 'utf8').replaceAll('bf16[', 'f32[');
    const prog = join(dir, 'ent.proj');
    writeFileSync(prog, text);
    const r = await projc(
      'run',
      prog,
      '--inputs',
      inputs(Xb, Wb, tg, g),
      '--grad',
      'X',
      '--cotangent',
      'logp=g',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).gradNorms['grad.X']).toBeGreaterThan(0);
    const bad = await projc(
      'run',
      prog,
      '--inputs',
      inputs(
        Xb,
        Wb,
        tg,
        t('g', 'F32', [3], () => 1),
      ),
      '--grad',
      'X',
      '--cotangent',
      'logp=g',
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(
      /cotangent `g` for result `logp` has shape \[3\], but `logp` is f32\[B, T\] = \[2, 3\]/,
    );
  });

  it('warns when every cotangent is zero', async () => {
    const r = await projc('run', 'examples/z_loss.proj', '--dims', 'N=4,H=3,V=5', '--grad', 'X');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/every result of `cross_entropy_z_loss` has cotangent 0/);
    expect(r.err).toMatch(/--cotangent loss=1/);
  });
});

describe('projc run: bad inputs are named precisely', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'a missing tensor',
      () => ['--inputs', inputs(X, target)],
      /has no tensor `W` \(declared bf16\[V, H\]\)/,
    ],
    [
      'a wrong dtype',
      () => [
        '--inputs',
        inputs(
          t('X', 'F32', [N, H], () => 1),
          W,
          target,
        ),
      ],
      /tensor `X` in .* is F32, but the parameter is declared bf16\[N, H\][\s\S]*declare it as `X: f32\[N, H\]`/,
    ],
    [
      'dims that disagree',
      () => [
        '--inputs',
        inputs(
          X,
          W,
          t('target', 'I64', [N + 1], () => 0),
        ),
      ],
      /dim `N` is 6 in `X` \(dim 0\) but 7 in `target` \(dim 0\)/,
    ],
    [
      'a wrong rank',
      () => [
        '--inputs',
        inputs(
          t('X', 'BF16', [N, H, 1], () => 1),
          W,
          target,
        ),
      ],
      /`X`/,
    ],
    [
      'an I64 index out of i32 range',
      () => [
        '--inputs',
        inputs(
          X,
          W,
          t('target', 'I64', [N], (i) => (i === 2 ? 2 ** 40 : 0)),
        ),
      ],
      /value 1099511627776 at index \[2\] does not fit in i32/,
    ],
    [
      'a truncated file',
      () => {
        const p = inputs(X, W, target);
        writeFileSync(p, readFileSync(p).subarray(0, 40));
        return ['--inputs', p];
      },
      /in\d+\.safetensors/,
    ],
    [
      'a gradient of an integer parameter',
      () => ['--inputs', inputs(X, W, target), '--grad', 'target'],
      /parameter `target` is i32\[N\]; only floating parameters have gradients/,
    ],
    [
      'a gradient of an unknown parameter',
      () => ['--inputs', inputs(X, W, target), '--grad', 'Y'],
      /has no parameter `Y`/,
    ],
    [
      '--set of an unknown scalar',
      () => ['--inputs', inputs(X, W, target), '--set', 'temp=1'],
      /has no scalar parameter `temp`/,
    ],
    [
      '--set of a non-integer i32',
      () => ['--inputs', inputs(X, W, target), '--set', 'ignore_index=0.5'],
      /is not an i32/,
    ],
    [
      '--set of a non-number',
      () => ['--inputs', inputs(X, W, target), '--set', 'label_smoothing=abc'],
      /`abc` is not a number/,
    ],
    [
      '--cotangent of an unknown result',
      () => ['--inputs', inputs(X, W, target), '--cotangent', 'loss=1'],
      /has no result `loss`/,
    ],
    [
      '--cotangent naming a missing tensor',
      () => ['--inputs', inputs(X, W, target), '--cotangent', 'out=g'],
      /`g` is neither a number nor a tensor/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const out = join(dir, `never-${fileNo}.safetensors`);
      const r = await projc('run', CE, ...args(), '--out', out);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
      expect(existsSync(out)).toBe(false); // no partial output
    });
  }

  it('reports tensors nobody uses as a warning', async () => {
    const r = await projc(
      'run',
      CE,
      '--inputs',
      inputs(
        X,
        W,
        target,
        t('extra', 'F32', [2], () => 0),
      ),
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning\[P0406\]: 1 tensor in .* not used by `cross_entropy`: extra/);
  });

  it('treats bad usage as exit 2', async () => {
    expect((await projc('run', CE)).code).toBe(2);
    expect((await projc('run', CE, '--dims', 'N=2', '--inputs', 'x')).code).toBe(2);
    expect((await projc('run', CE, '--dims', 'N=2,H=2')).err).toMatch(/missing V/);
    expect((await projc('run', CE, '--dims', 'N=0,H=2,V=2')).code).toBe(2);
    expect((await projc('run', CE, '--backend', 'tpu', '--dims', 'N=2,H=2,V=2')).code).toBe(2);
  });
});

describe('projc run --backend webgpu (the default)', () => {
  it('matches the CPU backend, reports the chunking, and writes the same outputs', async () => {
    const file = inputs(X, W, target);
    const gpu = await main(
      ['run', CE, '--inputs', file, '--grad', 'X,W', '--chunk-rows', '4', '--json'],
      {
        out: (t) => (gpuOut += t),
        err: () => undefined,
      },
    );
    expect(gpu).toBe(0);
    const g = JSON.parse(gpuOut);
    const c = JSON.parse((await projc('run', CE, '--inputs', file, '--grad', 'X,W', '--json')).out);
    expect(g.backend).toMatch(/^webgpu/);
    expect(g.chunkRows).toBe(4);
    expect(g.chunks).toBe(2);
    // The count of kept rows is a pre-pass over all rows; loss and gradients take one sweep.
    expect(g.passes).toBe(1);
    expect(g.prePasses).toBe(1);
    expect(g.peakBytes).toBeGreaterThan(0);
    expect(Math.abs(g.outputs.out - c.outputs.out) / Math.abs(c.outputs.out)).toBeLessThan(1e-5);
    for (const k of ['grad.X', 'grad.W'])
      expect(Math.abs(g.gradNorms[k] - c.gradNorms[k]) / c.gradNorms[k]).toBeLessThan(1e-5);
  });

  it('--matmul-tiles tune runs the tuned tiles with the same results as the portable ones', async () => {
    const file = inputs(X, W, target);
    const json = async (...extra: string[]) => {
      let out = '';
      const code = await main(['run', CE, '--inputs', file, '--grad', 'X,W', '--json', ...extra], {
        out: (t) => (out += t),
        err: () => undefined,
      });
      expect(code).toBe(0);
      return JSON.parse(out);
    };
    const portable = await json();
    const tuned = await json('--matmul-tiles', 'tune');
    expect(Math.abs(tuned.outputs.out - portable.outputs.out)).toBeLessThan(
      1e-5 * Math.abs(portable.outputs.out),
    );
    for (const k of ['grad.X', 'grad.W'])
      expect(Math.abs(tuned.gradNorms[k] - portable.gradNorms[k])).toBeLessThan(
        1e-5 * portable.gradNorms[k],
      );
    const bad = await projc('run', CE, '--dims', 'N=8,H=4,V=64', '--matmul-tiles', 'fast');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--matmul-tiles takes `tune` or `portable`, got `fast`');
  });

  it('rejects a memory budget too small for one row, and bad --chunk-rows', async () => {
    const r = await main(['run', CE, '--dims', 'N=8,H=4,V=64', '--memory-budget', '1KiB'], {
      out: () => undefined,
      err: (t) => (budgetErr += t),
    });
    expect(r).toBe(1);
    expect(budgetErr).toMatch(/too small for even one row/);
    expect(
      (await projc('run', CE, '--dims', 'N=8,H=4,V=64', '--backend', 'webgpu', '--chunk-rows', '0'))
        .code,
    ).toBe(2);
    expect(
      (
        await projc(
          'run',
          CE,
          '--dims',
          'N=8,H=4,V=64',
          '--backend',
          'webgpu',
          '--memory-budget',
          'lots',
        )
      ).code,
    ).toBe(2);
  });
});

let gpuOut = '';
let budgetErr = '';
