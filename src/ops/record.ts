import type { Code } from '../diagnostics/codes.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import type { Attrs, DType, Dim, Node, Op } from '../ir/types.ts';

/** The static type of a value: dtype and ordered dims. */
export interface ValueType {
  readonly dtype: DType;
  readonly dims: readonly Dim[];
}

/** Why an op does not accept its operands; the front end attaches the span. */
export interface OpTypeError {
  readonly code: Code;
  readonly message: string;
  /** The operand the caret should point at, when one is to blame. */
  readonly arg?: number;
  readonly notes?: readonly string[];
  readonly help?: readonly string[];
}

export type InferResult =
  | { readonly ok: true; readonly type: ValueType }
  | { readonly ok: false; readonly error: OpTypeError };

/** What a VJP rule may use to build gradient nodes: the graph builder, seen narrowly. */
export interface Emit {
  op(op: Op, inputs: readonly number[], attrs?: Attrs): number;
  constant(value: number, dtype?: DType): number;
  node(id: number): Node;
}

/**
 * The vector-Jacobian product of one node: given the cotangent `g` of its output (with the
 * output's dims), the cotangent contribution of each input, or `null` where none flows
 * (integer/bool inputs, indices). A contribution may have any dims that broadcast to or from
 * the input's: autodiff sums extra dims away, broadcasts missing ones and reorders, once,
 * for every rule. Thunks, so that inputs that need no gradient cost nothing.
 */
export type VjpRule = (e: Emit, node: Node, g: number) => readonly ((() => number) | null)[];

/**
 * The WGSL expression of an elementwise op given its operands' expressions. Floats are
 * `f32` in WGSL whatever their storage, i32 is `i32`, bool is `bool`; helper functions
 * named `*_` come from codegen/wgsl-helpers.ts.
 */
export type WgslFn = (args: readonly string[], node: Node, inputs: readonly Node[]) => string;

export type EvalFn = (args: readonly Tensor[], node: Node, sizes: DimSizes) => Tensor;

/** One primitive: everything the compiler knows about it lives in this record. */
export interface OpRecord {
  readonly op: Op;
  /** One line for the docs and the IR printer's reference. */
  readonly doc: string;
  readonly arity: number;
  /** The dtype/dims rule. Errors here are user errors the front end reports with a span. */
  infer(args: readonly ValueType[], attrs: Attrs): InferResult;
  /** CPU reference evaluation in float64. */
  readonly eval: EvalFn;
  /** `'none'`: the op has no differentiable input (leaves, comparisons, logic, indices). */
  readonly vjp: VjpRule | 'none';
  /** Scalar function of elementwise ops, also used for constant folding. */
  readonly scalar?: (...xs: number[]) => number;
  /** The WGSL expression of elementwise ops (the fused row kernels inline them). */
  readonly wgsl?: WgslFn;
}

export function ok(dtype: DType, dims: readonly Dim[]): InferResult {
  return { ok: true, type: { dtype, dims } };
}

export function fail(
  code: Code,
  message: string,
  extra: Omit<OpTypeError, 'code' | 'message'> = {},
): InferResult {
  return { ok: false, error: { code, message, ...extra } };
}
