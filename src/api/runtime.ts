import { generateProgram, type Program } from '../../codegen/program.ts';
import type { Cotangent } from '../autodiff/differentiate.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { bindDims } from '../interp/bind.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { completeOptional } from '../interp/optional.ts';
import type { IrFunction } from '../ir/types.ts';
import { planKernel } from '../plan/build-plan.ts';
import { acquireDevice, type AcquiredDevice, type AcquireOptions } from '../runtime/device.ts';
import { execute, type ExecuteOptions, type ExecuteResult } from '../runtime/execute.ts';
import { toTensor, type TensorInput } from './tensors.ts';

export interface RunOptions extends ExecuteOptions {
  /** Parameters to differentiate with respect to. */
  readonly grad?: readonly string[];
  /** Cotangents by result name: a number, or a tensor with the result's shape. */
  readonly cotangents?: Readonly<Record<string, number | TensorInput>>;
}

export interface RunOutput {
  /** Every result by name. */
  readonly outputs: Map<string, Tensor>;
  /** `grads.get('X')` is dL/dX (f32). */
  readonly grads: Map<string, Tensor>;
  readonly stats: {
    readonly chunkRows: number;
    readonly chunks: number;
    readonly sweeps: number;
    readonly prePasses: number;
    readonly peakBytes: number;
    readonly predictedPeakBytes: number;
    readonly ms: number;
  };
}

/** What `forward` keeps for `backward`: the inputs only (the logits are recomputed). */
export interface Saved {
  readonly kernel: IrFunction;
  readonly inputs: ReadonlyMap<string, Tensor>;
  readonly options: ExecuteOptions;
}

/**
 * Runs compiled kernels on one WebGPU device. Programs are generated once per kernel and
 * call shape and cached; the chunk size is a run-time value, so no run recompiles.
 *
 * ```ts
 * const rt = await Runtime.create();
 * const { outputs, grads } = await rt.run(kernel, { X, W, target }, { grad: ['X', 'W'] });
 * rt.release();
 * ```
 */
export class Runtime {
  private programs = new WeakMap<IrFunction, Map<string, Program>>();

  private constructor(readonly device: AcquiredDevice) {}

  /** A runtime on the caller's device, the browser's, or Dawn's in Node. */
  static async create(opts: AcquireOptions = {}): Promise<Runtime> {
    return new Runtime(await acquireDevice(opts));
  }

  /** The generated program (WGSL modules, layout, schedule) for a kernel and call shape. */
  program(
    kernel: IrFunction,
    grad: readonly string[] = [],
    cotangents: ReadonlyMap<string, Cotangent> = new Map(),
    gradientsOnly = false,
  ): Program {
    const key = JSON.stringify([grad, [...cotangents], gradientsOnly]);
    const forKernel = this.programs.get(kernel) ?? new Map<string, Program>();
    this.programs.set(kernel, forKernel);
    let p = forKernel.get(key);
    if (!p) {
      const planned = planKernel({ kernel, grad, cotangents, gradientsOnly });
      p = generateProgram(planned.fn, planned.plan);
      forKernel.set(key, p);
    }
    return p;
  }

  /**
   * Forward and (with `grad`) backward in one go: when the cotangents are known up front,
   * the gradients are computed while each chunk's logits are resident (one sweep with the
   * projection).
   */
  async run(
    kernel: IrFunction,
    inputs: Readonly<Record<string, TensorInput>>,
    opts: RunOptions = {},
  ): Promise<RunOutput> {
    const tensors = bindInputs(kernel, inputs);
    const { cot, extra } = cotangentInputs(kernel, opts.cotangents ?? {});
    for (const [k, v] of extra) tensors.set(k, v);
    const sizes = bindDims(kernel, shapesOf(kernel, tensors));
    completeOptional(kernel, tensors, sizes, opts.grad);
    checkCotangentShapes(kernel, extra, sizes);
    const r = await execute(
      this.device,
      this.program(kernel, opts.grad ?? [], cot),
      tensors,
      sizes,
      opts,
    );
    return split(r);
  }

  /** Forward only; keeps the inputs so that `backward` can recompute each chunk (checkpointing). */
  async forward(
    kernel: IrFunction,
    inputs: Readonly<Record<string, TensorInput>>,
    opts: ExecuteOptions = {},
  ): Promise<{ outputs: Map<string, Tensor>; saved: Saved; stats: RunOutput['stats'] }> {
    const tensors = bindInputs(kernel, inputs);
    const sizes = bindDims(kernel, shapesOf(kernel, tensors));
    completeOptional(kernel, tensors, sizes);
    const r = split(await execute(this.device, this.program(kernel), tensors, sizes, opts));
    return {
      outputs: r.outputs,
      saved: { kernel, inputs: tensors, options: opts },
      stats: r.stats,
    };
  }

