// projc as a library: compile a kernel from source, look at its derived backward program,
// its chunk plan and its WGSL, then run it on WebGPU with typed arrays.
//
//   npx tsx examples/embed/cross-entropy.ts
//
// `main` is exported (and returns everything it computed) so that test/api/embed.test.ts
// can check it against the CPU interpreter; it runs by itself only when this file is the
// script being executed.
import { mulberry32 } from '../../src/run/rng.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compile,
  differentiate,
  generateProgram,
  planKernel,
  printFunction,
  printPlan,
  renderDiagnostic,
  Runtime,
  type IrFunction,
  type RunOutput,
  type Tensor,
} from '../../src/index.ts';

/** Sizes of the example: 37 rows in chunks of 8 leaves a ragged last chunk of 5. */
export const DIMS = { N: 37, H: 24, V: 100, B: 3, T: 5 } as const;
export const CHUNK_ROWS = 8;

export interface EmbedOptions {
  /** Where the report goes; default console.log. */
  readonly log?: (line: string) => void;
  /** Run on this device instead of acquiring one (`Runtime.create({ device })`). */
  readonly device?: GPUDevice;
}

export interface EmbedResult {
  readonly crossEntropy: IrFunction;
  readonly tokenStats: IrFunction;
  /** The inputs exactly as they were handed to the runtime. */
  readonly ceInputs: { X: Float32Array; W: number[]; target: Int32Array };
  readonly teInputs: { X: Float32Array; W: number[]; target: Int32Array };
  /** The cotangents given to `backward`: a tensor for logp, a number for ent. */
  readonly cotangents: { logp: Float32Array; ent: number };
  /** `run` of cross_entropy with grad: ['X', 'W']. */
  readonly run: RunOutput;
  /** `forward` of token_logp_entropy (logp and ent per token). */
  readonly forward: Map<string, Tensor>;
  /** `backward` of token_logp_entropy: gradients of Σ cot·result w.r.t. X and W. */
  readonly backward: Map<string, Tensor>;
}

/** A seeded uniform generator in [-1, 1), so every run sees the same inputs. */
function uniform(seed: number): () => number {
  const u = mulberry32(seed);
  return () => u() * 2 - 1;
}

function norm(t: Tensor | undefined): number {
  let s = 0;
  for (const v of t?.data ?? []) s += v * v;
  return Math.sqrt(s);
}

/** The one kernel of a `.proj` file next to this example, failing loudly on a diagnostic. */
function kernelFrom(file: string, name: string): IrFunction {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url));
  const { kernels, diagnostics } = compile(readFileSync(path, 'utf8'), `examples/${file}`);
  for (const d of diagnostics) console.error(renderDiagnostic(d));
  const k = kernels.get(name);
  if (!k) throw new Error(`examples/${file} has no kernel ${name} without errors`);
  return k;
}

