// Shared by the hardening tests: the CLI in-process with its output captured, and
// generators of the adversarial programs of issue 13.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';

export const scratch = mkdtempSync(join(tmpdir(), 'projc-harden-'));

let fileNo = 0;
/** Writes a program to a fresh file of the scratch directory; returns its path. */
export function proj(text: string): string {
  const path = join(scratch, `p${fileNo++}.proj`);
  writeFileSync(path, text);
  return path;
}

/** `projc ...` in-process: exit code and the text of both streams. */
export async function projc(
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/**
 * `projc ARGS` in a child process running the sources (not a build), under a file-size
 * limit of `blocks` 512-byte blocks: a write past it fails with EFBIG, as one to a full disk
 * fails with ENOSPC.
 */
export function projcWithFileLimit(blocks: number, args: readonly string[]) {
  const script =
    "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(process.argv.slice(1));";
  return spawnSync(
    'bash',
    [
      '-c',
      `ulimit -f ${blocks}; exec "$@"`,
      'bash',
      'node',
      '--import',
      'tsx',
      '-e',
      script,
      ...args,
    ],
    { encoding: 'utf8' },
  );
}

/** The value of `out = ...` in `projc run`'s report. */
export function outValue(report: string): number {
  const m = /^\s*out\s*=\s*(\S+)/m.exec(report);
  if (!m?.[1]) throw new Error(`no \`out =\` in:\n${report}`);
  return Number(m[1]);
}

const HEAD = 'kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {\n';

/** `a_i = step(a_{i-1})` for `n` statements over the [N, V] logits, then a loss. */
export function statementChain(n: number, step: (prev: string) => string): string {
  const lines = ['  a0 = X @ W.T'];
  for (let i = 1; i < n; i++) lines.push(`  a${i} = ${step(`a${i - 1}`)}`);
  return `${HEAD}${lines.join('\n')}\n  return sum(logsumexp(a${n - 1}, V), N)\n}\n`;
}

/** One expression summing `n` terms of the logits. */
export function longSum(n: number): string {
  const terms = Array.from({ length: n }, (_, i) => `z * ${(i % 7) + 1}`);
  return `${HEAD}  z = X @ W.T\n  return sum(logsumexp(${terms.join(' + ')}, V), N) / ${n}\n}\n`;
}

/** `fn g_i(x) = body(g_{i-1})` for i = 1..levels, called once on the logits. */
export function fnTower(levels: number, body: (prev: string) => string): string {
  const fns = ['fn g0(x) = x * 2'];
  for (let i = 1; i <= levels; i++) fns.push(`fn g${i}(x) = ${body(`g${i - 1}`)}`);
  return `${fns.join('\n')}\n${HEAD}  z = X @ W.T\n  return sum(logsumexp(g${levels}(z), V), N)\n}\n`;
}
