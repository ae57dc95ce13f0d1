import { forEachIndex, makeTensor, stridesIn, type Tensor } from '../tensor/tensor.ts';
import type { Attrs, Node, Op } from '../ir/types.ts';
import { elementwiseInfer, type Domain } from './dtype-rules.ts';
import type {
  ElementwiseRecord,
  EvalFn,
  InferResult,
  Surface,
  ValueType,
  VjpRule,
  WgslFn,
  WgslHelper,
} from './record.ts';

/**
 * Evaluates an elementwise op by broadcasting its operands by dim name; `fI32`, when given,
 * replaces `f` on i32 results (where float64 arithmetic would not wrap exactly).
 */
export function evalElementwise(
  fAny: (...xs: number[]) => number,
  fI32?: (...xs: number[]) => number,
): EvalFn {
  return (args, node, sizes) => {
    const f = node.dtype === 'i32' && fI32 ? fI32 : fAny;
    const out = makeTensor(node.dtype, node.dims, sizes);
    const strides = args.map((a) => stridesIn(a, node.dims));
    const datas = args.map((a) => a.data);
    const xs = new Array<number>(args.length).fill(0);
    const wrap = valueWrap(node);
    forEachIndex(out.shape, strides, (flat, offs) => {
      for (let k = 0; k < datas.length; k++) xs[k] = datas[k]?.[offs[k] ?? 0] ?? 0;
      out.data[flat] = wrap(f(...xs));
    });
    return out;
  };
}

/** i32 results wrap to 32 bits like the GPU's; bools are 0/1. */
function valueWrap(node: Node): (v: number) => number {
  if (node.dtype === 'i32') return (v) => v | 0;
  if (node.dtype === 'bool') return (v) => (v ? 1 : 0);
  return (v) => v;
}

export interface ElementwiseSpec {
  readonly op: Op;
  readonly doc: string;
  readonly arity: number;
  /** Name shown in error messages (the user-facing spelling). */
  readonly name: string;
  readonly domain: Domain;
  readonly result?: 'same' | 'bool';
  /** Overrides the default dtype rule (e.g. `where`, whose condition is bool). */
  readonly infer?: (args: readonly ValueType[], attrs: Attrs) => InferResult;
  readonly f: (...xs: number[]) => number;
  /** The i32 version of `f`, when `f` in float64 followed by `| 0` is not exact. */
  readonly fI32?: (...xs: number[]) => number;
  readonly wgsl: WgslFn;
  /** The WGSL helpers `wgsl` calls. */
  readonly helpers?: readonly WgslHelper[];
  readonly vjp: VjpRule | 'none';
  /** The built-in function of the language that calls this op, when there is one. */
  readonly surface?: Surface;
}

export function elementwise(s: ElementwiseSpec): ElementwiseRecord {
  const infer = s.infer ?? elementwiseInfer(s.name, s.domain, s.result ?? 'same');
  return {
    kind: 'elementwise',
    op: s.op,
    doc: s.doc,
    arity: s.arity,
    infer,
    eval: evalElementwise(s.f, s.fI32),
    vjp: s.vjp,
    scalar: s.f,
    wgsl: s.wgsl,
    helpers: s.helpers ?? [],
    ...(s.surface ? { surface: s.surface } : {}),
  };
}

export type { Tensor };
