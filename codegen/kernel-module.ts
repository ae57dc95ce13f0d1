import type { BindingSpec } from './bindings.ts';
import type { SizeExpr } from './layout.ts';

/**
 * How many workgroups a module is dispatched with, as data:
 * - `rows`: one per row of the chunk;
 * - `kept`: one per entry of a carried accumulator that the chunk touches, where `inner`
 *   consecutive rows share an entry;
 * - `elements`: one thread per element of `count`, in workgroups of the module's size;
 * - `groups`: one workgroup per element of `count` (its threads share a reduction).
 * Grids beyond 65535 per dimension fold into y (the kernels unfold them).
 */
export type Dispatch =
  | { readonly kind: 'rows' }
  | { readonly kind: 'kept'; readonly inner: SizeExpr }
  | { readonly kind: 'elements'; readonly count: SizeExpr }
  | { readonly kind: 'groups'; readonly count: SizeExpr };

/** One generated WGSL compute module (entry point `main`). */
export interface KernelModule {
  readonly name: string;
  readonly code: string;
  readonly workgroupSize: number;
  readonly bindings: readonly BindingSpec[];
  readonly dispatch: Dispatch;
}

/** The largest number of workgroups along one grid dimension that WebGPU guarantees. */
export const GRID_X = 65535;
