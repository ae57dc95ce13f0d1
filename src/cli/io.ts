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
