// The API names WebGPU types (GPUDevice...): consumers get them from @webgpu/types, a
// dependency, even with `"types": []` (preserve="true" keeps this line in browser.d.ts).
/// <reference types="@webgpu/types" preserve="true" />
/**
 * projc as a library: compile `.proj` source to typed IR, inspect the derived backward
 * program, the chunk plan and the WGSL, and run kernels on a WebGPU device.
 *
 * This module is what browsers and bundlers get (`projc/browser`, or `projc` under the
 * `browser` export condition): nothing it reaches imports from Node, and devices come from
 * `navigator.gpu` or the caller. The Node entry (src/index.ts) adds Dawn.
 *
 * ```ts
 * import { compile, Runtime } from 'projc';
 * const { kernels, diagnostics } = compile(source);
 * const rt = await Runtime.create();          // navigator.gpu, Dawn in Node, or { device }
 * const r = await rt.run(kernels.get('cross_entropy')!, { X, W, target }, { grad: ['X', 'W'] });
 * ```
 */
import { compileFile, type CompiledFile } from './frontend/compile.ts';

export {
  Runtime,
  type RunOptions,
  type RunOutput,
  type RuntimeOptions,
  type Saved,
} from './api/runtime.ts';
export type { MatmulTiles } from '../codegen/matmul.ts';
export {
  DeviceLostError,
  DeviceUnavailableError,
  type AcquireOptions,
  type AcquiredDevice,
} from './runtime/device.ts';
export type { TensorInput } from './api/tensors.ts';
export { differentiate, type Cotangent } from './autodiff/differentiate.ts';
export { renderDiagnostic, renderForTerminal } from './diagnostics/render.ts';
export type { Diagnostic } from './diagnostics/diagnostic.ts';
export { UserError, InternalError } from './diagnostics/diagnostic.ts';
export { printFunction } from './ir/print.ts';
export type { IrFunction, Node } from './ir/types.ts';
export type { Tensor } from './tensor/tensor.ts';
export { interpret } from './interp/interpret.ts';
export { planKernel } from './plan/build-plan.ts';
export { printPlan } from './plan/print-plan.ts';
export type { ChunkPlan } from './plan/types.ts';
export { generateProgram, type Program } from '../codegen/program.ts';
export { manifest } from './api/manifest.ts';

/** Parses and type-checks `.proj` source; `kernels` holds those without errors. */
export function compile(source: string, path = '<source>'): CompiledFile {
  return compileFile({ path, text: source });
}
