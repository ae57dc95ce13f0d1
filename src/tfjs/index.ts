/**
 * projc/tfjs: a compiled kernel as a function on TF.js tensors, on TF.js's own WebGPU
 * device, differentiable by TF.js (`tf.grads`, `tf.variableGrads`, optimizers).
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-webgpu';
 * import { tfKernel } from 'projc/tfjs';
 * await tf.setBackend('webgpu');
 * const ce = await tfKernel(kernel, { grad: ['X', 'W'] });
 * const { value, grads } = tf.variableGrads(() => ce({ X: hidden(), W: lmHead, target }));
 * ```
 *
 * How a synchronous `tf.customGrad` runs the runtime: it does not wait. The forward
 * flushes TF.js's pending commands to the queue, then records the whole projc call (loss
 * and gradients, one sweep over the chunks) and submits it at once, writing into buffers
 * taken from TF.js's own buffer manager and wrapped as TF.js tensors. WebGPU runs submits
 * in order, so every TF.js op recorded afterwards reads finished values; nothing is read
 * back and nothing waits. See docs/tfjs.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { StorageDtype } from '../../codegen/storage.ts';
import { Runtime } from '../api/runtime.ts';
import type { SessionCall } from '../api/session.ts';
import type { TensorInput } from '../api/tensors.ts';
import type { IrFunction } from '../ir/types.ts';
import { BufferUsage } from '../runtime/usage.ts';
import { scaleInPlace } from './scale.ts';

/** The active TF.js backend, which must be 'webgpu'. */
export function webgpuBackend(): WebGPUBackend {
  const b = tf.backend();
  if (!(b instanceof WebGPUBackend))
    throw new Error(
      `projc/tfjs needs TF.js's 'webgpu' backend (await tf.setBackend('webgpu')), not '${tf.getBackend()}'`,
    );
  return b;
}

/** A projc Runtime on the device of TF.js's WebGPU backend. */
export function runtimeOn(backend: WebGPUBackend = webgpuBackend()): Promise<Runtime> {
  return Runtime.create({ device: backend.device });
}

export interface TfKernelOptions {
  /** Parameters TF.js differentiates with respect to (f32 tensors). */
  readonly grad: readonly string[];
  /** The scalar result the function returns; default the kernel's first result. */
  readonly result?: string;
  readonly chunkRows?: number;
  readonly memoryBudget?: number;
  /** Rows × vocabulary tiles of this width instead of rows-only (`SessionOptions.vocabTile`). */
  readonly vocabTile?: number;
  /** The runtime to use; default one on the backend's device. */
  readonly runtime?: Runtime;
}

/** A kernel as a TF.js function of named tensors (and numbers for scalars). */
export interface TfKernel {
  (inputs: Readonly<Record<string, tf.Tensor | number>>): tf.Scalar;
  /** Stats of the latest call: projc's own peak bytes, host bytes uploaded (0 with tensor inputs). */
  readonly lastCall: () => SessionCall['stats'] | undefined;
  /** Bytes of the TF.js tensors a call makes for projc to write (the result and the gradients). */
  readonly outputBytes: () => number;
}

/**
 * Makes `kernel` a function of TF.js tensors whose gradients with respect to `grad` reach
 * TF.js's autodiff. The result must be a scalar (a loss): its gradients are computed with
 * the forward, in the same sweep, for a cotangent of 1, and the backward scales them by
 * TF.js's cotangent dy in place (d(dy·L)/dθ = dy·dL/dθ for a scalar L, whatever the kernel is).
 */
