// `projc check` and `projc ir`: exit codes (0 ok, 1 diagnosed error, 2 usage), what goes to
// stdout and stderr, and the printed IR of the example, forward and forward + backward.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { USAGE } from '../../src/cli/usage.ts';

const dir = mkdtempSync(join(tmpdir(), 'projc-cli-'));
const CE = 'examples/cross_entropy.proj';
const EXAMPLES = readdirSync('examples')
  .filter((f) => f.endsWith('.proj'))
  .sort()
  .map((f) => `examples/${f}`);

async function projc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

let fileNo = 0;
function tempFile(text: string): string {
  const path = join(dir, `f${fileNo++}.proj`);
  writeFileSync(path, text);
  return path;
}

const TWO_KERNELS = `kernel row_lse(X: f32[N, V]) -> f32[N] {
  return logsumexp(X, V)
}

kernel total(X: f32[N, V]) -> f32 {
  return sum(X)
}
`;

const THREE_ERRORS = `kernel a(X: bf16[N, H], W: bf16[V, H]) -> f32[N, V] {
  return X @ W
}
kernel b(t: i32[N]) -> i32[N] {
  return t + 0.5
}
kernel c(x: f32[N]) -> f32 {
  return sum(x, V)
}
`;

describe('projc check', () => {
  it.each(EXAMPLES)('%s is clean', async (path) => {
    const r = await projc('check', path);
    const kernels = (readFileSync(path, 'utf8').match(/^kernel /gm) ?? []).length;
    expect(r).toEqual({
      code: 0,
      out: '',
      err: `ok: 1 file, ${kernels} kernel${kernels === 1 ? '' : 's'}\n`,
    });
  });

  it('checks several files at once', async () => {
    const r = await projc('check', ...EXAMPLES, tempFile(TWO_KERNELS));
    expect(r.code).toBe(0);
    const kernels = EXAMPLES.reduce(
      (n, p) => n + (readFileSync(p, 'utf8').match(/^kernel /gm) ?? []).length,
      0,
    );
    expect(r.err).toBe(`ok: ${EXAMPLES.length + 1} files, ${kernels + 2} kernels\n`);
  });

  it('exits 1 on a program with three errors, printing each', async () => {
    const path = tempFile(THREE_ERRORS);
    const r = await projc('check', path);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.match(/^error\[P0\d{3}\]/gm)).toEqual([
      'error[P0204]',
      'error[P0201]',
      'error[P0110]',
    ]);
    expect(r.err.split('\n').filter((l) => l.startsWith(`${path}:`))).toEqual([
      `${path}:2:12: error: \`@\` contracts the last dim of the left side with the first dim of the right side, but they are \`H\` and \`V\``,
      `${path}:5:14: error: \`+\` mixes i32 and f32 operands`,
      `${path}:8:17: error: unknown dim \`V\``,
    ]);
    expect(r.err).toMatch(/\nerror: 3 errors in 1 file\n$/);
  });

  it('counts errors over every file, and still checks the clean ones', async () => {
    const r = await projc('check', tempFile(THREE_ERRORS), CE);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\nerror: 3 errors in 2 files\n$/);
  });

  it('prints warnings but exits 0 for them alone', async () => {
    const path = tempFile('kernel k(x: f32[N]) -> f32 {\n  y = x * 2\n  return sum(x)\n}\n');
    const r = await projc('check', path);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`${path}:2:3: warning: \`y\` is assigned but never used\n`);
    expect(r.err).toContain('warning[P0115]');
    expect(r.err).toMatch(/ok: 1 file, 1 kernel\n$/);
  });

  it('a syntax error exits 1, never with a stack trace', async () => {
    const r = await projc('check', tempFile('kernel k(x: f32[N]) -> f32 {\n  return x +\n}\n'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[P0002]');
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('projc ir', () => {
  it('prints the forward IR of the example', async () => {
    const r = await projc('ir', CE);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out.startsWith('# forward\ncross_entropy(X: bf16[N, H], W: bf16[V, H], ')).toBe(true);
    expect(r.out).not.toContain('grad.');
    expect(r.out).toMatchSnapshot();
  });

  it('with --grad X,W prints forward + backward', async () => {
    const r = await projc('ir', CE, '--grad', 'X,W');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('# forward + backward (gradients of out w.r.t. X, W)\n');
    const [ir, plan] = r.out.split('\n# chunk plan');
    expect(ir).toMatch(/ {2}grad\.X = %\d+\n {2}grad\.W = %\d+\n$/);
    expect(plan).toMatch(/^ of cross_entropy: rows \[N\], 2 sweeps\n/);
    expect(r.out).toMatchSnapshot();
  });

  it('gives non-scalar results a cotangent parameter', async () => {
    const r = await projc('ir', 'examples/token_entropy.proj', '--grad', 'W');
    expect(r.code).toBe(0);
    expect(r.out).toContain('cotangent.logp');
    expect(r.out).toContain('cotangent.ent');
    expect(r.out.split('\n# chunk plan')[0]).toMatch(/ {2}grad\.W = %\d+\n$/);
  });

  it('--kernel chooses among several kernels', async () => {
    const path = tempFile(TWO_KERNELS);
    const r = await projc('ir', path, '--kernel', 'total');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '# forward\ntotal(X: f32[N, V])\n  %0 = param X : f32[N, V]\n  %1 = sum(%0) {axes=[N, V]} : f32\n  out = %1\n',
    );
    // No projection: no rows, no sweeps; the epilogue computes the result.
    expect(r.out).toContain(
      '# chunk plan of total: rows [], 0 sweeps\n  before sweep 0: %1 = sum(%0)',
    );
  });

  it('--kernel with a typo is P0114 with did-you-mean, exit 1', async () => {
    const path = tempFile(TWO_KERNELS);
    const r = await projc('ir', path, '--kernel', 'row_lsee');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `error[P0114]: ${path} has no kernel \`row_lsee\`\n  = note: kernels: row_lse, total\n  = help: did you mean \`row_lse\`?\n\n`,
    );
  });

  it('a file without a kernel is P0114, exit 1', async () => {
    const r = await projc('ir', tempFile('fn f(x) = x\n'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[P0114]: ');
    expect(r.err).toContain('declares no kernel');
  });

  it('a program with errors prints them and no IR, exit 1', async () => {
    const r = await projc('ir', tempFile(THREE_ERRORS), '--kernel', 'a');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.match(/^error\[P0\d{3}\]/gm)).toHaveLength(3);
  });

  it('--grad of an integer parameter is P0301, exit 1', async () => {
    const r = await projc('ir', CE, '--grad', 'target');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[P0301]: parameter `target` is i32 and cannot have a gradient');
  });
});

describe('usage errors exit 2 with the usage text', () => {
  const cases: [string, string[], string][] = [
    ['no command', [], 'error: no command given'],
    ['an unknown command', ['frobnicate', CE], 'error: unknown command `frobnicate`'],
    ['an unknown flag', ['check', '--frob', CE], "error: Unknown option '--frob'"],
    ['a missing file', ['check', 'no/such/file.proj'], 'error: cannot read no/such/file.proj'],
    ['check without files', ['check'], 'error: check needs at least one FILE'],
    ['ir without a file', ['ir'], 'error: ir needs exactly one FILE'],
    ['ir with two files', ['ir', CE, CE], 'error: ir needs exactly one FILE'],
    ['a flag without its value', ['ir', CE, '--kernel'], "error: Option '--kernel"],
  ];
  it.each(cases)('%s', async (_what, argv, message) => {
    const r = await projc(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.startsWith(message)).toBe(true);
    expect(r.err.endsWith(`\n\n${USAGE}`)).toBe(true);
  });

  it('an empty name in --grad', async () => {
    const r = await projc('ir', CE, '--grad', 'X,,W');
    expect(r.code).toBe(2);
    expect(r.err.startsWith('error: --grad takes names separated by commas, got `X,,W`\n')).toBe(
      true,
    );
    expect(r.err.endsWith(`\n\n${USAGE}`)).toBe(true);
  });

  // Known bug, reported: ir-command.ts prints the forward IR before it reads --grad, so a
  // bad --grad leaves a partial IR on stdout next to the exit code of a failure. When it is
  // fixed, this test fails: turn `it.fails` into `it`.
  it('a bad --grad prints no IR on stdout', async () => {
    for (const grad of ['X,,W', 'target']) {
      const r = await projc('ir', CE, '--grad', grad);
      expect(r.code).not.toBe(0);
      expect(r.out).toBe('');
    }
  });

  it('several kernels without --kernel', async () => {
    const path = tempFile(TWO_KERNELS);
    const r = await projc('ir', path);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(
      r.err.startsWith(
        `error: ${path} declares 2 kernels (row_lse, total): choose one with --kernel\n`,
      ),
    ).toBe(true);
  });

  it('help is not an error', async () => {
    for (const argv of [['help'], ['--help'], ['-h'], ['check', '--help']]) {
      const r = await projc(...argv);
      expect(r).toEqual({ code: 0, out: USAGE, err: '' });
    }
  });
});
