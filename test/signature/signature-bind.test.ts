// Dim constraints and optional tensors at bind time, on both backends and the CLI: a size
// that breaks `N: dim = M` or `S: dim = 2` is P0430 naming the tensor and dim; an absent
// optional tensor reads as zeros with `present(b)` false, and has no gradient (P0431).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { main } from '../../src/cli/main.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { bindDims } from '../../src/interp/bind.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { runCpu } from '../../src/run/run-cpu.ts';

const SOURCE = `kernel pair(
  A: f32[M, H], B: f32[N, H], r: f32[P, S], b: f32[H]?,
  S: dim = 2, N: dim = M,
) -> f32 {
  shifted = B + b
  return sum(sum(A, M) * sum(shifted, N)) + sum(r) + where(present(b), 100.0, 0.0)
}
`;

function kernel(): IrFunction {
  const c = compileFile({ path: 'pair.proj', text: SOURCE });
  const k = c.kernels.get('pair');
  if (!k) throw new Error(c.diagnostics.map((d) => d.message).join('; '));
  return k;
}

const t = (shape: number[], f: (i: number) => number) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, (_, i) => f(i)) };
};

function inputs(m: number, n: number, s: number, withBias: boolean) {
  return {
    A: t([m, 3], (i) => 0.1 * i),
    B: t([n, 3], (i) => 1 - 0.05 * i),
    r: t([2, s], (i) => i),
    ...(withBias ? { b: t([3], (i) => i + 1) } : {}),
  };
}

function cpuTensors(k: IrFunction, ins: Record<string, { shape: number[]; data: Float64Array }>) {
  const tensors = new Map<string, Tensor>();
  for (const [name, v] of Object.entries(ins)) {
    const p = k.params.find((q) => q.name === name);
    tensors.set(name, { dtype: 'f32', dims: p?.dims ?? [], shape: v.shape, data: v.data });
  }
  return tensors;
}

function runOnCpu(k: IrFunction, ins: ReturnType<typeof inputs>, grad: string[] = []) {
  const tensors = cpuTensors(k, ins);
  const sizes = bindDims(k, new Map([...tensors].map(([n, x]) => [n, x.shape])));
  return runCpu({ fn: k, inputs: tensors, sizes, grad, cotangents: new Map() });
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return `${e.diagnostics[0]?.code}: ${e.diagnostics[0]?.message}`;
    throw e;
  }
  return undefined;
}

/** Column sums Σ_m x[m, h] of a [rows, 3] tensor. */
const colSums = (x: Float64Array) =>
  [0, 1, 2].map((h) => x.reduce((s, v, i) => (i % 3 === h ? s + v : s), 0));

/** Σ_h (Σ_m A[m, h])·(Σ_n B[n, h] + N·b[h]) + Σ r (+ 100 when b is given), in float64. */
function expected(ins: ReturnType<typeof inputs>): number {
  const b = ins.b?.data ?? new Float64Array(3);
  const a = colSums(ins.A.data);
  const bb = colSums(ins.B.data);
  const n = ins.B.shape[0] ?? 0;
  let s = 0;
  for (let h = 0; h < 3; h++) s += (a[h] ?? 0) * ((bb[h] ?? 0) + n * (b[h] ?? 0));
  for (const v of ins.r.data) s += v;
  return s + ('b' in ins ? 100 : 0);
}

describe('bind time on the CPU interpreter', () => {
  it('P0430 names the dim, the tensor and the constraint', () => {
    const k = kernel();
    expect(codeOf(() => runOnCpu(k, inputs(4, 5, 2, true)))).toBe(
      'P0430: dim `N` is 5 in `B` (dim 0), but the signature requires `N: dim = M` and `M` is 4 in `A` (dim 0)',
    );
    expect(codeOf(() => runOnCpu(k, inputs(4, 4, 3, true)))).toBe(
      'P0430: dim `S` is 3 in `r` (dim 1), but the signature requires `S: dim = 2`',
    );
  });

  it('runs when the constraints hold, with and without the optional tensor', () => {
    const k = kernel();
    for (const withBias of [true, false]) {
      const ins = inputs(4, 4, 2, withBias);
      const out = runOnCpu(k, ins).outputs.get('out')?.data[0];
      // Inputs are rounded to f32 as stored, so not to float64 precision.
      expect(out).toBeCloseTo(expected(ins), 4);
    }
  });

  it('P0431: no gradient for an absent optional tensor; a given one has its gradient', () => {
    const k = kernel();
    expect(codeOf(() => runOnCpu(k, inputs(4, 4, 2, false), ['A', 'b']))).toMatch(
      /^P0431: no gradient for `b`/,
    );
    const g = runOnCpu(k, inputs(4, 4, 2, true), ['b']).grads.get('b');
    // d/db[h] = N · Σ_m A[m, h]
    const a = colSums(inputs(4, 4, 2, true).A.data);
    a.forEach((x, h) => expect(g?.data[h]).toBeCloseTo(4 * x, 5));
  });
});

