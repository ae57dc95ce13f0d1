// Training text for the examples: the Book of Genesis, King James Version, as printed by
// Debian's bible-kjv (see data/NOTE.md), cut into byte lines of varying length.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../src/run/rng.ts';

export const DATA_FILE = 'examples/train/data/genesis.txt';
/** Byte that starts (as input) and ends (as target) every line. */
export const NEWLINE = 10;
/** Input byte at padded positions (their targets are ignored). */
export const PAD_INPUT = 0;
/** The kernel's default ignore_index. */
export const IGNORE_INDEX = -100;

/** The verses of the data file, in order, without chapter headings and verse numbers. */
export function loadVerses(): string[] {
  const path = fileURLToPath(new URL('./data/genesis.txt', import.meta.url));
  const verses: string[] = [];
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    const m = /^\s+\d+ (.*)$/.exec(line);
    if (m?.[1]) verses.push(m[1].trim());
  }
  return verses;
}

/**
 * Word-wraps every verse to lines of at most `width` bytes: a verse's last line is as long
 * as what is left of it, so lines vary in length from a few bytes to `width`.
 */
export function wrapLines(verses: readonly string[], width: number): string[] {
  const out: string[] = [];
  for (const v of verses) {
    let cur = '';
    for (const word of v.split(' ')) {
      const w = word.slice(0, width);
      if (cur && cur.length + 1 + w.length > width) {
        out.push(cur);
        cur = w;
      } else cur = cur ? `${cur} ${w}` : w;
    }
    if (cur) out.push(cur);
  }
  return out;
}

/** A seeded permutation (Fisher–Yates with mulberry32). */
export function permutation(n: number, seed: number): number[] {
  const u = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
}

export interface Batch {
  /** Inputs [B, T]: newline, then the line's bytes, then PAD_INPUT. */
  readonly tokens: Int32Array;
  /** Targets [B, T]: the line's bytes, then newline, then IGNORE_INDEX. */
  readonly targets: Int32Array;
  /** Targets that are not ignored. */
  readonly kept: number;
}

/**
 * Batch `step` of B lines in a seeded order (reshuffled every epoch), each line padded to T
 * positions: next-byte prediction with the padding ignored by the loss.
 */
export function batchAt(
  lines: readonly string[],
  step: number,
  B: number,
  T: number,
  seed: number,
): Batch {
  const tokens = new Int32Array(B * T).fill(PAD_INPUT);
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  let kept = 0;
  const perEpoch = Math.floor(lines.length / B);
  const epoch = Math.floor(step / perEpoch);
  const order = permutation(lines.length, seed + 7919 * epoch);
  for (let b = 0; b < B; b++) {
    const line = lines[order[(step % perEpoch) * B + b] as number] as string;
    const bytes = [...Buffer.from(line, 'latin1')].slice(0, T - 1);
    tokens[b * T] = NEWLINE;
    for (let t = 0; t < bytes.length; t++) {
      tokens[b * T + t + 1] = bytes[t] as number;
      targets[b * T + t] = bytes[t] as number;
    }
    targets[b * T + bytes.length] = NEWLINE;
    kept += bytes.length + 1;
  }
  return { tokens, targets, kept };
}
