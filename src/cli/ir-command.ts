import { differentiate, type Cotangent } from '../autodiff/differentiate.ts';
import { compileFile } from '../frontend/compile.ts';
import { printFunction } from '../ir/print.ts';
import { planKernel } from '../plan/build-plan.ts';
import { printPlan } from '../plan/print-plan.ts';
import type { IrFunction } from '../ir/types.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import type { CliValues } from './options.ts';
import { gradList } from './options.ts';
import { selectKernel } from './select-kernel.ts';
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
  // Derive before printing anything, so that a bad --grad leaves no partial output.
  const joint = wrt.length
    ? differentiate(fn, { wrt, cotangents: defaultCotangents(fn) })
    : undefined;
  const cotangents = defaultCotangents(fn);
  const planned = planKernel({ kernel: fn, grad: wrt, cotangents });
  io.out(`# forward\n${printFunction(fn)}`);
  if (joint) {
    io.out(
      `\n# forward + backward (gradients of ${fn.results.map((r) => r.name).join(', ')} w.r.t. ${wrt.join(', ')})\n${printFunction(joint)}`,
    );
  }
  io.out(`\n# ${printPlan(planned.fn, planned.plan)}`);
  return 0;
}

function defaultCotangents(fn: IrFunction): Map<string, Cotangent> {
  const onlyScalar =
    fn.results.length === 1 && (fn.nodes[fn.results[0]?.node ?? -1]?.dims.length ?? 1) === 0;
  return new Map(
    fn.results.map((r) => [r.name, onlyScalar ? { kind: 'const', value: 1 } : { kind: 'tensor' }]),
  );
}