  /**
   * The gradients of Σ cotangent·result with respect to `grad`, for any cotangents
   * (non-scalar results included), recomputing each chunk's logits from the saved inputs.
   */
  async backward(
    saved: Saved,
    grad: readonly string[],
    cotangents: Readonly<Record<string, number | TensorInput>>,
  ): Promise<{ grads: Map<string, Tensor>; stats: RunOutput['stats'] }> {
    const tensors = new Map(saved.inputs);
    const { cot, extra } = cotangentInputs(saved.kernel, cotangents);
    for (const [k, v] of extra) tensors.set(k, v);
    const sizes = bindDims(saved.kernel, shapesOf(saved.kernel, tensors));
    completeOptional(saved.kernel, tensors, sizes, grad);
    checkCotangentShapes(saved.kernel, extra, sizes);
    const r = split(
      await execute(
        this.device,
        this.program(saved.kernel, grad, cot, true),
        tensors,
        sizes,
        saved.options,
      ),
    );
    return { grads: r.grads, stats: r.stats };
  }

  release(): void {
    this.programs = new WeakMap();
    this.device.release();
  }
}

/** A tensor cotangent must have its result's shape under the bound dims. */
function checkCotangentShapes(
  kernel: IrFunction,
  extra: ReadonlyMap<string, Tensor>,
  sizes: ReadonlyMap<string, number>,
): void {
  for (const [name, t] of extra) {
    const r = kernel.results.find((x) => `cotangent.${x.name}` === name);
    const node = r && kernel.nodes[r.node];
    const want = (node?.dims ?? []).map((d) => sizes.get(d) ?? 0);
    if (t.shape.join() !== want.join())
      throw new UserError({
        severity: 'error',
        code: 'P0408',
        message: `the cotangent of \`${r?.name}\` has shape [${t.shape.join(', ')}], but the result is [${want.join(', ')}] (${node?.dims.join(', ')})`,
      });
  }
}

function split(r: ExecuteResult): RunOutput {
  const outputs = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  for (const [k, t] of r.values) {
    if (k.startsWith('grad.')) grads.set(k.slice(5), t);
    else outputs.set(k, t);
  }
  return {
    outputs,
    grads,
    stats: {
      chunkRows: r.chunk.chunkRows,
      chunks: r.chunk.chunks,
      sweeps: r.sweeps,
      prePasses: r.prePasses,
      peakBytes: r.peakBytes,
      predictedPeakBytes: r.chunk.predictedPeakBytes,
      ms: r.ms,
    },
  };
}

/** The kernel's parameters from the caller's tensors; scalars may be numbers or absent (defaults). */
function bindInputs(
  kernel: IrFunction,
  inputs: Readonly<Record<string, TensorInput>>,
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  // Unknown names first: a misspelt `x` should be named, not reported as a missing `X`.
  for (const name of Object.keys(inputs))
    if (!kernel.params.some((p) => p.name === name))
      throw new UserError({
        severity: 'error',
        code: 'P0406',
        message: `\`${kernel.name}\` has no parameter \`${name}\``,
        notes: [`parameters: ${kernel.params.map((p) => p.name).join(', ')}`],
      });
  for (const p of kernel.params) {
    const v = inputs[p.name];
    if (v === undefined) {
      if ((p.dims.length === 0 && p.default !== undefined) || p.optional) continue;
      throw new UserError({
        severity: 'error',
        code: 'P0401',
        message: `no input for parameter \`${p.name}\``,
      });
    }
    out.set(p.name, toTensor(p.name, p.dtype, p.dims, v));
  }
  return out;
}

function shapesOf(
  kernel: IrFunction,
  tensors: ReadonlyMap<string, Tensor>,
): Map<string, readonly number[]> {
  const m = new Map<string, readonly number[]>();
  for (const p of kernel.params) {
    const t = tensors.get(p.name);
    if (t && p.dims.length) m.set(p.name, t.shape);
  }
  return m;
}

function cotangentInputs(
  kernel: IrFunction,
  cotangents: Readonly<Record<string, number | TensorInput>>,
): { cot: Map<string, Cotangent>; extra: Map<string, Tensor> } {
  const cot = new Map<string, Cotangent>();
  const extra = new Map<string, Tensor>();
  for (const [name, v] of Object.entries(cotangents)) {
    const r = kernel.results.find((x) => x.name === name);
    const node = r && kernel.nodes[r.node];
    if (!node)
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `\`${kernel.name}\` has no result \`${name}\``,
      });
    if (typeof v === 'number') cot.set(name, { kind: 'const', value: v });
    else {
      cot.set(name, { kind: 'tensor' });
      extra.set(`cotangent.${name}`, toTensor(`cotangent.${name}`, 'f32', node.dims, v));
    }
  }
  return { cot, extra };
}
