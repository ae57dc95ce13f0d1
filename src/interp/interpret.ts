import { InternalError, UserError } from '../diagnostics/diagnostic.ts';
import { isFloat, type DType, type IrFunction, type IrParam, type Node } from '../ir/types.ts';
import { castFn } from '../ops/cast-eval.ts';
import { OPS } from '../ops/registry.ts';
import { broadcastTo, shapeOf, type DimSizes, type Tensor } from '../tensor/tensor.ts';

export interface InterpretOptions {
  /**
   * Skip the float rounding of parameters and constants, so that everything is float64
   * (finite-difference checks need perturbations far below f32 precision). Default false.
   */
  readonly exact?: boolean;
}

/**
 * The CPU reference interpreter: evaluates every node in id order with its op record's
 * float64 `eval` and returns each result by name. Parameters are read from `inputs` and
 * rounded to their storage dtype as the GPU will see them (bf16, f16, f32 rounding; i32
 * truncated to 32-bit integers; bool 0/1), so callers may pass unrounded doubles. Scalar
 * parameters absent from `inputs` take their default. f32 constants are rounded to f32,
 * as a WGSL literal is.
 */
export function interpret(
  fn: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  opts: InterpretOptions = {},
): Map<string, Tensor> {
  const params = new Map(fn.params.map((p) => [p.name, p]));
  const store = (d: DType) => (opts.exact && isFloat(d) ? (x: number) => x : storageRounding(d));
  const values: Tensor[] = [];
  const value = (id: number): Tensor => {
    const t = values[id];
    if (!t) throw new InternalError(`%${id} read before it is evaluated`);
    return t;
  };
  for (const n of fn.nodes) {
    if (n.op === 'param') {
      const p = params.get(n.attrs.name ?? '');
      if (!p) throw new InternalError(`%${n.id} reads undeclared parameter ${n.attrs.name}`);
      values[n.id] = rounded(loadParam(p, n, inputs, sizes), store(p.dtype));
    } else {
      const t = OPS[n.op].eval(n.inputs.map(value), n, sizes);
      values[n.id] = n.op === 'const' ? rounded(t, store(n.dtype)) : t;
    }
  }
  return new Map(fn.results.map((r) => [r.name, value(r.node)]));
}

/** The input of a parameter, its dims put in the declared order. */
function loadParam(
  p: IrParam,
  n: Node,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
): Tensor {
  const t = inputs.get(p.name);
  if (!t) {
    if (p.default !== undefined && n.dims.length === 0)
      return { dtype: p.dtype, dims: [], shape: [], data: Float64Array.of(p.default) };
    throw new UserError({
      severity: 'error',
      code: 'P0401',
      message: `missing input \`${p.name}\``,
    });
  }
  const want = shapeOf(n.dims, sizes);
  const sameDims = t.dims.length === n.dims.length && n.dims.every((d) => t.dims.includes(d));
  const fits = sameDims && t.dims.every((d, i) => t.shape[i] === sizes.get(d));
  if (!fits)
    throw new UserError({
      severity: 'error',
      code: 'P0408',
      message: `input \`${p.name}\` has dims [${t.dims.join(', ')}] of shape [${t.shape.join(', ')}], but [${n.dims.join(', ')}] of shape [${want.join(', ')}] is expected`,
    });
  return broadcastTo({ ...t, dtype: p.dtype }, n.dims, sizes);
}

function rounded(t: Tensor, f: (x: number) => number): Tensor {
  const data = t.data.map(f);
  return { ...t, data };
}

/** What a value of storage dtype `d` reads back as on the GPU. */
export function storageRounding(d: DType): (x: number) => number {
  // Storage rounds f32 too (casts keep f32 values exact in float64).
  return d === 'f32' ? Math.fround : castFn(d);
}
