#!/usr/bin/env node
// The `projc` command: the compiled CLI in dist/. An installed package ships it built; a
// checkout builds it on `npm ci` (the `prepare` script) or with `npm run build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('projc: dist/ is not built here; run `npm run build` first\n');
  process.exit(3);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
