#!/usr/bin/env node
// The `projc` command. The compiler is TypeScript run through tsx's loader, so a checkout
// works after `npm ci` without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
