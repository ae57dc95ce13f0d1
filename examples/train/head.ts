// The LM head of the training examples, two ways on one WebGPU device:
//
// - `projc`: `Runtime.run(kernel, inputs, { grad: ['X', 'W'], chunkRows })`: the compiled,
//   chunked kernel; the rows × vocab logits never exist at once.
// - `eager`: the materialized baseline (src/bench/eager.ts) on the same joint IR (the kernel
//   and its derived backward, `differentiate(kernel, { wrt: ['X', 'W'] })`): one kernel per
//   node over whole tensors, the [rows, V] logits and their gradient materialized, freed
//   after last use as a caching allocator would.
//
// Both get the same inputs and return the loss (the kernel's result `out`), dL/dX, dL/dW
// and the peak device bytes of the call.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { prepareEager } from '../../src/bench/eager.ts';
import {
  compile,
  differentiate,
  renderDiagnostic,
  Runtime,
  type IrFunction,
  type Tensor,
} from '../../src/index.ts';

export type HeadKind = 'projc' | 'eager';
export type Storage = 'f32' | 'bf16';

/** A tensor input: row-major data and its shape; scalars are numbers. */
export type HeadInputs = Readonly<
  Record<string, { data: ArrayLike<number>; shape: readonly number[] } | number>
>;

export interface HeadResult {
  readonly loss: number;
  readonly dX: Float64Array;
  readonly dW: Float64Array;
  readonly peakBytes: number;
  /** Chunks of the projc run (1 for eager: everything materialized). */
  readonly chunks: number;
  readonly chunkRows: number;
}

/**
 * A kernel of an example file, with its bf16 tensors stored as `storage` (the tests' own
 * rewrite, test/runtime/gpu-helpers.ts: `bf16[` → `f32[`), failing loudly on a diagnostic.
 */
export function loadKernel(file: string, name: string, storage: Storage): IrFunction {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url));
  let text = readFileSync(path, 'utf8');
  if (storage === 'f32') text = text.replaceAll('bf16[', 'f32[');
  const { kernels, diagnostics } = compile(text, `examples/${file}`);
  for (const d of diagnostics) if (d.severity === 'error') console.error(renderDiagnostic(d));
  const k = kernels.get(name);
  if (!k) throw new Error(`examples/${file} has no kernel ${name} without errors`);
  return k;
}

export interface Head {
  readonly kind: HeadKind;
  run(inputs: HeadInputs): Promise<HeadResult>;
}

/** The projc head: the chunked kernel through the embedding API. */
export function projcHead(rt: Runtime, kernel: IrFunction, chunkRows: number): Head {
  return {
    kind: 'projc',
    async run(inputs) {
      const r = await rt.run(kernel, inputs, { grad: ['X', 'W'], chunkRows });
      const dX = r.grads.get('X');
      const dW = r.grads.get('W');
      const out = r.outputs.get('out');
      if (!dX || !dW || !out) throw new Error('projc: missing out, grad.X or grad.W');
      return {
        loss: out.data[0] as number,
        dX: dX.data,
        dW: dW.data,
        peakBytes: r.stats.peakBytes,
        chunks: r.stats.chunks,
        chunkRows: r.stats.chunkRows,
      };
    },
  };
}

/** The materialized baseline on the joint (forward + derived backward) IR of the kernel. */
export function eagerHead(rt: Runtime, kernel: IrFunction): Head {
  const joint = differentiate(kernel, { wrt: ['X', 'W'], cotangents: new Map() });
  return {
    kind: 'eager',
    async run(inputs) {
      const { tensors, sizes } = bind(kernel, inputs);
      const e = await prepareEager(rt.device, joint, tensors, sizes);
      try {
        await e.run();
        const res = await e.results();
        const out = res.get('out');
        const dX = res.get('grad.X');
        const dW = res.get('grad.W');
        if (!dX || !dW || !out) throw new Error('eager: missing out, grad.X or grad.W');
        const rows = (dX.shape as number[]).slice(0, -1).reduce((s, x) => s * x, 1);
        return {
          loss: out.data[0] as number,
          dX: dX.data,
          dW: dW.data,
          peakBytes: e.peakBytes(),
          chunks: 1,
          chunkRows: rows,
        };
      } finally {
        e.release();
      }
    },
  };
}

/** The inputs as interpreter tensors (dtype and dims from the kernel) and the dim sizes. */
function bind(
  kernel: IrFunction,
  inputs: HeadInputs,
): { tensors: Map<string, Tensor>; sizes: Map<string, number> } {
  const tensors = new Map<string, Tensor>();
  const sizes = new Map<string, number>();
  for (const p of kernel.params) {
    const v = inputs[p.name];
    if (v === undefined) continue;
    if (typeof v === 'number') {
      tensors.set(p.name, { dtype: p.dtype, dims: [], shape: [], data: Float64Array.of(v) });
      continue;
    }
    p.dims.forEach((d, i) => {
      const n = v.shape[i] ?? 0;
      const had = sizes.get(d);
      if (had !== undefined && had !== n) throw new Error(`${p.name}: ${d} is ${n}, not ${had}`);
      sizes.set(d, n);
    });
    tensors.set(p.name, {
      dtype: p.dtype,
      dims: p.dims,
      shape: [...v.shape],
      data: Float64Array.from(v.data),
    });
  }
  return { tensors, sizes };
}

export function makeHead(kind: HeadKind, rt: Runtime, kernel: IrFunction, chunkRows: number): Head {
  return kind === 'projc' ? projcHead(rt, kernel, chunkRows) : eagerHead(rt, kernel);
}
