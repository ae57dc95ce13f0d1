import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { compileFile } from '../frontend/compile.ts';
import type { IrFunction } from '../ir/types.ts';
import { isFloat } from '../ir/types.ts';
import { planKernel } from '../plan/build-plan.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import { UsageError } from './usage.ts';

/** `projc check FILE...`: diagnostics for every file; exit 1 if any has an error. */
export function checkCommand(files: readonly string[], io: Io): number {
  if (files.length === 0) throw new UsageError('check needs at least one FILE');
  let errors = 0;
  let kernels = 0;
  for (const path of files) {
    const c = compileFile(readSource(path));
    errors += printDiagnostics(io, c.diagnostics);
    kernels += c.kernels.size;
    for (const k of c.kernels.values()) errors += printDiagnostics(io, chunkability(k));
  }
  const files_ = `${files.length} file${files.length === 1 ? '' : 's'}`;
  io.err(
    errors
      ? `error: ${errors} error${errors === 1 ? '' : 's'} in ${files_}\n`
      : `ok: ${files_}, ${kernels} kernel${kernels === 1 ? '' : 's'}\n`,
  );
  return errors ? 1 : 0;
}

/**
 * Whether the kernel can run chunked (spec §8) in its most demanding call shape: every
 * floating tensor parameter differentiated, every result with a tensor cotangent.
 */
function chunkability(k: IrFunction): Diagnostic[] {
  const grad = k.params.filter((p) => isFloat(p.dtype) && p.dims.length > 0).map((p) => p.name);
  const cotangents = new Map(k.results.map((r) => [r.name, { kind: 'tensor' } as const]));
  try {
    planKernel({ kernel: k, grad, cotangents });
    planKernel({ kernel: k });
    return [];
  } catch (e) {
    if (e instanceof UserError) return [...e.diagnostics];
    throw e;
  }
}
