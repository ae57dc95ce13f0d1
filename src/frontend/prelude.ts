import { readFileSync } from 'node:fs';
import type { SourceFile } from '../diagnostics/source.ts';

/** The prelude's source, shipped next to this file and parsed with every program. */
export const PRELUDE: SourceFile = {
  path: '<prelude>',
  text: readFileSync(new URL('./prelude.proj', import.meta.url), 'utf8'),
};
