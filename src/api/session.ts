import type { Program } from '../../codegen/program.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { bindDims } from '../interp/bind.ts';
import type { IrFunction } from '../ir/types.ts';
import { BufferPool } from '../runtime/buffers.ts';
import type { AcquiredDevice } from '../runtime/device.ts';
import {
  encodeProgram,
  preparePipelines,
  type ExecuteOptions,
  type OutputTarget,
  type StagedSource,
} from '../runtime/execute.ts';
import {
  stageInput,
  type DeviceTensor,
  type InputSource,
  type StagedInput,
} from '../runtime/input-sources.ts';
import { BufferUsage } from '../runtime/usage.ts';
import {
  bindInputs,
  checkCotangentShapes,
  completeOptional,
  cotangentInputs,
  shapesOf,
} from './bind-inputs.ts';
import type { TensorInput } from './tensors.ts';

export interface SessionOptions extends ExecuteOptions {
  /** Parameters to differentiate with respect to. */
  readonly grad?: readonly string[];
  /**
   * Cotangents by result name: a number fixed for the session, or 'tensor' for one given
   * with each call (`cotangents` of `encode`/`run`).
   */
  readonly cotangents?: Readonly<Record<string, number | 'tensor'>>;
  /** Compute the gradients only (no results but `grad.*`), as `Runtime.backward` does. */
  readonly gradientsOnly?: boolean;
  /**
   * Plan rows × vocabulary tiles of this width (docs/runtime.md §2) instead of rows-only: a
   * session is planned before it sees a call's sizes, so the planner's own choice (what
   * `Runtime.run` makes from the budget) is not made here; give the width it would pick
   * (`projc plan --memory-budget B --dims ...` prints it) to keep a call near its floor.
   */
  readonly vocabTile?: number;
}

export interface CallOptions {
  /** Tensor cotangents by result name (for results declared 'tensor' in the session). */
  readonly cotangents?: Readonly<Record<string, TensorInput>>;
  /** Caller buffers to write results into, by result name (`out`, `grad.W`). */
  readonly outputs?: Readonly<Record<string, OutputTarget>>;
}

export interface EncodeOptions extends CallOptions {
  /**
   * Record into this encoder instead of submitting; the caller submits it and then calls
   * `release()` of the call.
   */
  readonly encoder?: GPUCommandEncoder;
}

export interface RunOptions extends CallOptions {
  /** Results to read back to the host (`true`: all); default none. */
  readonly readback?: boolean | readonly string[];
}

export interface SessionCall {
  /**
   * Every result by name, on the device: the caller's buffer where `outputs` named one,
   * else a new buffer the caller owns (destroy it when done).
   */
  readonly results: Map<string, DeviceTensor>;
  readonly stats: {
    readonly chunkRows: number;
    readonly chunks: number;
    /** Device bytes at the call's peak (its own buffers; bound inputs and caller buffers not included). */
    readonly peakBytes: number;
    /** Host bytes the call wrote to the device (arena image and uniforms included). */
    readonly uploadedBytes: number;
    /** Host bytes written per input of the call (bound inputs: 0). */
    readonly inputBytes: ReadonlyMap<string, number>;
  };
  /** Destroys the call's temporaries (only needed after `encode` into the caller's encoder). */
  release(): void;
}

/**
 * A kernel compiled for one call shape, with inputs bound once and calls whose results
 * stay on the device. Made by `Runtime.session`.
 *
 * ```ts
 * const s = await rt.session(kernel, { grad: ['X', 'W'] });
 * s.bind({ W: { buffer: wBuf, dtype: 'f32', shape: [V, H] } }); // zero copy
 * const call = s.encode({ X: { buffer: xBuf, dtype: 'f32', shape: [N, H] }, target });
 * call.results.get('grad.W'); // a GPUBuffer on the device, valid for any later submit
 * ```
 */
export class Session {
  private readonly bound = new Map<string, { staged: StagedInput; pool: BufferPool }>();
  /** Host bytes written by `bind` calls (once per bound input, not per call). */
  boundUploadedBytes = 0;

  private constructor(
    readonly device: AcquiredDevice,
    readonly kernel: IrFunction,
    readonly program: Program,
    private readonly pipelines: ReadonlyMap<string, GPUComputePipeline>,
    private readonly options: SessionOptions,
  ) {}

  static async create(
    device: AcquiredDevice,
    kernel: IrFunction,
    program: Program,
    options: SessionOptions,
  ): Promise<Session> {
    return new Session(
      device,
      kernel,
      program,
      await preparePipelines(device.device, program),
      options,
    );
  }

