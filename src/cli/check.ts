import { compileFile } from '../frontend/compile.ts';
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
  }
  const files_ = `${files.length} file${files.length === 1 ? '' : 's'}`;
  io.err(
    errors
      ? `error: ${errors} error${errors === 1 ? '' : 's'} in ${files_}\n`
      : `ok: ${files_}, ${kernels} kernel${kernels === 1 ? '' : 's'}\n`,
  );
  return errors ? 1 : 0;
}
