#!/usr/bin/env node
// Writes src/frontend/prelude-text.ts from src/frontend/prelude.proj, so that the prelude
// is part of the compiled JavaScript and nothing reads a file when projc is imported (a
// browser has no file system). Run by `npm run build`; after editing prelude.proj run
// `npm run gen:prelude` (test/frontend/prelude-text.test.ts fails until you do).
// Plain JavaScript on purpose: it runs before anything is compiled, without tsx.
import { readFileSync, writeFileSync } from 'node:fs';

const source = new URL('../src/frontend/prelude.proj', import.meta.url);
const target = new URL('../src/frontend/prelude-text.ts', import.meta.url);

const next =
  '// Generated from prelude.proj by scripts/gen-prelude.mjs (`npm run gen:prelude`): do not edit.\n' +
  `export const PRELUDE_TEXT = ${JSON.stringify(readFileSync(source, 'utf8'))};\n`;
let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {
  // not generated yet
}
if (current !== next) writeFileSync(target, next);
console.log(
  `gen-prelude: src/frontend/prelude-text.ts ${current === next ? 'up to date' : 'written'}`,
);
