import { readFileSync } from 'node:fs';
import { InternalError } from '../diagnostics/diagnostic.ts';
import type { SourceFile } from '../diagnostics/source.ts';
import type { FnDecl } from './ast.ts';
import { parseProgram } from './parse.ts';

/** The prelude's source, shipped next to this file and parsed with every program. */
export const PRELUDE: SourceFile = {
  path: '<prelude>',
  text: readFileSync(new URL('./prelude.proj', import.meta.url), 'utf8'),
};

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
