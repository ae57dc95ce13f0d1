import type { Span } from '../diagnostics/source.ts';

/** Dtypes of IR values. Floating storage dtypes (bf16, f16) appear on parameters and casts. */
export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'bool';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'bool'];

/** A named dim (`N`, `V`, ...). Shapes are ordered lists of dims; sizes are bound at run time. */
export type Dim = string;

/**
 * Every primitive of the IR. Each has exactly one record in `src/ops/`. Composite functions
 * (softmax, mean, count, ...) are lowered to these by the front end or written in the prelude.
 */
export type Op =
  // leaves
  | 'param'
  | 'const'
  | 'size'
  | 'index'
  // elementwise unary
  | 'neg'
  | 'exp'
  | 'log'
  | 'log1p'
  | 'expm1'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'tanh'
  | 'sigmoid'
  | 'softplus'
  | 'relu'
  | 'cos'
  | 'sin'
  | 'not'
  | 'detach'
  | 'cast'
  // elementwise binary
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'and'
  | 'or'
  // elementwise ternary
  | 'where'
  | 'clamp'
  // reductions over `attrs.axes`
  | 'sum'
  | 'max'
  | 'min'
  | 'logsumexp'
  | 'prod'
  // structure
  | 'gather'
  | 'shift'
  | 'cumsum'
  | 'dot'
  | 'broadcast'
  | 'transpose';

/**
 * Attributes; which fields an op uses is stated by its record. Kept as one flat shape so
 * nodes stay uniform and hash-consing can key on them.
 */
export interface Attrs {
  /** `param`: the parameter's name. */
  readonly name?: string;
  /** `const`: the value (f32 values are kept as written; the interpreter rounds them). */
  readonly value?: number;
  /** Reductions: the dims reduced over. `size`: the dims whose sizes are multiplied. */
  readonly axes?: readonly Dim[];
  /** `gather`: the dim indexed. `index`: the dim enumerated. `shift`, `cumsum`: the dim scanned. */
  readonly dim?: Dim;
  /** `shift`: read position t + offset along `dim`. */
  readonly offset?: number;
  /** `cumsum`: suffix sums (Σ over s ≥ t) instead of prefix sums. */
  readonly reverse?: boolean;
  /** `cast`: the target dtype. */
  readonly to?: DType;
  /** `dot`, `broadcast`, `transpose`: the output dims, in order. */
  readonly dims?: readonly Dim[];
}

/** One value of the graph. `id` is its index in `Graph.nodes`; inputs always have smaller ids. */
export interface Node {
  readonly id: number;
  readonly op: Op;
  readonly inputs: readonly number[];
  readonly attrs: Attrs;
  readonly dtype: DType;
  /** Output dims in order; `[]` for a scalar. */
  readonly dims: readonly Dim[];
}

export interface IrParam {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly Dim[];
  /** Default for scalar parameters. */
  readonly default?: number;
  /** The `param` node, absent when the program never reads the parameter. */
  readonly node?: number;
  /** `b: f32[V]?`: the caller may leave it out; it then reads as zeros. */
  readonly optional?: boolean;
  /**
   * The hidden bool scalar `present(b)` of optional tensor `b` (default true): set false by
   * the binder when `b` is absent (src/interp/optional.ts).
   */
  readonly presenceOf?: string;
}

/** A size constraint of the signature (`S: dim = 2`, `N: dim = M`), checked when binding. */
export interface DimConstraint {
  readonly dim: Dim;
  readonly equals: number | { readonly dim: Dim };
}

export interface IrResult {
  /** `out` for a kernel's single unnamed result. */
  readonly name: string;
  readonly node: number;
}

/**
 * A typed kernel: parameters, results and the graph computing them. The backward program
 * produced by autodiff is an `IrFunction` too, with cotangent parameters and `grad.X` results.
 */
export interface IrFunction {
  readonly name: string;
  readonly params: readonly IrParam[];
  readonly results: readonly IrResult[];
  readonly nodes: readonly Node[];
  /** Every dim name the parameters declare, in order of first appearance. */
  readonly dims: readonly Dim[];
  /** Size constraints of the signature, checked by `bindDims`. */
  readonly dimConstraints?: readonly DimConstraint[];
  /** Source names of nodes (`lse`, `row`...), printed as comments to make the IR readable. */
  readonly labels?: ReadonlyMap<number, string>;
  /** Where in the source each node was written (forward nodes), for diagnostics after lowering. */
  readonly spans?: ReadonlyMap<number, Span>;
}

export const FLOAT_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16'];

export function isFloat(d: DType): boolean {
  return d === 'f32' || d === 'f16' || d === 'bf16';
}
