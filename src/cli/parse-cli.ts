import { parseArgs } from 'node:util';
import { UsageError } from './usage.ts';

// The flags of every command (its own file so that option helpers can name the parsed type
// without importing main back).
export type ParsedArgs = ReturnType<typeof parseCli>;

const OPTIONS = {
  kernel: { type: 'string' },
  grad: { type: 'string' },
  inputs: { type: 'string' },
  dims: { type: 'string' },
  seed: { type: 'string' },
  set: { type: 'string', multiple: true },
  cotangent: { type: 'string', multiple: true },
  backend: { type: 'string' },
  'chunk-rows': { type: 'string' },
  'memory-budget': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  grid: { type: 'string' },
  repeats: { type: 'string' },
  peers: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseCli(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}