describe('bind time on WebGPU', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt?.release());

  it('P0430 from Runtime.run, before anything runs', async () => {
    await expect(rt.run(kernel(), inputs(4, 5, 2, true))).rejects.toMatchObject({
      diagnostics: [{ code: 'P0430' }],
    });
  });

  it('an absent optional tensor reads as zeros, present(b) false; P0431 for its gradient', async () => {
    const k = kernel();
    for (const withBias of [true, false]) {
      const ins = inputs(4, 4, 2, withBias);
      const r = await rt.run(k, ins, { grad: ['A'] });
      expect(r.outputs.get('out')?.data[0]).toBeCloseTo(expected(ins), 3);
      const cpu = runOnCpu(k, ins, ['A']).grads.get('A')?.data ?? [];
      const gpu = r.grads.get('A')?.data ?? [];
      for (let i = 0; i < cpu.length; i++) expect(gpu[i]).toBeCloseTo(cpu[i] ?? NaN, 5);
    }
    await expect(rt.run(k, inputs(4, 4, 2, false), { grad: ['b'] })).rejects.toMatchObject({
      diagnostics: [{ code: 'P0431' }],
    });
  });
});

describe('bind time on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'projc-sig-'));
  const file = join(dir, 'pair.proj');
  writeFileSync(file, SOURCE);
  async function projc(...argv: string[]) {
    let err = '';
    const code = await main(argv, { out: () => {}, err: (s) => void (err += s) });
    return { code, err };
  }

  it.each(['cpu', 'webgpu'])('P0430 with exit 1 on --backend %s', async (backend) => {
    const r = await projc('run', file, '--dims', 'M=4,N=3,H=3,P=2,S=2', '--backend', backend);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'error[P0430]: dim `N` is 3 given explicitly, but the signature requires `N: dim = M` and `M` is 4 given explicitly',
    );
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('an absent optional tensor through `projc run --inputs`', () => {
  // The bf16 Liger fixture has no `bias` tensor: Liger's bias=None.
  const fixture = 'test/fixtures/losses/lang/liger_nobias_bf16.safetensors';
  async function run(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  }

  it.each(['cpu', 'webgpu'])('runs on --backend %s with the bias left out', async (backend) => {
    const r = await run(
      'run',
      'examples/ce_liger.proj',
      '--inputs',
      fixture,
      '--grad',
      'X,W',
      '--backend',
      backend,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { outputs: { out: number } };
    // expected.out of the fixture (PyTorch, float64): 7.2567496...
    expect(out.outputs.out).toBeCloseTo(7.2567496, 5);
  });

  it('P0431 with exit 1 for --grad bias', async () => {
    const r = await run(
      'run',
      'examples/ce_liger.proj',
      '--inputs',
      fixture,
      '--grad',
      'X,bias',
      '--backend',
      'cpu',
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'error[P0431]: no gradient for `bias`: the optional tensor was not given',
    );
  });
});

describe('constraints supply sizes no input gives', () => {
  it('a chain N = M = K with K fixed sizes an absent optional tensor', () => {
    const c = compileFile({
      path: 'chain.proj',
      text: 'kernel k(x: f32[K, H], y: f32[M, H]?, z: f32[N]?, N: dim = M, M: dim = K, K: dim = 3) -> f32 {\n  return sum(x) + sum(y) + sum(z)\n}\n',
    });
    const k = c.kernels.get('k');
    if (!k) throw new Error(c.diagnostics.map((d) => d.message).join('; '));
    const sizes = bindDims(k, new Map([['x', [3, 2]]]));
    expect(Object.fromEntries(sizes)).toEqual({ K: 3, H: 2, M: 3, N: 3 });
    expect(codeOf(() => bindDims(k, new Map([['x', [4, 2]]])))).toBe(
      'P0430: dim `K` is 4 in `x` (dim 0), but the signature requires `K: dim = 3`',
    );
  });
});
