import { mulberry32 } from '../../src/run/rng.ts';
import { differentiate, type Cotangent } from '../../src/autodiff/differentiate.ts';
import { interpret } from '../../src/interp/interpret.ts';
import { shapeOf, numel, type DimSizes, type Tensor } from '../../src/tensor/tensor.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { verify } from '../../src/graph/verify.ts';
import type { DType, Dim, IrFunction, IrParam } from '../../src/ir/types.ts';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export const rng = mulberry32;

/** A graph under construction plus its parameter declarations. */
export class TestGraph {
  readonly b = new GraphBuilder();
  private readonly params: IrParam[] = [];

  param(name: string, dtype: DType, dims: readonly Dim[], dflt?: number): number {
    const node = this.b.param(name, dtype, dims);
    this.params.push({ name, dtype, dims, node, ...(dflt === undefined ? {} : { default: dflt }) });
    return node;
  }

  /** Declares a parameter the graph never reads. */
  unused(name: string, dtype: DType, dims: readonly Dim[]): void {
    this.params.push({ name, dtype, dims });
  }

  fn(results: Readonly<Record<string, number>>, labels?: ReadonlyMap<number, string>): IrFunction {
    const dims: Dim[] = [];
    for (const p of this.params) for (const d of p.dims) if (!dims.includes(d)) dims.push(d);
    return {
      name: 'k',
      params: [...this.params],
      results: Object.entries(results).map(([name, node]) => ({ name, node })),
      nodes: [...this.b.nodes],
      dims,
      ...(labels ? { labels } : {}),
    };
  }
}

export function tensor(
  dtype: DType,
  dims: readonly Dim[],
  sizes: DimSizes,
  data: readonly number[],
): Tensor {
  const shape = shapeOf(dims, sizes);
  if (numel(shape) !== data.length) throw new Error(`${data.length} values for [${shape}]`);
  return { dtype, dims, shape, data: Float64Array.from(data) };
}

export type Gen = (rand: () => number) => number;

/** A tensor of `dims` filled by `gen`. */
export function randomTensor(
  dtype: DType,
  dims: readonly Dim[],
  sizes: DimSizes,
  gen: Gen,
  rand: () => number,
): Tensor {
  const n = numel(shapeOf(dims, sizes));
  return tensor(
    dtype,
    dims,
    sizes,
    Array.from({ length: n }, () => gen(rand)),
  );
}

export interface GradCheck {
  /** `grad.X` from the joint function, by parameter name. */
  readonly analytic: Map<string, Float64Array>;
  /** Central differences of L = Σ_r ⟨cotangent_r, result_r⟩, by parameter name. */
  readonly numeric: Map<string, Float64Array>;
}

/**
 * Differentiates `fn` and compares its gradients with central finite differences in
 * float64 (à la JAX's check_grads): tensor cotangents are random, so L is a random
 * projection of the results. Everything is evaluated without storage rounding.
 */
export function checkGrads(
  fn: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  wrt: readonly string[],
  cotangents: ReadonlyMap<string, Cotangent>,
  seed = 7,
  eps = 1e-6,
): GradCheck {
  const joint = differentiate(fn, { wrt, cotangents });
  verify(joint);
  const rand = rng(seed);
  // The cotangent of each result as a tensor over its dims (the defaults of spec §7).
  const weights = new Map<string, Tensor>();
  const jointInputs = new Map(inputs);
  for (const r of fn.results) {
    const dims = fn.nodes[r.node]?.dims ?? [];
    const c = cotangents.get(r.name);
    const lone = fn.results.length === 1 && dims.length === 0;
    const k: Cotangent = c ?? (lone ? { kind: 'const', value: 1 } : { kind: 'zero' });
    const n = numel(shapeOf(dims, sizes));
    const w =
      k.kind === 'tensor'
        ? randomTensor('f32', dims, sizes, (u) => 2 * u() - 1, rand)
        : tensor('f32', dims, sizes, new Array<number>(n).fill(k.kind === 'const' ? k.value : 0));
    weights.set(r.name, w);
    if (k.kind === 'tensor') jointInputs.set(`cotangent.${r.name}`, w);
  }
  const out = interpret(joint, jointInputs, sizes, { exact: true });
  const loss = (ins: ReadonlyMap<string, Tensor>): number => {
    let l = 0;
    for (const [name, t] of interpret(fn, ins, sizes, { exact: true })) {
      const w = weights.get(name);
      t.data.forEach((v, i) => (l += (w?.data[i] ?? 0) * v));
    }
    return l;
  };
  const analytic = new Map<string, Float64Array>();
  const numeric = new Map<string, Float64Array>();
  for (const name of wrt) {
    const g = out.get(`grad.${name}`);
    const x = inputs.get(name);
    if (!g || !x) throw new Error(`no grad.${name} or no input ${name}`);
    analytic.set(name, g.data);
    const fd = new Float64Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const at = (delta: number): number => {
        const data = Float64Array.from(x.data);
        data[i] = (data[i] ?? 0) + delta;
        return loss(new Map(inputs).set(name, { ...x, data }));
      };
      fd[i] = (at(eps) - at(-eps)) / (2 * eps);
    }
    numeric.set(name, fd);
  }
  return { analytic, numeric };
}

/** Indices where |a − n| > atol + rtol·max(|a|, |n|), formatted for a failure message. */
export function mismatches(c: GradCheck, rtol = 1e-6, atol = 1e-7): string[] {
  const bad: string[] = [];
  for (const [name, a] of c.analytic) {
    const n = c.numeric.get(name) ?? new Float64Array();
    a.forEach((v, i) => {
      const w = n[i] ?? NaN;
      if (!(Math.abs(v - w) <= atol + rtol * Math.max(Math.abs(v), Math.abs(w))))
        bad.push(`${name}[${i}]: analytic ${v}, numeric ${w}`);
    });
  }
  return bad;
}
