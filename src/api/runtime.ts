import type { MatmulTiles } from '../../codegen/matmul.ts';
import { generateProgram, type Program } from '../../codegen/program.ts';
import type { Cotangent } from '../autodiff/differentiate.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { bindDims } from '../interp/bind.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { IrFunction } from '../ir/types.ts';
import { planKernel } from '../plan/build-plan.ts';
import { acquireDevice, type AcquiredDevice, type AcquireOptions } from '../runtime/device.ts';
import { executeSources, type ExecuteOptions, type ExecuteResult } from '../runtime/execute.ts';
import type { InputSource } from '../runtime/input-sources.ts';
import { chooseShape } from '../runtime/shape-choice.ts';
import {
  bindInputs,
  checkCotangentShapes,
  completeOptional,
  cotangentInputs,
  shapesOf,
} from './bind-inputs.ts';
import { Session, type SessionOptions } from './session.ts';
import { tuneDeviceTiles } from './tune.ts';
import type { TensorInput } from './tensors.ts';

export interface RuntimeOptions extends AcquireOptions {
  /**
   * The matmul tiles of this runtime's programs: given, or 'tune' to time a few candidates
   * on this device first (src/runtime/matmul-tune.ts; a few seconds on a CPU adapter, once
   * per adapter and process); default the largest portable tiles that fit the device.
   */
  readonly matmulTiles?: MatmulTiles | 'tune';
}

/** The plan's shape (docs/runtime.md §2): by default the planner's choice from the budget. */
export interface ShapeOptions {
  /** `rows`: rows-only; a number: rows × vocabulary tiles of that width (P0405 if it cannot). */
  readonly vocabTile?: number | 'rows';
}

export interface RunOptions extends ExecuteOptions, ShapeOptions {
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
    /** Host bytes written to the device by the call: inputs, arena image, uniforms. */
    readonly uploadedBytes: number;
    /** Host bytes written for each input (0 for a GPUBuffer in the parameter's storage). */
    readonly inputBytes: ReadonlyMap<string, number>;
  };
}

/**
 * What `forward` keeps for `backward`: the inputs only (the logits are recomputed), as the
 * caller gave them (no copy: arrays and buffers must stay unchanged until `backward`).
 */
export interface Saved {
  readonly kernel: IrFunction;
  readonly inputs: ReadonlyMap<string, InputSource>;
  readonly options: ExecuteOptions & ShapeOptions;
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

  private released = false;
  private constructor(
    readonly device: AcquiredDevice,
    /** The matmul tiles of this runtime's programs (undefined: codegen's portable default). */
    readonly matmulTiles?: MatmulTiles,
  ) {}

