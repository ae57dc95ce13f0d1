// Running a generated program on a device, two ways: `execute`/`executeSources` stream
// the chunks (a submit each, waiting now and then to bound the queue and report progress)
// and read every result back; `encodeProgram` records the whole run synchronously into one
// encoder and leaves the results on the device (src/runtime/run-setup.ts stages a run,
// src/runtime/schedule.ts records its schedule).
import type { KernelModule } from '../../codegen/kernel-module.ts';
import type { Program } from '../../codegen/program.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import type { AcquiredDevice } from './device.ts';
import type { DeviceTensor, InputSource } from './input-sources.ts';
import {
  readResult,
  releaseWorkspace,
  resultBuffers,
  setUp,
  stats,
  type DeviceExecuteOptions,
  type ExecuteOptions,
  type Run,
  type RunStats,
  type StagedSource,
} from './run-setup.ts';
import { profileRun, type RunProfile } from './profile.ts';
import { recordRecorder, schedule, streamRecorder } from './schedule.ts';

export type {
  DeviceExecuteOptions,
  ExecuteOptions,
  OutputTarget,
  StagedSource,
} from './run-setup.ts';

export interface ExecuteResult extends RunStats {
  /** Every result by name (`grad.X` included). */
  readonly values: Map<string, Tensor>;
  /** Wall time of the whole call: upload, compute, readback (pipelines are cached per device). */
  readonly ms: number;
  /** Wall time of the sweeps and kernels alone, from the first dispatch to the device going idle. */
  readonly computeMs: number;
  /** With `profile`: each step's time (`computeMs` is then their sum, inputs left out). */
  readonly profile?: RunProfile;
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
    if (opts.profile) {
      const profile = await profileRun(run);
      dev.throwIfLost();
      const values = await readResults(run);
      const computeMs = profile.steps.reduce((s, t) => s + (t.phase === 'inputs' ? 0 : t.ms), 0);
      return { ...stats(run), values, ms: performance.now() - t0, computeMs, profile };
    }
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
    const values = await readResults(run);
    return { ...stats(run), values, ms: performance.now() - t0, computeMs };
  } finally {
    run.destroy();
  }
}

/**
 * Reads every result back once the run is done, after freeing the rest of its buffers:
 * the staging slices fit in the freed room, so the readback adds nothing to the peak.
 */
async function readResults(run: Run): Promise<Map<string, Tensor>> {
  const results = resultBuffers(run);
  const slice = releaseWorkspace(run, results);
  const values = new Map<string, Tensor>();
  for (const [name, r] of results) values.set(name, await readResult(run, r, slice));
  return values;
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
