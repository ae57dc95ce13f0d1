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

/** A WGSL helper function (`log1p_`), with the helpers it calls in turn. */
export interface WgslHelper {
  readonly name: string;
  readonly code: string;
  readonly needs: readonly WgslHelper[];
}

/** The WGSL type of a value inside kernels: floats compute in f32 whatever their storage. */
export type WgslValue = 'f32' | 'i32' | 'bool';

/**
 * How a reduction accumulates, as data every backend reads: the CPU reference folds in
 * float64, the kernels keep a state of `width` components (the value itself when 1; a
 * `vec2<f32>` for logsumexp's online (max, Σ e^(x − max)) pair), start it at `identity`,
 * fold elements in with `push`, combine partial states with `merge` (associative, so chunks,
 * threads and vocabulary tiles may be folded in any grouping) and read the result with `finish`.
 * Reductions nest: reducing over A ∪ B is reducing over B the results over A (the planner
 * splits a reduction over rows × V into one over V per row, then one over the rows).
 */
export interface Monoid {
  /** State components: 1, or 2 for a pair held as `vec2<f32>`. */
  readonly width: 1 | 2;
  /** The state's starting value per component, for a result of dtype `d`. */
  identity(d: DType): readonly number[];
  /** The float64 reduction of a list (the CPU reference). */
  fold(xs: Float64Array): number;
  /** WGSL: the state after folding element `x` into `acc` (`t` is the value's WGSL type). */
  push(acc: string, x: string, t: WgslValue): string;
  /** WGSL: the state combining two partial states. */
  merge(a: string, b: string, t: WgslValue): string;
  /** WGSL: the result from a state. */
  finish(acc: string, t: WgslValue): string;
  readonly helpers: readonly WgslHelper[];
}

/**
 * How the language spells a record that is a built-in function of the same shape
 * (elementwise `name(x, ...)`, reductions `name(x, d, ...)`); the front end's table of
 * built-ins is derived from these.
 */
export interface Surface {
  readonly name: string;
  readonly doc: string;
  /** Shown in `help` lists; defaults to `name(x)`, `name(a, b)`, `name(x, d, ...)`. */
  readonly signature?: string;
}

/** What every op record has, whatever its family. */
export interface RecordBase {
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
  /** The built-in function that calls this op, when it is one. */
  readonly surface?: Surface;
}

/** One primitive: everything the compiler knows about it lives in this record. */
export type OpRecord =
  /** Per element, broadcasting by dim name: the fused kernels inline `wgsl`. */
  | (RecordBase & {
      readonly kind: 'elementwise';
      /** Scalar function, also used for constant folding (absent for casts). */
      readonly scalar?: (...xs: number[]) => number;
      readonly wgsl: WgslFn;
      /** The helpers `wgsl` calls. */
      readonly helpers: readonly WgslHelper[];
    })
  /** A fold over `axes` with a monoid. */
  | (RecordBase & { readonly kind: 'reduction'; readonly monoid: Monoid })
  /** Leaves, indexing, layout and the projection: each has its own code path. */
  | (RecordBase & { readonly kind: 'structural' });

export type ElementwiseRecord = Extract<OpRecord, { kind: 'elementwise' }>;
export type ReductionRecord = Extract<OpRecord, { kind: 'reduction' }>;

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