  /** A released runtime has no device: say so, instead of Dawn's empty AbortError. */
  private live(method: string): void {
    if (this.released)
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `Runtime.${method}() after release(): this runtime's device is released; make a new one with Runtime.create()`,
      });
  }

  /** A runtime on the caller's device, the browser's, or Dawn's in Node. */
  static async create(opts: RuntimeOptions = {}): Promise<Runtime> {
    const device = await acquireDevice(opts);
    if (opts.matmulTiles !== 'tune') return new Runtime(device, opts.matmulTiles);
    try {
      return new Runtime(device, (await tuneDeviceTiles(device)).tiles);
    } catch (e) {
      device.release();
      throw e;
    }
  }

  /** The generated program (WGSL modules, layout, schedule) for a kernel and call shape. */
  program(
    kernel: IrFunction,
    grad: readonly string[] = [],
    cotangents: ReadonlyMap<string, Cotangent> = new Map(),
    gradientsOnly = false,
    vocabTile?: number,
  ): Program {
    const key = JSON.stringify([grad, [...cotangents], gradientsOnly, vocabTile ?? 'rows']);
    const forKernel = this.programs.get(kernel) ?? new Map<string, Program>();
    this.programs.set(kernel, forKernel);
    let p = forKernel.get(key);
    if (!p) {
      const planned = planKernel({
        kernel,
        grad,
        cotangents,
        gradientsOnly,
        ...(vocabTile !== undefined ? { schedule: { vocabTile } } : {}),
      });
      p = generateProgram(
        planned.fn,
        planned.plan,
        this.matmulTiles && { tiles: this.matmulTiles },
      );
      forKernel.set(key, p);
    }
    return p;
  }

  /**
   * The program of a call and the options to run it with: the shape the planner picks for
   * these sizes and the budget (rows-only, or vocabulary tiles with the chunk rows chosen
   * with them), unless `vocabTile` forces one.
   */
  private shaped(
    kernel: IrFunction,
    call: { grad: readonly string[]; cot: ReadonlyMap<string, Cotangent>; gradientsOnly: boolean },
    sizes: ReadonlyMap<string, number>,
    opts: ExecuteOptions & ShapeOptions,
  ): { program: Program; options: ExecuteOptions } {
    const { vocabTile, ...options } = opts;
    const limits = {
      ...this.device.limits,
      maxStorageBufferBindingSize: Math.min(
        this.device.limits.maxStorageBufferBindingSize,
        opts.maxStorageBufferBindingSize ?? Infinity,
      ),
    };
    const c = chooseShape(
      (w) => this.program(kernel, call.grad, call.cot, call.gradientsOnly, w),
      sizes,
      limits,
      {
        ...(opts.chunkRows !== undefined ? { chunkRows: opts.chunkRows } : {}),
        ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
        ...(vocabTile !== undefined ? { vocabTile } : {}),
      },
    );
    return { program: c.program, options: c.run ? { ...options, ...c.run } : options };
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
    this.live('run');
    const tensors = bindInputs(kernel, inputs);
    const { cot, extra } = cotangentInputs(kernel, opts.cotangents ?? {});
    for (const [k, v] of extra) tensors.set(k, v);
    const sizes = bindDims(kernel, shapesOf(kernel, tensors));
    completeOptional(kernel, tensors, sizes, opts.grad);
    checkCotangentShapes(kernel, extra, sizes);
    const { program, options } = this.shaped(
      kernel,
      { grad: opts.grad ?? [], cot, gradientsOnly: false },
      sizes,
      opts,
    );
    const r = await executeSources(this.device, program, tensors, sizes, options);
    return split(r);
  }

  /** Forward only; keeps the inputs so that `backward` can recompute each chunk (checkpointing). */
  async forward(
    kernel: IrFunction,
    inputs: Readonly<Record<string, TensorInput>>,
    opts: ExecuteOptions & ShapeOptions = {},
  ): Promise<{ outputs: Map<string, Tensor>; saved: Saved; stats: RunOutput['stats'] }> {
    this.live('forward');
    const tensors = bindInputs(kernel, inputs);
    const sizes = bindDims(kernel, shapesOf(kernel, tensors));
    completeOptional(kernel, tensors, sizes);
    const { program, options } = this.shaped(
      kernel,
      { grad: [], cot: new Map(), gradientsOnly: false },
      sizes,
      opts,
    );
    const r = split(await executeSources(this.device, program, tensors, sizes, options));
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
    this.live('backward');
    const tensors = new Map(saved.inputs);
    const { cot, extra } = cotangentInputs(saved.kernel, cotangents);
    for (const [k, v] of extra) tensors.set(k, v);
    const sizes = bindDims(saved.kernel, shapesOf(saved.kernel, tensors));
    completeOptional(saved.kernel, tensors, sizes, grad);
    checkCotangentShapes(saved.kernel, extra, sizes);
    const { program, options } = this.shaped(
      saved.kernel,
      { grad, cot, gradientsOnly: true },
      sizes,
      saved.options,
    );
    const r = split(await executeSources(this.device, program, tensors, sizes, options));
    return { grads: r.grads, stats: r.stats };
  }

  /**
   * A session of one kernel and call shape: its pipelines compiled once, inputs that stay
   * the same across calls bound once (`bind`), and calls whose results and gradients stay
   * on the device (`encode` records synchronously, `run` also reads back when asked).
   */
  async session(kernel: IrFunction, opts: SessionOptions = {}): Promise<Session> {
    const cot = new Map<string, Cotangent>();
    for (const [name, v] of Object.entries(opts.cotangents ?? {})) {
      if (!kernel.results.some((r) => r.name === name))
        throw new UserError({
          severity: 'error',
          code: 'P0405',
          message: `\`${kernel.name}\` has no result \`${name}\``,
        });
      cot.set(name, v === 'tensor' ? { kind: 'tensor' } : { kind: 'const', value: v });
    }
    const program = this.program(
      kernel,
      opts.grad ?? [],
      cot,
      opts.gradientsOnly ?? false,
      opts.vocabTile,
    );
    return Session.create(this.device, kernel, program, opts);
  }

  release(): void {
    this.released = true;
    this.programs = new WeakMap();
    this.device.release();
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
      uploadedBytes: r.uploadedBytes,
      inputBytes: r.inputBytes,
    },
  };
}
