import { InternalError } from '../diagnostics/diagnostic.ts';
import type { DType, Dim } from '../ir/types.ts';

/** Sizes bound to dim names at run time. */
export type DimSizes = ReadonlyMap<Dim, number>;

/**
 * A value of the CPU reference interpreter: row-major over `dims`, every element a float64
 * (i32 values are integers, bools are 0/1).
 */
export interface Tensor {
  readonly dtype: DType;
  readonly dims: readonly Dim[];
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function shapeOf(dims: readonly Dim[], sizes: DimSizes): number[] {
  return dims.map((d) => {
    const n = sizes.get(d);
    if (n === undefined) throw new InternalError(`dim ${d} has no size`);
    return n;
  });
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function makeTensor(dtype: DType, dims: readonly Dim[], sizes: DimSizes): Tensor {
  const shape = shapeOf(dims, sizes);
  return { dtype, dims, shape, data: new Float64Array(numel(shape)) };
}

export function scalarTensor(dtype: DType, value: number): Tensor {
  return { dtype, dims: [], shape: [], data: Float64Array.of(value) };
}

/**
 * For each dim of `outDims`, the stride of `t` along it (0 where `t` lacks the dim): the
 * index map of broadcasting by name.
 */
export function stridesIn(t: Tensor, outDims: readonly Dim[]): number[] {
  const own: number[] = [];
  let s = 1;
  for (let i = t.dims.length - 1; i >= 0; i--) {
    own[i] = s;
    s *= t.shape[i] ?? 1;
  }
  return outDims.map((d) => {
    const i = t.dims.indexOf(d);
    return i < 0 ? 0 : (own[i] ?? 0);
  });
}

/**
 * Calls `visit(outIndex, offsets)` for every element of a tensor of `shape`, where
 * `offsets[k]` is the flat offset into the k-th operand given its `strides` over the same
 * dims. An odometer, so no per-element allocation.
 */
export function forEachIndex(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  visit: (flat: number, offsets: readonly number[]) => void,
): void {
  const rank = shape.length;
  const total = numel(shape);
  const counter = new Array<number>(rank).fill(0);
  const offsets = strides.map(() => 0);
  for (let flat = 0; flat < total; flat++) {
    visit(flat, offsets);
    for (let ax = rank - 1; ax >= 0; ax--) {
      const c = (counter[ax] ?? 0) + 1;
      if (c < (shape[ax] ?? 1)) {
        counter[ax] = c;
        for (let k = 0; k < strides.length; k++)
          offsets[k] = (offsets[k] ?? 0) + (strides[k]?.[ax] ?? 0);
        break;
      }
      counter[ax] = 0;
      for (let k = 0; k < strides.length; k++)
        offsets[k] = (offsets[k] ?? 0) - (c - 1) * (strides[k]?.[ax] ?? 0);
    }
  }
}

/** Reorders/broadcasts `t` to `outDims` (every dim of `t` must be in `outDims`). */
export function broadcastTo(t: Tensor, outDims: readonly Dim[], sizes: DimSizes): Tensor {
  const out = makeTensor(t.dtype, outDims, sizes);
  const st = stridesIn(t, outDims);
  forEachIndex(out.shape, [st], (flat, [o]) => {
    out.data[flat] = t.data[o ?? 0] ?? 0;
  });
  return out;
}
