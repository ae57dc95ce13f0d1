#!/usr/bin/env node
// `npm run build`: everything the package ships, in dist/.
// 1. src/frontend/prelude-text.ts from prelude.proj (scripts/gen-prelude.mjs);
// 2. tsc -p tsconfig.build.json: the library as ESM (dist/src, dist/codegen, dist/grammar)
//    with .d.ts and source maps, type-checked with the DOM lib;
// 3. esbuild: the `projc` command as one bundle (dist/cli/main.js) plus a chunk per
//    command. Node resolves each ESM file of a package separately, and chevrotain's
//    lodash-es alone is ~200 ms of that, so `projc check` would take ~0.4 s unbundled;
//    bundled it starts in ~0.1 s, and `run`/`bench` load their code (and Dawn) on demand.
//    dist/cli/ sits as deep as src/cli/, so `import.meta.url`-relative paths still hold.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
execFileSync(process.execPath, ['scripts/gen-prelude.mjs'], { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dawn's native bindings stay a package of their own, loaded when a device is needed;
  // TF.js (a dev dependency, `projc bench`'s peer) is loaded from node_modules when installed.
  external: ['webgpu', '@tensorflow/*'],
  sourcemap: true,
  logLevel: 'warning',
});
console.log('build: dist/ written');
