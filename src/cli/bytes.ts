import { UsageError } from './usage.ts';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `256MiB`, `2GiB`, `1.5GB`, `1e9` → bytes. */
export function parseBytes(flag: string, s: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = UNITS[(m?.[2] ?? 'x').toLowerCase()];
  if (!m || unit === undefined)
    throw new UsageError(`${flag} takes a size like 256MiB, 2GiB or 1e9, got \`${s}\``);
  const v = Number(m[1]) * unit;
  if (!(v > 0) || !Number.isFinite(v))
    throw new UsageError(`${flag} must be positive, got \`${s}\``);
  if (v < 1) throw new UsageError(`${flag} must be at least 1 byte, got \`${s}\``);
  return Math.floor(v);
}

/** `--chunk-rows auto|K`. */
export function parseChunkRows(s: string | undefined): number | undefined {
  if (s === undefined || s === 'auto') return undefined;
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < 1)
    throw new UsageError(`--chunk-rows takes auto or a positive integer, got \`${s}\``);
  return v;
}

/** `--vocab-tile auto|rows|T`: the planner's shape, rows-only, or vocabulary tiles of T. */
export function parseVocabTile(s: string | undefined): number | 'rows' | undefined {
  if (s === undefined || s === 'auto') return undefined;
  if (s === 'rows') return 'rows';
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < 1)
    throw new UsageError(`--vocab-tile takes auto, rows or a positive integer, got \`${s}\``);
  return v;
}