  /**
   * Binds inputs for every later call until bound again: uploaded, copied or converted
   * now, once (a GPUBuffer in the parameter's storage is used as it is; it must stay
   * valid and unchanged while bound, or be re-bound after a change).
   */
  bind(inputs: Readonly<Record<string, TensorInput>>): void {
    const sources = bindInputs(this.kernel, inputs, new Set(this.kernel.params.map((p) => p.name)));
    const { device } = this.device;
    const enc = device.createCommandEncoder({ label: 'projc bind' });
    for (const [name, src] of sources) {
      const param = this.program.fn.params.find((p) => p.name === name);
      if (!param) continue;
      this.bound.get(name)?.pool.destroyAll();
      const pool = new BufferPool(device, this.device.limits);
      let staged = stageInput(
        { device, pool, encoder: enc },
        name,
        param.dtype,
        this.needs(name),
        src,
      );
      // Bound arena words go to the device too, so that a call writes nothing for them.
      if (staged.arena?.kind === 'host') {
        const words = pool.create(
          `arena.${name}:words`,
          staged.arena.words.byteLength,
          BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
        );
        pool.upload(words, staged.arena.words);
        staged = { ...staged, arena: { kind: 'device', buffer: words, offset: 0 } };
      }
      this.boundUploadedBytes += pool.uploadedBytes;
      this.bound.set(name, { staged, pool });
    }
    device.queue.submit([enc.finish()]);
  }

  /** Forgets bound inputs (all when no names are given) and frees their buffers. */
  unbind(...names: string[]): void {
    for (const name of names.length ? names : [...this.bound.keys()]) {
      this.bound.get(name)?.pool.destroyAll();
      this.bound.delete(name);
    }
  }

  /**
   * Records one call synchronously: when it returns, the results' buffers exist and any
   * later submit on the device's queue sees them computed (WebGPU runs submits in order).
   */
  encode(inputs: Readonly<Record<string, TensorInput>>, opts: EncodeOptions = {}): SessionCall {
    const given = bindInputs(this.kernel, inputs, new Set(this.bound.keys()));
    // A call's own input takes the place of a bound one of the same name.
    const shapes = shapesOf(this.kernel, given);
    const sources = new Map<string, InputSource | StagedSource>(given);
    for (const [name, b] of this.bound)
      if (!given.has(name)) {
        sources.set(name, { kind: 'staged', staged: b.staged });
        if (b.staged.shape.length) shapes.set(name, b.staged.shape);
      }
    const { extra } = cotangentInputs(this.kernel, opts.cotangents ?? {});
    for (const name of Object.keys(opts.cotangents ?? {}))
      if (this.options.cotangents?.[name] !== 'tensor')
        throw new UserError({
          severity: 'error',
          code: 'P0405',
          message: `the session was made without a tensor cotangent for \`${name}\``,
        });
    for (const [k, v] of extra) sources.set(k, v);
    const sizes = bindDims(this.kernel, shapes);
    checkCotangentShapes(this.kernel, extra, sizes);
    // Optional tensors: flags (and zeros for an absent one) are per call; bound ones are given.
    const completed = new Map(given);
    completeOptional(this.kernel, completed, sizes, this.options.grad, new Set(this.bound.keys()));
    for (const [k, v] of completed) sources.set(k, v);
    const run = encodeProgram(
      this.device,
      this.program,
      sources,
      sizes,
      {
        ...this.options,
        ...(opts.outputs ? { outputs: new Map(Object.entries(opts.outputs)) } : {}),
        ...(opts.encoder ? { encoder: opts.encoder } : {}),
      },
      this.pipelines,
    );
    return {
      results: run.results,
      stats: {
        chunkRows: run.chunk.chunkRows,
        chunks: run.chunk.chunks,
        peakBytes: run.peakBytes,
        uploadedBytes: run.uploadedBytes,
        inputBytes: run.inputBytes,
      },
      release: run.release,
    };
  }

  /** `encode`, then reads back the results asked for (`readback`) once the device is done. */
  async run(
    inputs: Readonly<Record<string, TensorInput>>,
    opts: RunOptions = {},
  ): Promise<SessionCall & { host: Map<string, Float32Array | Int32Array | Uint32Array> }> {
    const call = this.encode(inputs, opts);
    const host = new Map<string, Float32Array | Int32Array | Uint32Array>();
    const want = opts.readback ?? false;
    const pool = new BufferPool(this.device.device, this.device.limits);
    try {
      for (const [name, t] of call.results) {
        if (want === false || (want !== true && !want.includes(name))) continue;
        const n = t.shape.reduce((s, x) => s * x, 1);
        const raw = await pool.readback(t.buffer, Math.max(4, n * 4), t.offset ?? 0);
        host.set(
          name,
          t.dtype === 'f32'
            ? new Float32Array(raw, 0, n)
            : t.dtype === 'i32'
              ? new Int32Array(raw, 0, n)
              : new Uint32Array(raw, 0, n),
        );
      }
    } finally {
      pool.destroyAll();
    }
    return { ...call, host };
  }

  /** Frees the bound inputs' buffers (a caller's GPUBuffers are left alone). */
  release(): void {
    this.unbind();
  }

  private needs(name: string): { own: boolean; arena: boolean } {
    const bufs = this.program.plan.buffers;
    return {
      own: bufs.some((b) => b.name === `in.${name}`),
      arena: bufs.some((b) => b.name === `arena.${name}`),
    };
  }
}
