import { InternalError } from '../diagnostics/diagnostic.ts';
import type { SourceFile } from '../diagnostics/source.ts';
import type { FnDecl } from './ast.ts';
import { parseProgram } from './parse.ts';
import { PRELUDE_TEXT } from './prelude-text.ts';

/**
 * The prelude's source, parsed with every program. Embedded as a string (prelude-text.ts,
 * generated from prelude.proj) so that importing projc reads no file, in browsers too.
 */
export const PRELUDE: SourceFile = { path: '<prelude>', text: PRELUDE_TEXT };

let fns: ReadonlyMap<string, FnDecl> | undefined;

/** The prelude's fns, parsed once. A broken prelude is a compiler bug. */
export function preludeFns(): ReadonlyMap<string, FnDecl> {
  if (!fns) {
    const { program, diagnostics } = parseProgram(PRELUDE);
    if (diagnostics.length)
      throw new InternalError(`the prelude does not parse: ${diagnostics[0]?.message}`);
    fns = new Map(
      program.decls.flatMap((d) => (d.kind === 'fn' ? [[d.name.name, d] as const] : [])),
    );
  }
  return fns;
}
