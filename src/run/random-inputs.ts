import { makeTensor, type DimSizes, type Tensor } from '../tensor/tensor.ts';
import type { IrFunction, IrParam } from '../ir/types.ts';
import { isFloat } from '../ir/types.ts';
import { mulberry32, normal } from './rng.ts';

/**
 * Seeded random inputs for every tensor parameter, so any kernel runs without a data file:
 * - floats ~ N(0, σ²) with σ = size(last dim)^(-1/4) for tensors of rank ≥ 2, so that a
 *   product `X @ W.T` over that dim has unit-variance entries (logits of an untrained head);
 *   σ = 1 for vectors;
 * - i32 tensors used as `gather` indices are uniform over the dim they index; other i32
 *   tensors are uniform over [0, 10);
 * - bools are fair coins.
 * Scalar parameters are not made up: they take their defaults (or `--set`).
 */
export function randomInputs(fn: IrFunction, sizes: DimSizes, seed: number): Map<string, Tensor> {
  const u = mulberry32(seed);
  const z = normal(u);
  const out = new Map<string, Tensor>();
  for (const p of fn.params) {
    if (p.dims.length === 0) continue;
    const t = makeTensor(p.dtype, p.dims, sizes);
    const fill = filler(fn, p, sizes, u, z);
    for (let i = 0; i < t.data.length; i++) t.data[i] = fill();
    out.set(p.name, t);
  }
  return out;
}

function filler(
  fn: IrFunction,
  p: IrParam,
  sizes: DimSizes,
  u: () => number,
  z: () => number,
): () => number {
  if (isFloat(p.dtype)) {
    const last = sizes.get(p.dims[p.dims.length - 1] ?? '') ?? 1;
    const sigma = p.dims.length >= 2 ? last ** -0.25 : 1;
    return () => z() * sigma;
  }
  if (p.dtype === 'bool') return () => (u() < 0.5 ? 1 : 0);
  const indexed = fn.nodes.find((n) => n.op === 'gather' && n.inputs[1] === p.node)?.attrs.dim;
  const range = indexed !== undefined ? (sizes.get(indexed) ?? 10) : 10;
  return () => Math.floor(u() * range);
}
