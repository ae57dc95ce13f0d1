import { UserError } from '../diagnostics/diagnostic.ts';
import type { CompiledFile } from '../frontend/compile.ts';
import type { IrFunction } from '../ir/types.ts';
import { closest } from '../frontend/suggest.ts';
import { UsageError } from './usage.ts';

/** The kernel named by `--kernel`, or the file's only kernel. */
export function selectKernel(c: CompiledFile, path: string, name: string | undefined): IrFunction {
  const names = c.program.decls.filter((d) => d.kind === 'kernel').map((d) => d.name.name);
  if (name === undefined) {
    if (names.length === 1) {
      const k = c.kernels.get(names[0] ?? '');
      if (k) return k;
    }
    if (names.length === 0)
      throw new UserError({
        severity: 'error',
        code: 'P0114',
        message: `${path} declares no kernel`,
      });
    throw new UsageError(
      `${path} declares ${names.length} kernels (${names.join(', ')}): choose one with --kernel`,
    );
  }
  const k = c.kernels.get(name);
  if (k) return k;
  const near = closest(name, names);
  throw new UserError({
    severity: 'error',
    code: 'P0114',
    message: `${path} has no kernel \`${name}\``,
    notes: [`kernels: ${names.join(', ') || 'none'}`],
    help: near ? [`did you mean \`${near}\`?`] : [],
  });
}
