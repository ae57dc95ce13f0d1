// Shared by the GPU tests: examples as kernels, seeded inputs with ignored and
// out-of-range targets, cotangents for every result, and the comparison of a GPU result
// with the interpreter's (the oracle).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { TensorInput } from '../../src/api/tensors.ts';
import type { Cotangent } from '../../src/autodiff/differentiate.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import type { DimSizes, Tensor } from '../../src/tensor/tensor.ts';
import { isFloat, type IrFunction } from '../../src/ir/types.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { mulberry32, normal } from '../../src/run/rng.ts';
import { runCpu, type RunResult } from '../../src/run/run-cpu.ts';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));

/** Every `.proj` file of examples/, sorted, so new examples are covered automatically. */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.proj'))
    .sort();
}

/** The kernels of a source text; fails the test on any diagnostic error. */
export function kernelsOf(path: string, text: string): IrFunction[] {
  const c = compileFile({ path, text });
  const errors = c.diagnostics.filter((d) => d.severity === 'error');
  expect(errors.map((d) => d.message)).toEqual([]);
  return [...c.kernels.values()];
}

/** The kernels of an example; `storage` rewrites its bf16 tensors (e.g. to f32). */
export function exampleKernels(file: string, storage?: 'f32' | 'f16'): IrFunction[] {
  let text = readFileSync(join(EXAMPLES_DIR, file), 'utf8');
  if (storage) text = text.replaceAll('bf16[', `${storage}[`);
  return kernelsOf(file, text);
}

/**
 * Sizes for a kernel's dims: the named ones from `table`, anything else `fallback`; then
 * the signature's constraints (`S: dim = 2`, `M: dim = N`) override them.
 */
export function sizesFor(
  fn: IrFunction,
  table: Readonly<Record<string, number>>,
  fallback = 6,
): Map<string, number> {
  const sizes = new Map(fn.dims.map((d) => [d, table[d] ?? fallback]));
  for (const c of fn.dimConstraints ?? [])
    sizes.set(
      c.dim,
      typeof c.equals === 'number' ? c.equals : (sizes.get(c.equals.dim) ?? fallback),
    );
  return sizes;
}

/** The floating tensor parameters: the ones that can have a gradient. */
export function floatTensorParams(fn: IrFunction): string[] {
  return fn.params.filter((p) => p.dims.length > 0 && isFloat(p.dtype)).map((p) => p.name);
}

/** The i32 parameters that index a `gather`, and the size of the dim they index. */
function gatherIndices(fn: IrFunction, sizes: DimSizes): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of fn.params) {
    if (p.dtype !== 'i32' || p.dims.length === 0 || p.node === undefined) continue;
    const g = fn.nodes.find((n) => n.op === 'gather' && n.inputs[1] === p.node);
    if (g?.attrs.dim !== undefined) out.set(p.name, sizes.get(g.attrs.dim) ?? 0);
  }
  return out;
}

/**
 * Seeded random inputs (src/run/random-inputs.ts), then for each gather index: about
 * `ignoreFraction` of the entries set to the kernel's `ignore_index` default (when it has
 * one), and a couple out of [0, size): -1 and size (plus size + 7 when there is room).
 */
export function testInputs(
  fn: IrFunction,
  sizes: DimSizes,
  seed: number,
  opts: {
    ignoreFraction?: number;
    outOfRange?: boolean;
    /** Scalar parameters to set (as 0-dim tensors), e.g. a non-default ignore_index. */
    scalars?: Readonly<Record<string, number>>;
  } = {},
): Map<string, Tensor> {
  const inputs = randomInputs(fn, sizes, seed);
  for (const [name, v] of Object.entries(opts.scalars ?? {})) {
    const p = fn.params.find((q) => q.name === name);
    if (!p || p.dims.length) throw new Error(`${fn.name} has no scalar parameter ${name}`);
    inputs.set(name, { dtype: p.dtype, dims: [], shape: [], data: Float64Array.of(v) });
  }
  const u = mulberry32(seed ^ 0x5bd1e995);
  const ignore =
    opts.scalars?.['ignore_index'] ?? fn.params.find((p) => p.name === 'ignore_index')?.default;
  for (const [name, range] of gatherIndices(fn, sizes)) {
    const t = inputs.get(name);
    if (!t) continue;
    const data = Float64Array.from(t.data);
    const frac = opts.ignoreFraction ?? 0.15;
    if (ignore !== undefined)
      for (let i = 0; i < data.length; i++) if (u() < frac) data[i] = ignore;
    if (opts.outOfRange ?? true) {
      const bad = [-1, range, range + 7];
      for (let k = 0; k < bad.length && 2 * k + 1 < data.length; k++)
        data[(2 * k + 1) % data.length] = bad[k] ?? -1;
    }
    inputs.set(name, { ...t, data });
  }
  return inputs;
}

/** The inputs as the Runtime API takes them. */
export function apiInputs(inputs: ReadonlyMap<string, Tensor>): Record<string, TensorInput> {
  const out: Record<string, TensorInput> = {};
  for (const [k, t] of inputs)
    out[k] = t.shape.length ? { data: t.data, shape: t.shape } : (t.data[0] ?? 0);
  return out;
}

