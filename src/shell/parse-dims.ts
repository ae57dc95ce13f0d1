import { UsageError } from './usage-error.ts';

/** `N=8,H=16` → Map { N: 8, H: 16 }, each a positive integer. */
export function parseDims(s: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of s.split(',')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || !m[1] || !m[2])
      throw new UsageError(`--dims takes NAME=SIZE pairs separated by commas, got \`${part}\``);
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new UsageError(`--dims ${m[1]} must be a positive integer, got ${m[2]}`);
    if (out.has(m[1])) throw new UsageError(`--dims sizes \`${m[1]}\` twice; give each dim once`);
    out.set(m[1], n);
  }
  return out;
}