export async function tfKernel(kernel: IrFunction, opts: TfKernelOptions): Promise<TfKernel> {
  const result = opts.result ?? kernel.results[0]?.name;
  const node = kernel.results.find((r) => r.name === result);
  if (!result || !node) throw new Error(`\`${kernel.name}\` has no result \`${result}\``);
  if (kernel.nodes[node.node]?.dims.length)
    throw new Error(`projc/tfjs: the result \`${result}\` must be a scalar`);
  const rt = opts.runtime ?? (await runtimeOn());
  const session = await rt.session(kernel, {
    grad: opts.grad,
    ...(opts.chunkRows !== undefined ? { chunkRows: opts.chunkRows } : {}),
    ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
    ...(opts.vocabTile !== undefined ? { vocabTile: opts.vocabTile } : {}),
  });
  let last: SessionCall['stats'] | undefined;
  let outBytes = 0;

  const call = (inputs: Readonly<Record<string, tf.Tensor | number>>): tf.Scalar => {
    const diff = opts.grad.map((name) => {
      const t = inputs[name];
      if (!(t instanceof tf.Tensor))
        throw new Error(`projc/tfjs: \`${name}\` must be a tf.Tensor to differentiate`);
      return t;
    });
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const save = args[args.length - 1];
      if (typeof save !== 'function') throw new Error('projc/tfjs: customGrad passed no save');
      const backend = webgpuBackend();
      // A tensor still on the host is uploaded here: TF.js records the copy in its encoder.
      const projInputs: Record<string, TensorInput> = {};
      for (const [name, v] of Object.entries(inputs))
        projInputs[name] = typeof v === 'number' ? v : deviceTensor(backend, v);
      // Everything TF.js recorded so far, those copies included, goes to the queue before
      // projc's commands, so projc reads it done.
      flush(backend);
      const value = newTensor(backend, [], 'float32');
      if (!isScalar(value)) throw new Error('projc/tfjs: the loss tensor is not a scalar');
      const grads = diff.map((t) => newTensor(backend, t.shape, 'float32'));
      const outputs: Record<string, { buffer: GPUBuffer }> = {
        [result]: { buffer: bufferOf(backend, value) },
      };
      opts.grad.forEach((name, i) => {
        const g = grads[i];
        if (g) outputs[`grad.${name}`] = { buffer: bufferOf(backend, g) };
      });
      const c = session.encode(projInputs, { outputs });
      // Results nobody asked for come back in buffers of their own.
      for (const [name, t] of c.results) if (!(name in outputs)) t.buffer.destroy();
      last = c.stats;
      outBytes = 4 * (1 + diff.reduce((s, t) => s + t.size, 0));
      save(grads);
      return {
        value,
        gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => {
          // g ← dy·g in place (the gradients are ours alone), then handed on as clones:
          // Identity shares the buffer, and the engine disposes the saved tensors after.
          const b = webgpuBackend();
          const dyBuf = bufferOf(b, dy);
          flush(b);
          scaleInPlace(
            b.device,
            dyBuf,
            saved.map((g) => ({ buffer: bufferOf(b, g), count: g.size })),
          );
          return saved.map((g) => tf.clone(g));
        },
      };
    });
    return f(...diff);
  };
  return Object.assign(call, { lastCall: () => last, outputBytes: () => outBytes });
}

/** Submits what TF.js has recorded and not submitted yet. */
function flush(backend: WebGPUBackend): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
}

function storageOf(t: tf.Tensor): StorageDtype {
  switch (t.dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'bool':
      return 'bool';
    default:
      throw new Error(`projc/tfjs: no projc storage for a ${t.dtype} tensor`);
  }
}

function isScalar(t: tf.Tensor): t is tf.Scalar {
  return t.rank === 0;
}

function isBuffer(r: unknown): r is GPUBuffer {
  return typeof r === 'object' && r !== null && 'mapAsync' in r && 'size' in r;
}

/** The GPUBuffer holding a tensor's values, as TF.js keeps it (no copy). */
export function bufferOf(backend: WebGPUBackend, t: tf.Tensor): GPUBuffer {
  if (!backend.tensorMap.has(t.dataId))
    throw new Error('projc/tfjs: the tensor is not on the webgpu backend');
  backend.uploadToGPU(t.dataId); // a no-op when it is already there
  const r = backend.tensorMap.get(t.dataId)?.resource;
  if (!isBuffer(r)) throw new Error('projc/tfjs: the tensor is not in a GPUBuffer');
  return r;
}

/** A tensor as a projc device input, zero copy. */
export function deviceTensor(backend: WebGPUBackend, t: tf.Tensor): TensorInput {
  return { buffer: bufferOf(backend, t), dtype: storageOf(t), shape: t.shape };
}

/**
 * A new TF.js tensor whose buffer comes from TF.js's buffer manager, for projc to write:
 * TF.js owns it, counts it in tf.memory() and recycles it on dispose (as its own
 * `readToGPU` does).
 */
export function newTensor(
  backend: WebGPUBackend,
  shape: readonly number[],
  dtype: 'float32' | 'int32',
): tf.Tensor {
  const n = shape.reduce((s, x) => s * x, 1);
  const buffer = backend.bufferManager.acquireBuffer(
    Math.max(4, n * 4),
    BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
  );
  const info = backend.makeTensorInfo([...shape], dtype);
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const data = backend.tensorMap.get(info.dataId);
  if (!data) throw new Error('projc/tfjs: tensor info not registered');
  data.resource = buffer;
  return t;
}
