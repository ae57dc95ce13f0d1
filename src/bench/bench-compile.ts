// Compile time of the examples (source → WGSL), and the seed case on paper: both need no
// device.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProgram } from '../../codegen/program.ts';
import type { Cotangent } from '../autodiff/differentiate.ts';
import { PLAN_LIMITS } from '../plan/device-limits.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import { compileFile } from '../frontend/compile.ts';
import { bindDims } from '../interp/bind.ts';
import { isFloat, type IrFunction } from '../ir/types.ts';
import { planKernel } from '../plan/build-plan.ts';
import { materializedBytes } from '../runtime/memory.ts';
import { chooseShape } from '../runtime/shape-choice.ts';
import { programMaker } from '../run/program-maker.ts';
import { inputsAndResultsBytes } from './memory-floor.ts';
import { spread } from './bench-stats.ts';
import type { CompileTiming, PaperCase } from './bench-types.ts';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));

/** The floating tensor parameters of a kernel: every one it can be differentiated by. */
export function floatTensorParams(fn: IrFunction): string[] {
  return fn.params.filter((p) => p.dims.length > 0 && isFloat(p.dtype)).map((p) => p.name);
}

/**
 * The cotangents of a full training call: the default (1) for a lone scalar result, a
 * tensor for every result otherwise (with the spec's default of 0 such a kernel would
 * have no backward at all).
 */
export function trainingCotangents(fn: IrFunction): Map<string, Cotangent> {
  const lone = fn.results.length === 1 && fn.nodes[fn.results[0]?.node ?? -1]?.dims.length === 0;
  if (lone) return new Map();
  return new Map(fn.results.map((r) => [r.name, { kind: 'tensor' } as const]));
}

/** Source text → WGSL for every kernel of a file, gradients of every float tensor parameter. */
export function compileToWgsl(path: string, text: string) {
  const c = compileFile({ path, text });
  const errors = c.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new InternalError(`${path}: ${errors[0]?.message}`);
  const programs = [...c.kernels.values()].map((k) => {
    const planned = planKernel({
      kernel: k,
      grad: floatTensorParams(k),
      cotangents: trainingCotangents(k),
    });
    return generateProgram(planned.fn, planned.plan);
  });
  return { kernels: [...c.kernels.keys()], programs };
}

/**
 * Median compile time of each example over `runs` timed runs after one untimed run
 * (which pays for the JIT of the compiler's own code).
 */
export function timeCompiles(runs: number, dir = EXAMPLES_DIR): CompileTiming[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.proj'))
    .sort();
  return files.map((f) => {
    const text = readFileSync(join(dir, f), 'utf8');
    const first = compileToWgsl(f, text);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      compileToWgsl(f, text);
      times.push(performance.now() - t0);
    }
    const modules = first.programs.flatMap((p) => p.modules);
    return {
      file: `examples/${f}`,
      kernels: first.kernels,
      ms: spread(times),
      modules: modules.length,
      wgslBytes: modules.reduce((s, m) => s + m.code.length, 0),
    };
  });
}

export const PAPER_DIMS = { N: 16384, H: 4096, V: 128256 } as const;

/**
 * `projc plan examples/cross_entropy.proj --dims N=16384,H=4096,V=128256 --grad X,W`: the
 * predicted peak of projc against materializing the logits, with the limits `plan` assumes.
 */
export function paperCase(dir = EXAMPLES_DIR): PaperCase {
  const path = join(dir, 'cross_entropy.proj');
  const c = compileFile({ path, text: readFileSync(path, 'utf8') });
  const fn = c.kernels.get('cross_entropy');
  if (!fn) throw new InternalError('examples/cross_entropy.proj has no kernel cross_entropy');
  const given = new Map<string, number>(Object.entries(PAPER_DIMS));
  const shapes = new Map(
    fn.params
      .filter((p) => p.dims.length)
      .map((p) => [p.name, p.dims.map((d) => given.get(d) ?? 0)]),
  );
  const sizes = bindDims(fn, shapes, given);
  // The planner's choice, as `projc plan` makes it: rows-only or vocabulary tiles.
  const shape = chooseShape(programMaker(fn, ['X', 'W'], new Map()), sizes, PLAN_LIMITS, {});
  const { program, chunk: choice } = shape;
  const baseline = materializedBytes(program, sizes);
  const tiles = shape.shape.kind === 'tiles' ? shape.shape : undefined;
  return {
    command: `projc plan examples/cross_entropy.proj --dims ${Object.entries(PAPER_DIMS)
      .map(([d, n]) => `${d}=${n}`)
      .join(',')} --grad X,W`,
    dims: PAPER_DIMS,
    shape: tiles ? `${tiles.dim} tiles of ${tiles.width}` : 'rows-only',
    floorBytes: inputsAndResultsBytes(fn, program, sizes),
    chunkRows: choice.chunkRows,
    chunks: choice.chunks,
    predictedPeakBytes: choice.predictedPeakBytes,
    materializedBytes: baseline,
    ratio: choice.predictedPeakBytes / baseline,
  };
}
