import type { KernelModule } from '../../codegen/kernel-module.ts';
import { GRID_X } from '../../codegen/kernel-module.ts';
import { evalSize } from '../../codegen/layout.ts';
import type { MatmulSpec } from '../../codegen/matmul-spec.ts';
import { programMatmulSource, type Program } from '../../codegen/program.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import { isFloat, type DType } from '../ir/types.ts';
import type { AcquiredDevice } from './device.ts';
import { BufferPool } from './buffers.ts';
import { MatmulRunner, OperandRangeError } from './matmul.ts';
import { chooseChunkRows, elementBytes, memoryModel, type ChunkChoice } from './memory.ts';
import { BufferUsage } from './usage.ts';
import { readbackSliced } from './readback.ts';
import { arenaImage, uniformImage } from './images.ts';
import {
  stageInput,
  type DeviceTensor,
  type InputSource,
  type StagedInput,
} from './input-sources.ts';

export interface ExecuteOptions {
  /** Lower the binding limit below the device's (tests of the splitting of large weights). */
  readonly maxStorageBufferBindingSize?: number;
  readonly chunkRows?: number;
  readonly memoryBudget?: number;
  /** Called after each chunk with (chunks done, chunks in all sweeps). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** A caller's buffer a result is written to (f32/i32/u32 words from `offset`). */
export interface OutputTarget {
  readonly buffer: GPUBuffer;
  /** Byte offset (a multiple of 4); default 0. */
  readonly offset?: number;
}

/** Options of a run that keeps its tensors on the device. */
export interface DeviceExecuteOptions extends ExecuteOptions {
  /** Results written into these buffers by result name (`grad.W`); others get buffers of their own. */
  readonly outputs?: ReadonlyMap<string, OutputTarget>;
  /**
   * Record every command into this encoder instead of submitting (`encodeProgram` only):
   * the caller submits it, then calls `release()` of the returned run.
   */
  readonly encoder?: GPUCommandEncoder;
}

interface RunStats {
  readonly chunk: ChunkChoice;
  /** Sweeps over the chunks. */
  readonly sweeps: number;
  /** Pre-passes over all the rows at once (no products). */
  readonly prePasses: number;
  /** Device bytes at the peak of the run, as tracked by the buffer pool. */
  readonly peakBytes: number;
  /** Host bytes written to the device: inputs, arena image, uniforms. */
  readonly uploadedBytes: number;
  /** Host bytes written for each input (0 for one already on the device). */
  readonly inputBytes: ReadonlyMap<string, number>;
}

export interface ExecuteResult extends RunStats {
  /** Every result by name (`grad.X` included). */
  readonly values: Map<string, Tensor>;
  /** Wall time of the whole call: upload, compute, readback (pipelines are cached per device). */
  readonly ms: number;
  /** Wall time of the sweeps and kernels alone, from the first dispatch to the device going idle. */
  readonly computeMs: number;
}

/** A run recorded on the device: its results stay there, in buffers the caller owns. */
export interface DeviceRun extends RunStats {
  /**
   * Every result by name: the caller's `outputs` buffer where one was given, else a new
   * buffer the caller owns (and destroys). f32 results are f32, i32 i32, bool 0/1 words.
   */
  readonly results: Map<string, DeviceTensor>;
  /** Destroys the run's own temporaries; call once its commands are submitted. */
  release(): void;
}

/**
 * Runs a generated program on a device: uploads the inputs, walks the sweeps chunk by
 * chunk (the chunk size is a uniform, so any size runs without recompiling), runs the
 * epilogue and reads the results back. Every buffer is released before returning.
 */
export async function execute(
  dev: AcquiredDevice,
  p: Program,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  opts: ExecuteOptions = {},
): Promise<ExecuteResult> {
  const sources = new Map<string, InputSource>();
  for (const [k, t] of inputs)
    sources.set(
      k,
      t.dims.length === 0 && t.shape.length === 0 && isScalarParam(p, k)
        ? { kind: 'scalar', value: t.data[0] ?? 0 }
        : { kind: 'host', shape: t.shape, data: t.data },
    );
  return executeSources(dev, p, sources, sizes, opts);
}

/** `execute` with inputs as sources (host arrays in any form, device buffers, staged inputs). */
export async function executeSources(
  dev: AcquiredDevice,
  p: Program,
  inputs: ReadonlyMap<string, InputSource | StagedSource>,
  sizes: DimSizes,
  opts: ExecuteOptions = {},
): Promise<ExecuteResult> {
  const t0 = performance.now();
  const pipelines = await preparePipelines(dev.device, p);
  const run = setUp(dev, p, inputs, sizes, opts, pipelines, undefined);
  try {
    dev.device.queue.submit([run.staging.finish()]);
    await dev.device.queue.onSubmittedWorkDone();
    const tCompute = performance.now();
    let done = 0;
    for (const total of schedule(run, streamRecorder(run))) {
      done++;
      // Bound the queue and report progress now and then.
      if (done % 8 === 0 || done === total) {
        await dev.device.queue.onSubmittedWorkDone();
        opts.onProgress?.(done, total);
      }
    }
    await dev.device.queue.onSubmittedWorkDone();
    const computeMs = performance.now() - tCompute;
    dev.throwIfLost();
    const values = new Map<string, Tensor>();
    for (const [name, r] of resultBuffers(run)) values.set(name, await readResult(run, r));
    return { ...stats(run), values, ms: performance.now() - t0, computeMs };
  } finally {
    run.destroy();
  }
}

/**
 * Records a whole run synchronously (pipelines from `preparePipelines`): into
 * `opts.encoder` when given, else one encoder submitted here. WebGPU orders the queue, so
 * the results' buffers may be used by any later submit at once, without waiting.
 */
export function encodeProgram(
  dev: AcquiredDevice,
  p: Program,
  inputs: ReadonlyMap<string, InputSource | StagedSource>,
  sizes: DimSizes,
  opts: DeviceExecuteOptions,
  pipelines: ReadonlyMap<string, GPUComputePipeline>,
): DeviceRun {
  dev.throwIfLost();
  const enc = opts.encoder ?? dev.device.createCommandEncoder({ label: 'projc' });
  const run = setUp(dev, p, inputs, sizes, opts, pipelines, enc);
  try {
    const rec = recordRecorder(run, enc);
    for (const _ of schedule(run, rec)) {
      // everything goes into the one encoder
    }
    rec.finish();
    const results = new Map<string, DeviceTensor>();
    for (const [name, r] of resultBuffers(run)) {
      const target = opts.outputs?.get(name);
      if (target && target.buffer !== r.buffer)
        enc.copyBufferToBuffer(r.buffer, 0, target.buffer, target.offset ?? 0, r.bytes);
      if (target)
        results.set(name, { ...r.tensor, buffer: target.buffer, offset: target.offset ?? 0 });
      else {
        run.pool.forget(r.buffer);
        results.set(name, r.tensor);
      }
    }
    const s = stats(run);
    let released = false;
    if (!opts.encoder) {
      dev.device.queue.submit([enc.finish()]);
      // Destroying after the submit is safe: the device frees them once that work is done.
      run.destroy();
      released = true;
    }
    return {
      ...s,
      results,
      release: () => {
        if (!released) run.destroy();
        released = true;
      },
    };
  } catch (e) {
    run.destroy();
    throw e;
  }
}

/** Compiles (once per device and module) every module of a program. */
export async function preparePipelines(
  device: GPUDevice,
  p: Program,
): Promise<Map<string, GPUComputePipeline>> {
  const out = new Map<string, GPUComputePipeline>();
  for (const m of p.modules) out.set(m.name, await cachedPipeline(device, m));
  return out;
}

/** An input staged before the run (a session's bound input). */
export interface StagedSource {
  readonly kind: 'staged';
  readonly staged: StagedInput;
}

interface Run {
  readonly dev: AcquiredDevice;
  readonly p: Program;
  readonly sizes: DimSizes;
  readonly chunk: ChunkChoice;
  readonly total: number;
  readonly pool: BufferPool;
  readonly runner: MatmulRunner;
  readonly buffers: Map<string, GPUBuffer>;
  readonly kernels: Map<
    string,
    { pipeline: GPUComputePipeline; group: GPUBindGroup; module: KernelModule }
  >;
  readonly uni: { words: Uint32Array; chunkStart: number; chunkRows: number };
  readonly uniform: GPUBuffer;
  /** Device copies and conversions of the inputs, to run before the program. */
  readonly staging: GPUCommandEncoder;
  readonly inputBytes: Map<string, number>;
  readonly destroy: () => void;
}

/** Stages the inputs and makes every buffer and bind group of a run. */
function setUp(
  dev: AcquiredDevice,
  p: Program,
  inputs: ReadonlyMap<string, InputSource | StagedSource>,
  sizes: DimSizes,
  opts: DeviceExecuteOptions,
  pipelines: ReadonlyMap<string, GPUComputePipeline>,
  encoder: GPUCommandEncoder | undefined,
): Run {
  const { device } = dev;
  const limits = {
    ...dev.limits,
    maxStorageBufferBindingSize: Math.min(
      dev.limits.maxStorageBufferBindingSize,
      opts.maxStorageBufferBindingSize ?? Infinity,
    ),
  };
  const chunk = chooseChunkRows(memoryModel(p, sizes), limits, opts);
  const total = p.plan.rows.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
  const pool = new BufferPool(device, limits);
  const runner = new MatmulRunner(device, {
    pool,
    tiles: p.matmul.tiles,
    source: programMatmulSource(p),
  });
  const destroy = () => {
    runner.destroy();
    pool.destroyAll();
  };
  try {
    const staging = encoder ?? device.createCommandEncoder({ label: 'projc inputs' });
    const staged = new Map<string, StagedInput>();
    const inputBytes = new Map<string, number>();
    for (const [name, src] of inputs) {
      const param = p.fn.params.find((q) => q.name === name);
      if (!param) continue;
      const needs = {
        own: p.plan.buffers.some((b) => b.name === `in.${name}`),
        arena: p.plan.buffers.some((b) => b.name === `arena.${name}`),
      };
      const s =
        src.kind === 'staged'
          ? src.staged
          : stageInput({ device, pool, encoder: staging }, name, param.dtype, needs, src);
      staged.set(name, s);
      inputBytes.set(name, src.kind === 'staged' ? 0 : s.uploadedBytes);
    }
    const inputWords = new Map<string, Uint32Array | 'device'>();
    const scalars = new Map<string, number>();
    for (const [name, s] of staged) {
      if (s.scalar !== undefined) scalars.set(name, s.scalar);
      if (s.arena) inputWords.set(name, s.arena.kind === 'host' ? s.arena.words : 'device');
    }
    const arena = arenaImage(p, sizes, chunk.chunkRows, inputWords);
    const uni = uniformImage(p, sizes, arena.offsets, scalars);
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
    const uniform = pool.create(
      'uniform',
      uni.words.byteLength,
      BufferUsage.UNIFORM | BufferUsage.COPY_DST,
    );
    const arenaBuf = pool.create('arena', arena.words.byteLength, storage);
    pool.upload(arenaBuf, arena.words);
    // Device inputs of the arena: copied into their slots after the image lands.
    for (const [name, s] of staged) {
      if (s.arena?.kind !== 'device') continue;
      const n = s.shape.reduce((a, b) => a * b, 1);
      const at = arena.offsets.get(`arena.${name}`);
      if (at === undefined) throw new InternalError(`no arena slot for ${name}`);
      if (n) staging.copyBufferToBuffer(s.arena.buffer, s.arena.offset, arenaBuf, at * 4, n * 4);
    }
    const buffers = new Map<string, GPUBuffer>([
      ['uniform', uniform],
      ['arena', arenaBuf],
    ]);
    for (const b of p.plan.buffers) {
      if (b.home === 'arena' || b.aliasOf) continue;
      if (b.role === 'input') {
        const own = staged.get(fnParamName(p, b.node))?.own;
        if (!own) throw new InternalError(`no input for ${b.name}`);
        buffers.set(b.name, own);
        continue;
      }
      const count = evalSize(b.elements, sizes, { start: 0, rows: chunk.chunkRows });
      const bytes = count * elementBytes(b);
      const target = b.result !== undefined ? opts.outputs?.get(b.result) : undefined;
      if (target && (target.offset ?? 0) === 0 && target.buffer.size >= bytes) {
        // Written in place; a new buffer would start at zero, so this one does too.
        staging.clearBuffer(target.buffer, 0, Math.ceil(bytes / 4) * 4);
        buffers.set(b.name, target.buffer);
        continue;
      }
      // Buffers of their own may pass the binding limit (a 128K-vocab weight): products bind ranges.
      buffers.set(b.name, pool.create(b.name, bytes, storage, { rangedBinding: b.home === 'own' }));
    }
    const kernels: Run['kernels'] = new Map();
    for (const m of p.modules) {
      const pipeline = pipelines.get(m.name);
      if (!pipeline) throw new InternalError(`module ${m.name} was not prepared`);
      const group = device.createBindGroup({
        label: m.name,
        layout: pipeline.getBindGroupLayout(0),
        entries: m.bindings.map((s) => ({
          binding: s.binding,
          resource: { buffer: bufferOf(buffers, s.buffer) },
        })),
      });
      kernels.set(m.name, { pipeline, group, module: m });
    }
    return {
      dev,
      p,
      sizes,
      chunk,
      total,
      pool,
      runner,
      buffers,
      kernels,
      uni,
      uniform,
      staging,
      inputBytes,
      destroy,
    };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** How the schedule's commands reach the queue. */
interface Recorder {
  /** The encoder the next commands go to. */
  encoder(): GPUCommandEncoder;
  /** Sets the chunk's first row and row count for the next commands. */
  setChunk(start: number, rows: number): void;
  /** The commands of one chunk (or one pass alone) are recorded. */
  endChunk(): void;
}

/** One submit per chunk, the uniform written before each (the queue orders the writes). */
function streamRecorder(run: Run): Recorder {
  let enc: GPUCommandEncoder | undefined;
  return {
    encoder: () => (enc ??= run.dev.device.createCommandEncoder({ label: 'projc chunk' })),
    setChunk(start, rows) {
      run.uni.words[run.uni.chunkStart] = start;
      run.uni.words[run.uni.chunkRows] = rows;
      run.pool.upload(run.uniform, run.uni.words);
    },
    endChunk() {
      if (enc) run.dev.device.queue.submit([enc.finish()]);
      enc = undefined;
      run.runner.afterSubmit();
    },
  };
}

/**
 * Everything in one encoder: each chunk's uniform block is one slice of an image buffer,
 * copied into the uniform buffer by the encoder itself before the chunk's passes.
 */
function recordRecorder(run: Run, enc: GPUCommandEncoder): Recorder & { finish(): void } {
  const blockWords = run.uni.words.length;
  const isPre = (i: number) => run.p.plan.sweeps[i]?.pre === true;
  // before + (each sweep's chunks + its after) + epilogue
  const blocks =
    2 + run.p.sweeps.reduce((s, sw) => s + 1 + (isPre(sw.index) ? 1 : run.chunk.chunks), 0);
  const image = new Uint32Array(blocks * blockWords);
  const imageBuf = run.pool.create(
    'uniform-image',
    image.byteLength,
    BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
  );
  let used = 0;
  return {
    encoder: () => enc,
    setChunk(start, rows) {
      if (used >= blocks) throw new InternalError('uniform image too small');
      run.uni.words[run.uni.chunkStart] = start;
      run.uni.words[run.uni.chunkRows] = rows;
      image.set(run.uni.words, used * blockWords);
      enc.copyBufferToBuffer(imageBuf, used * blockWords * 4, run.uniform, 0, blockWords * 4);
      used++;
    },
    endChunk() {},
    finish() {
      // Lands before the encoder's submit, whoever submits it.
      run.pool.upload(imageBuf, image.subarray(0, Math.max(1, used) * blockWords));
    },
  };
}

/**
 * The schedule: before, each sweep chunk by chunk then its after-kernels, the epilogue.
 * Yields the number of chunks of all sweeps after each chunk.
 */
function* schedule(run: Run, rec: Recorder): Generator<number, void, void> {
  const { p, sizes, chunk, total, runner, buffers } = run;
  const state = { start: 0, rows: 0 };
  const dispatch = (enc: GPUCommandEncoder, name: string) => {
    const k = run.kernels.get(name);
    if (!k) throw new InternalError(`no module ${name}`);
    const groups = workgroups(k.module, sizes, state);
    if (groups === 0) return;
    const pass = enc.beginComputePass({ label: name });
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, k.group);
    pass.dispatchWorkgroups(Math.min(groups, GRID_X), Math.ceil(groups / GRID_X));
    pass.end();
  };
  const runAlone = (names: readonly string[]) => {
    if (!names.length) return;
    state.start = 0;
    state.rows = 0;
    rec.setChunk(0, 0);
    const enc = rec.encoder();
    for (const n of names) dispatch(enc, n);
    rec.endChunk();
  };
  runAlone(p.before);
  // A pre-pass runs over all the rows at once (its per-row values are sized for them).
  const isPre = (i: number) => p.plan.sweeps[i]?.pre === true;
  const chunksInAll = p.sweeps.reduce((s, sw) => s + (isPre(sw.index) ? 1 : chunk.chunks), 0);
  for (const sw of p.sweeps) {
    const step = isPre(sw.index) ? Math.max(1, total) : chunk.chunkRows;
    for (let start = 0; start < total; start += step) {
      run.dev.throwIfLost();
      state.start = start;
      state.rows = Math.min(step, total - start);
      rec.setChunk(state.start, state.rows);
      const enc = rec.encoder();
      for (const s of sw.chunk) {
        if (s.kind === 'kernel') dispatch(enc, s.module);
        else encodeSplit(runner, enc, matmulArgs(s.spec, buffers, sizes, state));
      }
      rec.endChunk();
      yield chunksInAll;
    }
    runAlone(sw.after);
  }
  runAlone(p.epilogue);
}

interface ResultBuffer {
  readonly buffer: GPUBuffer;
  readonly bytes: number;
  readonly tensor: DeviceTensor;
  readonly dtype: DType;
  readonly dims: readonly string[];
}

/** Each result's buffer, storage and shape. */
function resultBuffers(run: Run): Map<string, ResultBuffer> {
  const out = new Map<string, ResultBuffer>();
  for (const r of run.p.fn.results) {
    const b = run.p.plan.buffers.find((x) => x.result === r.name && x.home === 'own');
    const node = run.p.fn.nodes[r.node];
    if (!b || !node) throw new InternalError(`result ${r.name} has no buffer`);
    const shape = node.dims.map((d) => run.sizes.get(d) ?? 0);
    const n = shape.reduce((s, x) => s * x, 1);
    const buffer = bufferOf(run.buffers, b.name);
    const dtype = isFloat(node.dtype) ? 'f32' : node.dtype === 'i32' ? 'i32' : 'bool';
    out.set(r.name, {
      buffer,
      bytes: Math.max(4, n * 4),
      tensor: { buffer, dtype, shape, offset: 0 },
      dtype: node.dtype,
      dims: node.dims,
    });
  }
  return out;
}

async function readResult(run: Run, r: ResultBuffer): Promise<Tensor> {
  const n = r.tensor.shape.reduce((s, x) => s * x, 1);
  const raw = await readbackSliced(run.pool, r.buffer, r.bytes);
  const data = new Float64Array(n);
  const view = isFloat(r.dtype)
    ? new Float32Array(raw, 0, n)
    : r.dtype === 'i32'
      ? new Int32Array(raw, 0, n)
      : new Uint32Array(raw, 0, n);
  for (let i = 0; i < n; i++) data[i] = view[i] ?? 0;
  return {
    dtype: isFloat(r.dtype) ? 'f32' : r.dtype,
    dims: r.dims,
    shape: r.tensor.shape,
    data,
  };
}

function stats(run: Run): RunStats {
  return {
    chunk: run.chunk,
    sweeps: run.p.plan.sweeps.filter((sw) => !sw.pre).length,
    prePasses: run.p.plan.sweeps.filter((sw) => sw.pre).length,
    peakBytes: run.pool.peakBytes,
    uploadedBytes: run.pool.uploadedBytes,
    inputBytes: run.inputBytes,
  };
}

function isScalarParam(p: Program, name: string): boolean {
  return p.fn.params.some((q) => q.name === name && q.dims.length === 0);
}

// Compiled pipelines per device, by module code: a program run again, or another program
// with the same module, does not compile its WGSL again.
const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

function cachedPipeline(device: GPUDevice, m: KernelModule): Promise<GPUComputePipeline> {
  let cache = pipelineCache.get(device);
  if (!cache) pipelineCache.set(device, (cache = new Map()));
  let p = cache.get(m.code);
  if (!p) {
    p = device.createComputePipelineAsync({
      label: m.name,
      layout: 'auto',
      compute: {
        module: device.createShaderModule({ label: m.name, code: m.code }),
        entryPoint: 'main',
      },
    });
    cache.set(m.code, p);
  }
  return p;
}

function fnParamName(p: Program, node: number): string {
  const name = p.fn.nodes[node]?.attrs.name;
  if (name === undefined) throw new InternalError(`%${node} is not a parameter`);
  return name;
}

function bufferOf(buffers: ReadonlyMap<string, GPUBuffer>, name: string): GPUBuffer {
  const b = buffers.get(name);
  if (!b) throw new InternalError(`no device buffer ${name}`);
  return b;
}

/** Workgroups of a module's dispatch for the current chunk. */
function workgroups(
  m: KernelModule,
  sizes: DimSizes,
  chunk: { start: number; rows: number },
): number {
  switch (m.dispatch.kind) {
    case 'rows':
      return chunk.rows;
    case 'kept': {
      const inner = Math.max(1, evalSize(m.dispatch.inner, sizes, chunk));
      if (chunk.rows === 0) return 0;
      return (
        Math.floor((chunk.start + chunk.rows - 1) / inner) - Math.floor(chunk.start / inner) + 1
      );
    }
    case 'elements':
      return Math.ceil(evalSize(m.dispatch.count, sizes, chunk) / m.workgroupSize);
    case 'groups':
      return evalSize(m.dispatch.count, sizes, chunk);
  }
}

type Args = Parameters<MatmulRunner['encode']>[1];

/**
 * Records a product, split in halves while an operand's range passes the binding limit,
 * along the dim that spans most of that operand: a weight too large to bind whole is read
 * a slice of vocabulary rows at a time (z = X·Wᵀ along N; dX = dz·W along K, the later
 * halves accumulating), and an accumulator like dW a slice of rows at a time.
 */
function encodeSplit(runner: MatmulRunner, enc: GPUCommandEncoder, a: Args): void {
  try {
    runner.encode(enc, a);
  } catch (e) {
    if (!(e instanceof OperandRangeError)) throw e;
    const span = { M: 0, N: 0, K: 0 };
    if (e.operand === 'A') Object.assign(span, { M: (a.M - 1) * a.sAm, K: (a.K - 1) * a.sAk });
    else if (e.operand === 'B') Object.assign(span, { N: (a.N - 1) * a.sBn, K: (a.K - 1) * a.sBk });
    else Object.assign(span, { M: (a.M - 1) * a.sCm, N: (a.N - 1) * a.sCn });
    const dim = (['M', 'N', 'K'] as const).reduce((x, y) => (span[y] > span[x] ? y : x));
    const n = a[dim];
    if (n <= 1) throw e;
    const h = Math.ceil(n / 2);
    if (dim === 'M') {
      encodeSplit(runner, enc, { ...a, M: h });
      encodeSplit(runner, enc, {
        ...a,
        M: a.M - h,
        offA: a.offA + h * a.sAm,
        offC: a.offC + h * a.sCm,
      });
    } else if (dim === 'N') {
      encodeSplit(runner, enc, { ...a, N: h });
      encodeSplit(runner, enc, {
        ...a,
        N: a.N - h,
        offB: a.offB + h * a.sBn,
        offC: a.offC + h * a.sCn,
      });
    } else {
      // C = A₁B₁ (+ the old C), then C += A₂B₂.
      encodeSplit(runner, enc, { ...a, K: h });
      encodeSplit(runner, enc, {
        ...a,
        K: a.K - h,
        offA: a.offA + h * a.sAk,
        offB: a.offB + h * a.sBk,
        accumulate: true,
      });
    }
  }
}

/** A product's arguments for the current chunk. */
function matmulArgs(
  s: MatmulSpec,
  buffers: ReadonlyMap<string, GPUBuffer>,
  sizes: DimSizes,
  chunk: { start: number; rows: number },
) {
  const e = (x: Parameters<typeof evalSize>[0]) => evalSize(x, sizes, chunk);
  const operand = (d: string) => (d === 'bf16' || d === 'f16' ? d : 'f32');
  return {
    a: bufferOf(buffers, s.a.buffer),
    b: bufferOf(buffers, s.b.buffer),
    c: bufferOf(buffers, s.c.buffer),
    aDtype: operand(s.a.dtype),
    bDtype: operand(s.b.dtype),
    accumulate: s.accumulate,
    M: e(s.M),
    N: e(s.N),
    K: e(s.K),
    offA: e(s.a.offset),
    sAm: e(s.a.sOuter),
    sAk: e(s.a.sK),
    offB: e(s.b.offset),
    sBk: e(s.b.sK),
    sBn: e(s.b.sOuter),
    offC: e(s.c.offset),
    sCm: e(s.c.sOuter),
    sCn: e(s.c.sK),
  } as const;
}
