// Random argument vectors through the CLI's main function, in-process: any mix of commands,
// files, options and values, valid or not. A crash is an exit code other than 0, 1 or 2, an
// exception out of main, or an internal error (P0901) in the output. `bench` is left out
// (it benchmarks, for minutes); every path it may write lies in a scratch directory.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { main } from '../../src/cli/main.ts';
import { encodeFromNumbers, writeSafetensors } from '../../src/io/safetensors.ts';

const scratch = mkdtempSync(join(tmpdir(), 'projc-fuzz-cli-'));
mkdirSync(join(scratch, 'dir'));
const fifo = join(scratch, 'fifo');
spawnSync('mkfifo', [fifo]);
const bad = join(scratch, 'bad.proj');
writeFileSync(bad, 'kernel k(X: f32[N, H]) -> f32 {\n  return sum(X @ X.T, N)\n}\n');
const two = join(scratch, 'two.proj');
writeFileSync(
  two,
  'kernel a(X: f32[N, H], W: f32[V, H]) -> f32 {\n  return sum(logsumexp(X @ W.T, V), N)\n}\nkernel b(X: f32[N, H], W: f32[V, H]) -> (s: f32[N], m: f32) {\n  s = logsumexp(X @ W.T, V)\n  m = max(s, N)\n}\n',
);
const inputs = join(scratch, 'in.safetensors');
writeFileSync(
  inputs,
  writeSafetensors([
    encodeFromNumbers([0.1, -0.2, 0.3, 0.4, 0.5, -0.6], 'F32', [3, 2], 'X'),
    encodeFromNumbers([1, 0, 0, 1, 1, 1, -1, 2], 'BF16', [4, 2], 'W'),
    encodeFromNumbers([0, 3, -100], 'I64', [3], 'target'),
    encodeFromNumbers([1, 2, 3], 'F32', [3], 'extra'),
  ]),
);

const FILES = [
  'examples/cross_entropy.proj',
  'examples/token_entropy.proj',
  'examples/grpo.proj',
  'examples/distill.proj',
  bad,
  two,
  join(scratch, 'missing.proj'),
  join(scratch, 'dir'),
  '',
];

const DIMS = fc.oneof(
  fc
    .tuple(
      fc.subarray(['N', 'H', 'V', 'B', 'T', 'M', 'x']),
      fc.array(fc.constantFrom('1', '2', '3', '5', '8', '0', '-1', '1000000000000', 'x', ''), {
        minLength: 7,
        maxLength: 7,
      }),
    )
    .map(([names, sizes]) => names.map((n, i) => `${n}=${sizes[i]}`).join(',')),
  fc.constantFrom('N=4,H=4,V=8', 'B=2,T=3,H=4,V=8', 'N=3,H=2,V=4', 'N=4294967296,H=4,V=8', ''),
);

const OPTION = fc.oneof(
  DIMS.map((d) => ['--dims', d]),
  fc.constantFrom('X', 'W', 'X,W', 'target', 'nope', '', ',').map((g) => ['--grad', g]),
  fc.constantFrom('cpu', 'cpu', 'cpu', 'webgpu', 'gpu').map((b) => ['--backend', b]),
  fc.constantFrom('auto', '1', '2', '7', '0', '-3', 'x').map((c) => ['--chunk-rows', c]),
  fc.constantFrom('1MiB', '1B', '0.1', '0', '-1', '2GiB', 'x').map((m) => ['--memory-budget', m]),
  fc.constantFrom('0', '7', '-7', '1.5', 'x').map((s) => ['--seed', s]),
  fc
    .constantFrom('ignore_index=3', 'ignore_index=0.5', 'label_smoothing=-0.1', 'x=1', '=', 'k')
    .map((s) => ['--set', s]),
  fc
    .constantFrom('out=1', 'out=-2', 'out=extra', 'nope=1', 's=1', 'out=')
    .map((c) => ['--cotangent', c]),
  fc
    .constantFrom(
      join(scratch, 'o1'),
      join(scratch, 'o2.safetensors'),
      join(scratch, 'dir'),
      join(scratch, 'missing', 'x'),
      // A fifo stands for the device nodes: a regression replacing it harms nothing.
      fifo,
      '',
    )
    .map((o) => ['--out', o]),
  fc.constantFrom(inputs, bad, join(scratch, 'none.st'), '').map((i) => ['--inputs', i]),
  fc.constantFrom('a', 'b', 'k', 'cross_entropy', '').map((k) => ['--kernel', k]),
  fc.constant(['--json']),
  fc.constant(['--help']),
  fc.constantFrom('--bogus', '-x', '--', 'extra'),
);

/** Anything: a command, files, and options in any order (mostly usage errors). */
const chaos = fc
  .tuple(
    fc.constantFrom('check', 'ir', 'plan', 'compile', 'run', 'run', 'run', 'help', 'bogus', ''),
    fc.array(fc.constantFrom(...FILES), { maxLength: 2 }),
    fc.array(OPTION, { maxLength: 6 }),
  )
  .map(([cmd, files, opts]) => [cmd, ...files, ...opts.flat()].filter((x, i) => i > 0 || x !== ''));

/** Small valid dims of each example, so that most of these lines get past the parser. */
const EXAMPLE_DIMS: Record<string, string> = {
  'examples/cross_entropy.proj': 'N=4,H=3,V=8',
  'examples/token_entropy.proj': 'B=2,T=3,H=4,V=5',
  'examples/grpo.proj': 'B=2,T=3,H=4,V=5',
};

/** A valid command line with a few options of any value, each option once. */
const nearlyValid = fc
  .tuple(
    fc.constantFrom('run', 'run', 'run', 'plan', 'compile', 'ir', 'check'),
    fc.constantFrom(...Object.keys(EXAMPLE_DIMS)),
    fc.uniqueArray(OPTION, { maxLength: 3, selector: (o) => o[0] }),
    fc.constantFrom('cpu', 'cpu', 'webgpu'),
  )
  .map(([cmd, file, opts, backend]) => {
    const given = new Set(opts.map((o) => o[0]));
    const base = [cmd, file];
    if ((cmd === 'run' || cmd === 'plan') && !given.has('--dims') && !given.has('--inputs'))
      base.push('--dims', EXAMPLE_DIMS[file] ?? '');
    if (cmd === 'run' && !given.has('--backend')) base.push('--backend', backend);
    if (cmd === 'compile' && !given.has('--out')) base.push('--out', join(scratch, 'c'));
    return [...base, ...opts.flat()];
  });

/** One command line. */
export const cliCase: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 3, arbitrary: nearlyValid },
  { weight: 1, arbitrary: chaos },
);

/** Runs one command line; returns why it crashed, or undefined. */
export async function runCliCase(argv: readonly string[]): Promise<string | undefined> {
  let out = '';
  let err = '';
  let code: number;
  try {
    code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  } catch (e) {
    return `threw: ${e instanceof Error ? e.stack : String(e)}`;
  }
  if (![0, 1, 2].includes(code)) return `exit ${code}\n${err}`;
  if (/P0901|internal compiler error/.test(out + err)) return `internal error\n${err}`;
  return undefined;
}