export async function main(opts: EmbedOptions = {}): Promise<EmbedResult> {
  const log = opts.log ?? console.log;
  const { N, H, V, B, T } = DIMS;
  const rand = uniform(42);

  // 1. Compile. `compile(source, path)` never throws for bad source: errors are diagnostics.
  const crossEntropy = kernelFrom('cross_entropy.proj', 'cross_entropy');
  const tokenStats = kernelFrom('token_entropy.proj', 'token_logp_entropy');

  // 2. The backward program is derived, not written: print the joint forward + backward IR.
  //    A lone scalar result gets cotangent 1 by default (spec §7).
  const joint = differentiate(crossEntropy, { wrt: ['X', 'W'], cotangents: new Map() });
  log('# forward + backward IR of cross_entropy');
  log(printFunction(joint));

  // 3. The chunk plan: which values are per row, carried across chunks, or epilogue, and
  //    how many sweeps over the chunks it takes (1 here, after a pre-pass over all the rows that
  //    counts the kept rows).
  const planned = planKernel({ kernel: crossEntropy, grad: ['X', 'W'] });
  log(`# ${printPlan(planned.fn, planned.plan)}`);

  // 4. The WGSL: generated modules (row, carry, epilogue kernels) and the matmuls the chunk
  //    loop runs with the generic strided matmul kernel.
  const program = generateProgram(planned.fn, planned.plan);
  log('# WGSL modules');
  for (const m of program.modules)
    log(
      `  ${m.name.padEnd(16)} dispatch ${m.dispatch.kind.padEnd(8)} ${m.bindings.length} bindings, ${m.code.split('\n').length} lines`,
    );
  for (const sw of program.sweeps)
    for (const step of sw.chunk)
      if (step.kind === 'matmul')
        log(
          `  sweep ${sw.index} matmul %${step.spec.node} (${step.spec.a.dtype} × ${step.spec.b.dtype}${step.spec.accumulate ? ', accumulated over chunks' : ''})`,
        );

  // 5. Run. Tensors are { data, shape } in row-major order: any numeric typed array or a
  //    plain array. bf16 parameters are rounded to bf16 on upload, so plain numbers will do.
  const ceInputs = {
    X: Float32Array.from({ length: N * H }, rand),
    W: Array.from({ length: V * H }, rand),
    // Every fifth target is ignore_index (-100): those rows count for nothing.
    target: Int32Array.from({ length: N }, (_, i) =>
      i % 5 === 4 ? -100 : Math.floor(((rand() + 1) / 2) * V),
    ),
  };
  const rt = await Runtime.create(opts.device ? { device: opts.device } : {});
  try {
    log(`# on ${rt.device.adapterInfo}`);
    const run = await rt.run(
      crossEntropy,
      {
        X: { data: ceInputs.X, shape: [N, H] },
        W: { data: ceInputs.W, shape: [V, H] },
        target: { data: ceInputs.target, shape: [N] },
        // Scalars are numbers; label_smoothing keeps its default (0).
        ignore_index: -100,
      },
      { grad: ['X', 'W'], chunkRows: CHUNK_ROWS },
    );
    const s = run.stats;
    log(`loss = ${run.outputs.get('out')?.data[0]}`);
    log(`‖dL/dX‖ = ${norm(run.grads.get('X'))}, ‖dL/dW‖ = ${norm(run.grads.get('W'))}`);
    log(
      `${s.chunks} chunks of ${s.chunkRows} rows, ${s.sweeps} sweeps, peak ${s.peakBytes} bytes (predicted ${s.predictedPeakBytes}), ${s.ms.toFixed(1)} ms`,
    );

    // 6. Forward now, backward later (torch.utils.checkpoint style): `forward` keeps only
    //    the inputs; `backward` recomputes each chunk's logits. Results here are per token,
    //    so their cotangents come from the caller: a tensor for logp (an advantage per
    //    token, as in a policy gradient), a number (broadcast) for ent.
    const teInputs = {
      X: Float32Array.from({ length: B * T * H }, rand),
      W: ceInputs.W,
      target: Int32Array.from({ length: B * T }, () => Math.floor(((rand() + 1) / 2) * V)),
    };
    const { outputs: forward, saved } = await rt.forward(
      tokenStats,
      {
        X: { data: teInputs.X, shape: [B, T, H] },
        W: { data: teInputs.W, shape: [V, H] },
        target: { data: teInputs.target, shape: [B, T] },
      },
      { chunkRows: 4 },
    );
    log(
      `logp[0, :] = ${[...(forward.get('logp')?.data.slice(0, T) ?? [])].map((v) => v.toFixed(4))}`,
    );
    log(
      `ent[0, :]  = ${[...(forward.get('ent')?.data.slice(0, T) ?? [])].map((v) => v.toFixed(4))}`,
    );
    const cotangents = { logp: Float32Array.from({ length: B * T }, rand), ent: -0.01 };
    const { grads: backward, stats } = await rt.backward(saved, ['X', 'W'], {
      logp: { data: cotangents.logp, shape: [B, T] },
      ent: cotangents.ent,
    });
    log(`backward: ‖X̄‖ = ${norm(backward.get('X'))}, ‖W̄‖ = ${norm(backward.get('W'))}`);
    log(`          ${stats.chunks} chunks of ${stats.chunkRows} rows, ${stats.sweeps} sweep(s)`);
    return {
      crossEntropy,
      tokenStats,
      ceInputs,
      teInputs,
      cotangents,
      run,
      forward,
      backward,
    };
  } finally {
    rt.release();
  }
}

// Run only as a script, not when a test imports `main`.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
