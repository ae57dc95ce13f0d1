import type { KernelModule } from '../../codegen/kernel-module.ts';
import { GRID_X } from '../../codegen/kernel-module.ts';
import { evalSize } from '../../codegen/layout.ts';
import type { MatmulSpec } from '../../codegen/matmul-spec.ts';
import { programMatmulSource, type Program } from '../../codegen/program.ts';
import { packForUpload } from '../../codegen/storage.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import { isFloat } from '../ir/types.ts';
import type { AcquiredDevice } from './device.ts';
import { BufferPool } from './buffers.ts';
import { MatmulRunner, OperandRangeError } from './matmul.ts';
import { chooseChunkRows, elementBytes, memoryModel, type ChunkChoice } from './memory.ts';
import { BufferUsage } from './usage.ts';
import { readbackSliced } from './readback.ts';
import { arenaImage, uniformImage } from './images.ts';

export interface ExecuteOptions {
  /** Lower the binding limit below the device's (tests of the splitting of large weights). */
  readonly maxStorageBufferBindingSize?: number;
  readonly chunkRows?: number;
  readonly memoryBudget?: number;
  /** Called after each chunk with (chunks done, chunks in all sweeps). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ExecuteResult {
  /** Every result by name (`grad.X` included). */
  readonly values: Map<string, Tensor>;
  readonly chunk: ChunkChoice;
  /** Sweeps over the chunks. */
  readonly sweeps: number;
  /** Pre-passes over all the rows at once (no products). */
  readonly prePasses: number;
  /** Device bytes at the peak of the run, as tracked by the buffer pool. */
  readonly peakBytes: number;
  /** Wall time of the whole call: upload, compute, readback (pipelines are cached per device). */
  readonly ms: number;
  /** Wall time of the sweeps and kernels alone, from the first dispatch to the device going idle. */
  readonly computeMs: number;
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
  const t0 = performance.now();
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
  try {
    const arena = arenaImage(p, sizes, chunk.chunkRows, inputs);
    const uni = uniformImage(p, sizes, arena.offsets, inputs);
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
    const uniform = pool.create(
      'uniform',
      uni.words.byteLength,
      BufferUsage.UNIFORM | BufferUsage.COPY_DST,
    );
    const arenaBuf = pool.create('arena', arena.words.byteLength, storage);
    pool.upload(arenaBuf, arena.words);
    const buffers = new Map<string, GPUBuffer>([
      ['uniform', uniform],
      ['arena', arenaBuf],
    ]);
    for (const b of p.plan.buffers) {
      if (b.home === 'arena' || b.aliasOf) continue;
      const count = evalSize(b.elements, sizes, { start: 0, rows: chunk.chunkRows });
      // Buffers of their own may pass the binding limit (a 128K-vocab weight): products bind ranges.
      const buf = pool.create(b.name, count * elementBytes(b), storage, {
        rangedBinding: b.home === 'own',
      });
      buffers.set(b.name, buf);
      if (b.role === 'input') {
        const t = inputs.get(fnParamName(p, b.node));
        if (!t) throw new InternalError(`no input for ${b.name}`);
        pool.upload(buf, packForUpload(b.dtype, t.data));
      }
    }
    const pipelines = new Map<
      string,
      { pipeline: GPUComputePipeline; group: GPUBindGroup; module: KernelModule }
    >();
    for (const m of p.modules) {
      const pipeline = await cachedPipeline(device, m);
      const group = device.createBindGroup({
        label: m.name,
        layout: pipeline.getBindGroupLayout(0),
        entries: m.bindings.map((s) => ({
          binding: s.binding,
          resource: { buffer: bufferOf(buffers, s.buffer) },
        })),
      });
      pipelines.set(m.name, { pipeline, group, module: m });
    }
    const state = { start: 0, rows: 0 };
    const writeUniform = () => {
      uni.words[uni.chunkStart] = state.start;
      uni.words[uni.chunkRows] = state.rows;
      const { buffer, byteOffset, byteLength } = uni.words;
      device.queue.writeBuffer(uniform, 0, buffer, byteOffset, byteLength);
    };
    const dispatch = (enc: GPUCommandEncoder, name: string) => {
      const k = pipelines.get(name);
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
      writeUniform();
      const enc = device.createCommandEncoder();
      for (const n of names) dispatch(enc, n);
      device.queue.submit([enc.finish()]);
    };

    await device.queue.onSubmittedWorkDone();
    const tCompute = performance.now();
    runAlone(p.before);
    // A pre-pass runs over all the rows at once (its per-row values are sized for them).
    const isPre = (i: number) => p.plan.sweeps[i]?.pre === true;
    const chunksInAll = p.sweeps.reduce((s, sw) => s + (isPre(sw.index) ? 1 : chunk.chunks), 0);
    let done = 0;
    for (const sw of p.sweeps) {
      const step = isPre(sw.index) ? Math.max(1, total) : chunk.chunkRows;
      for (let start = 0; start < total; start += step) {
        dev.throwIfLost();
        state.start = start;
        state.rows = Math.min(step, total - start);
        writeUniform();
        const enc = device.createCommandEncoder({ label: `sweep ${sw.index} rows ${start}` });
        for (const step of sw.chunk) {
          if (step.kind === 'kernel') dispatch(enc, step.module);
          else encodeSplit(runner, enc, matmulArgs(step.spec, buffers, sizes, state));
        }
        device.queue.submit([enc.finish()]);
        runner.afterSubmit();
        done++;
        // Bound the queue and report progress now and then.
        if (done % 8 === 0 || done === chunksInAll) {
          await device.queue.onSubmittedWorkDone();
          opts.onProgress?.(done, chunksInAll);
        }
      }
      runAlone(sw.after);
    }
    runAlone(p.epilogue);
    await device.queue.onSubmittedWorkDone();
    const computeMs = performance.now() - tCompute;
    dev.throwIfLost();

    const values = new Map<string, Tensor>();
    for (const r of p.fn.results) {
      const b = p.plan.buffers.find((x) => x.result === r.name && x.home === 'own');
      const node = p.fn.nodes[r.node];
      if (!b || !node) throw new InternalError(`result ${r.name} has no buffer`);
      const shape = node.dims.map((d) => sizes.get(d) ?? 0);
      const n = shape.reduce((s, x) => s * x, 1);
      const raw = await readbackSliced(pool, bufferOf(buffers, b.name), Math.max(4, n * 4));
      const data = new Float64Array(n);
      const view = isFloat(node.dtype)
        ? new Float32Array(raw, 0, n)
        : node.dtype === 'i32'
          ? new Int32Array(raw, 0, n)
          : new Uint32Array(raw, 0, n);
      for (let i = 0; i < n; i++) data[i] = view[i] ?? 0;
      values.set(r.name, {
        dtype: isFloat(node.dtype) ? 'f32' : node.dtype,
        dims: node.dims,
        shape,
        data,
      });
    }
    return {
      values,
      chunk,
      sweeps: p.plan.sweeps.filter((sw) => !sw.pre).length,
      prePasses: p.plan.sweeps.filter((sw) => sw.pre).length,
      peakBytes: pool.peakBytes,
      ms: performance.now() - t0,
      computeMs,
    };
  } finally {
    runner.destroy();
    pool.destroyAll();
  }
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