/** Cotangents in both forms: the API's (numbers or tensors) and the interpreter's. */
export interface Cotangents {
  readonly api: Record<string, number | TensorInput>;
  readonly cot: Map<string, Cotangent>;
  /** `cotangent.NAME` tensors for the interpreter. */
  readonly tensors: Map<string, Tensor>;
}

/**
 * A kernel with a lone scalar result gets none (the default 1). Otherwise every tensor
 * result gets a random tensor, and scalar results alternate between a number and a 0-dim
 * tensor, so both kinds are exercised.
 */
export function randomCotangents(fn: IrFunction, sizes: DimSizes, seed: number): Cotangents {
  const api: Record<string, number | TensorInput> = {};
  const cot = new Map<string, Cotangent>();
  const tensors = new Map<string, Tensor>();
  const node = (i: number) => fn.nodes[i];
  const lone = fn.results.length === 1 && node(fn.results[0]?.node ?? -1)?.dims.length === 0;
  if (lone) return { api, cot, tensors };
  const z = normal(mulberry32(seed));
  fn.results.forEach((r, i) => {
    const n = node(r.node);
    if (!n || !isFloat(n.dtype)) return;
    if (n.dims.length === 0 && i % 2 === 0) {
      const v = Math.round(z() * 1000) / 1000 || 0.5;
      api[r.name] = v;
      cot.set(r.name, { kind: 'const', value: v });
      return;
    }
    const shape = n.dims.map((d) => sizes.get(d) ?? 0);
    const data = Float64Array.from({ length: shape.reduce((s, x) => s * x, 1) }, () =>
      Math.fround(z()),
    );
    api[r.name] = { data, shape };
    cot.set(r.name, { kind: 'tensor' });
    tensors.set(`cotangent.${r.name}`, { dtype: 'f32', dims: n.dims, shape, data });
  });
  return { api, cot, tensors };
}

/** The interpreter on the same inputs (plus the cotangent tensors). */
export function oracle(
  fn: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  grad: readonly string[] = [],
  cot?: Cotangents,
): RunResult {
  const all = new Map(inputs);
  for (const [k, t] of cot?.tensors ?? []) all.set(k, t);
  return runCpu({ fn, inputs: all, sizes, grad, cotangents: cot?.cot ?? new Map() });
}

/** The largest relative error seen by `expectClose`, per label, for the reports. */
export const worst = new Map<string, number>();

export interface Tolerance {
  /** max|a−b| / max|b| (default 1e-4). */
  readonly rtol?: number;
  /** Added to rtol·max|b| for each element (default 1e-6). */
  readonly atol?: number;
  /**
   * The smallest max|b| the relative error is taken against (default 0). Where a result is
   * tiny because exact terms cancel (e.g. softmax − onehot over a vocabulary of 1), f32
   * rounding of the cancelled terms is all that is left: pass atol / rtol.
   */
  readonly scaleFloor?: number;
  /** Key of `worst`. */
  readonly label?: string;
}

/**
 * `got` matches `want`: same shape, NaN where `want` is NaN, equal infinities, and
 * max|a−b|/max|b| ≤ rtol with each |a−b| ≤ rtol·max|b| + atol. Returns the relative error.
 */
export function expectClose(
  got: Tensor | undefined,
  want: Tensor | undefined,
  what: string,
  tol: Tolerance = {},
): number {
  const { rtol = 1e-4, atol = 1e-6, scaleFloor = 0, label = 'all' } = tol;
  expect(got, `${what}: missing on the GPU`).toBeDefined();
  expect(want, `${what}: missing in the interpreter`).toBeDefined();
  if (!got || !want) return Infinity;
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  let scale = 0;
  for (const v of want.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  let maxDiff = 0;
  const bad: string[] = [];
  for (let i = 0; i < want.data.length; i++) {
    const a = got.data[i] ?? NaN;
    const b = want.data[i] ?? NaN;
    if (Number.isNaN(b) || !Number.isFinite(b)) {
      if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b)))
        bad.push(`[${i}] got ${a}, want ${b}`);
      continue;
    }
    const d = Math.abs(a - b);
    if (!(d <= rtol * scale + atol)) bad.push(`[${i}] got ${a}, want ${b} (|diff| ${d})`);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
  }
  const denom = Math.max(scale, scaleFloor);
  const rel = denom > 0 ? maxDiff / denom : maxDiff;
  worst.set(label, Math.max(worst.get(label) ?? 0, rel));
  expect(bad.slice(0, 5), `${what}: ${bad.length} elements differ (scale ${scale})`).toEqual([]);
  expect(rel, `${what}: relative error`).toBeLessThanOrEqual(rtol);
  return rel;
}

/** Every result and gradient of `got` against `want`. */
export function expectRunClose(
  got: { outputs: ReadonlyMap<string, Tensor>; grads: ReadonlyMap<string, Tensor> },
  want: RunResult,
  what: string,
  tol: Tolerance = {},
): void {
  expect([...got.outputs.keys()].sort(), `${what}: results`).toEqual(
    [...want.outputs.keys()].sort(),
  );
  expect([...got.grads.keys()].sort(), `${what}: gradients`).toEqual([...want.grads.keys()].sort());
  for (const [k, t] of want.outputs) expectClose(got.outputs.get(k), t, `${what} ${k}`, tol);
  for (const [k, t] of want.grads) expectClose(got.grads.get(k), t, `${what} grad.${k}`, tol);
}
