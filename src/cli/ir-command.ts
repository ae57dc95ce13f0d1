import { differentiate } from '../autodiff/differentiate.ts';
import { compileFile } from '../frontend/compile.ts';
import { printFunction } from '../ir/print.ts';
import { planKernel } from '../plan/build-plan.ts';
import { printPlan } from '../plan/print-plan.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import type { CliValues } from './options.ts';
import { gradList, planningCotangents } from './options.ts';
import { selectKernel } from './select-kernel.ts';
import { parseVocabTile } from './bytes.ts';
import { UsageError } from './usage.ts';

/**
 * `projc ir FILE [--kernel K] [--grad X,W]`: the forward IR, with `--grad` the joint
 * forward + backward IR, and the chunk plan of that program. A single scalar result has cotangent 1; any other result gets a
 * tensor cotangent parameter `cotangent.NAME`, so the printed backward is the general one.
 */
export function irCommand(files: readonly string[], v: CliValues, io: Io): number {
  if (files.length !== 1) throw new UsageError('ir needs exactly one FILE');
  const path = files[0] ?? '';
  const c = compileFile(readSource(path));
  if (printDiagnostics(io, c.diagnostics)) return 1;
  const fn = selectKernel(c, path, v.kernel);
  const wrt = gradList(v.grad);
  // Derive and plan before printing anything, so that a bad --grad leaves no partial output.
  const cotangents = planningCotangents(fn, v.cotangent);
  const joint = wrt.length ? differentiate(fn, { wrt, cotangents }) : undefined;
  const tile = parseVocabTile(v['vocab-tile']);
  const planned = planKernel({
    kernel: fn,
    grad: wrt,
    cotangents,
    ...(typeof tile === 'number' ? { schedule: { vocabTile: tile } } : {}),
  });
  io.out(`# forward\n${printFunction(fn)}`);
  if (joint) {
    io.out(
      `\n# forward + backward (gradients of ${fn.results.map((r) => r.name).join(', ')} w.r.t. ${wrt.join(', ')})\n${printFunction(joint)}`,
    );
  }
  io.out(`\n# ${printPlan(planned.fn, planned.plan)}`);
  return 0;
}
