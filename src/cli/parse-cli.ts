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
  'vocab-tile': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  profile: { type: 'boolean' },
  'matmul-tiles': { type: 'string' },
  grid: { type: 'string' },
  repeats: { type: 'string' },
  peers: { type: 'string' },
  'no-floor': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;

function isOption(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

/**
 * Parses the command line. Beyond `parseArgs`: a negative number is a value (`--seed -7`,
 * which parseArgs calls ambiguous); an option given twice is a usage error rather than the
 * last one silently winning, except `--dims`, whose lists merge (a dim sized twice is still
 * an error, from parseDims), and the repeatable `--set`/`--cotangent`, whose names must
 * differ.
 */
export function parseCli(argv: readonly string[]) {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (
      isOption(name) &&
      OPTIONS[name].type === 'string' &&
      next !== undefined &&
      /^-(\d|\.\d|inf$|nan$)/i.test(next)
    ) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const seen = new Map<string, string[]>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    seen.set(t.name, [...(seen.get(t.name) ?? []), t.value ?? '']);
  }
  for (const [name, values] of seen) {
    if (values.length < 2) continue;
    if (name === 'dims') continue;
    if (name === 'set' || name === 'cotangent') {
      const keys = values.map((v) => v.slice(0, Math.max(0, v.indexOf('='))).trim());
      const twice = keys.find((k, i) => k !== '' && keys.indexOf(k) !== i);
      if (twice !== undefined)
        throw new UsageError(`--${name} ${twice} is given twice; give each name once`);
      continue;
    }
    throw new UsageError(`--${name} is given twice; give it once`);
  }
  const dims = seen.get('dims');
  const { tokens: _tokens, ...rest } = parsed;
  return dims && dims.length > 1
    ? { ...rest, values: { ...rest.values, dims: dims.join(',') } }
    : rest;
}
