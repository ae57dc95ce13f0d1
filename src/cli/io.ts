import { readFileSync } from 'node:fs';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { renderForTerminal } from '../diagnostics/render.ts';
import type { SourceFile } from '../diagnostics/source.ts';
import type { Io } from '../shell/io.ts';
import { UsageError } from './usage.ts';

export type { Io } from '../shell/io.ts';

export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/**
 * A reader that goes away (`projc ir x.proj | head`) closes stdout under us: the next write
 * fails with EPIPE, which Node raises as an unhandled 'error' event and a stack trace. Nobody
 * reads the rest, so the command ends quietly with exit 0, as `head`'s caller expects.
 */
let guarded = false;
export function endQuietlyWhenStdoutCloses(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    process.stderr.write(`error: cannot write to stdout: ${e.message}\n`);
    process.exit(1);
  });
}

export function readSource(path: string): SourceFile {
  try {
    return { path, text: readFileSync(path, 'utf8') };
  } catch (e) {
    throw new UsageError(
      `cannot read ${path}: ${e instanceof Error ? e.message.replace(/^[A-Z]+: /, '') : String(e)}`,
    );
  }
}

/** Prints diagnostics to stderr; returns how many are errors. */
export function printDiagnostics(io: Io, diags: readonly Diagnostic[]): number {
  for (const d of diags) io.err(renderForTerminal(d) + '\n');
  return diags.filter((d) => d.severity === 'error').length;
}
