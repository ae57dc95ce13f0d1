import { differentiate, type Cotangent } from '../autodiff/differentiate.ts';
import { interpret } from '../interp/interpret.ts';
import { numel, shapeOf, type DimSizes, type Tensor } from '../tensor/tensor.ts';
import { completeOptional } from '../interp/optional.ts';
import type { IrFunction } from '../ir/types.ts';

export interface CpuRunRequest {
  readonly fn: IrFunction;
  /** Parameter values (and `cotangent.NAME` tensors for tensor cotangents). */
  readonly inputs: ReadonlyMap<string, Tensor>;
  readonly sizes: DimSizes;
  /** Parameters to differentiate with respect to. */
  readonly grad: readonly string[];
  readonly cotangents: ReadonlyMap<string, Cotangent>;
}

export interface RunResult {
  /** Each result by name. */
  readonly outputs: Map<string, Tensor>;
  /** `grad.X` by parameter name X. */
  readonly grads: Map<string, Tensor>;
  /** Bytes the run held at its peak. */
  readonly peakBytes: number;
  readonly ms: number;
}

/**
 * Runs a kernel (and its derived backward program) on the CPU reference interpreter.
 * Everything is materialized in float64: this backend is the oracle, not the fast path.
 */
export function runCpu(req: CpuRunRequest): RunResult {
  const t0 = performance.now();
  const fn = req.grad.length
    ? differentiate(req.fn, { wrt: req.grad, cotangents: req.cotangents })
    : req.fn;
  const inputs = new Map(req.inputs);
  completeOptional(req.fn, inputs, req.sizes, req.grad);
  const values = interpret(fn, inputs, req.sizes);
  const outputs = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  for (const [name, t] of values) {
    if (name.startsWith('grad.')) grads.set(name.slice(5), t);
    else outputs.set(name, t);
  }
  // The interpreter keeps every node's value alive, 8 bytes per element.
  const peakBytes = fn.nodes.reduce((s, n) => s + 8 * numel(shapeOf(n.dims, req.sizes)), 0);
  return { outputs, grads, peakBytes, ms: performance.now() - t0 };
}
