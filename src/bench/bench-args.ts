// The arguments of `projc bench`: the grid of shapes, the chunk sizes to compare and the
// number of repeats, parsed from the command line into plain data.
import { UsageError } from '../shell/usage-error.ts';
import type { IrFunction } from '../ir/types.ts';
import { parseDims } from '../shell/parse-dims.ts';

/** The default grid: sized so that the default run takes a few minutes on llvmpipe (2 cores). */
export const DEFAULT_GRID = 'N=256|1024|4096,V=512|2048';
/** Dims that neither `--grid` nor `--dims` sizes take these sizes when the kernel has them. */
export const DEFAULT_DIMS: Readonly<Record<string, number>> = { H: 64 };
export const DEFAULT_REPEATS = 5;
/** What `npm run bench` runs. */
export const NPM_BENCH_COMMAND = 'npx projc bench examples/cross_entropy.proj --grad X,W';
/** The fixed chunk sizes run besides the automatic choice; `all` is every row in one chunk. */
export const DEFAULT_CHUNK_ROWS = '64,256,all';

/** A chunk size to run projc with: chosen by the runtime, a number of rows, or all rows. */
export type ChunkRequest = 'auto' | 'all' | number;

/** `N=256|1024,V=512|2048` → [['N', [256, 1024]], ['V', [512, 2048]]], in the order given. */
export function parseGrid(s: string): [string, number[]][] {
  const out: [string, number[]][] = [];
  for (const part of s.split(',')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([0-9|\s]+)$/.exec(part);
    if (!m || !m[1] || !m[2])
      throw new UsageError(
        `--grid takes NAME=SIZE|SIZE|... separated by commas, got \`${part.trim()}\``,
      );
    const name = m[1];
    if (out.some(([d]) => d === name)) throw new UsageError(`--grid names ${name} twice`);
    const sizes = m[2].split('|').map((x) => x.trim());
    const values = sizes.map((x) => {
      const n = Number(x);
      if (x === '' || !Number.isSafeInteger(n) || n < 1)
        throw new UsageError(`--grid ${name} sizes must be positive integers, got \`${x}\``);
      return n;
    });
    out.push([name, [...new Set(values)]]);
  }
  return out;
}

/** `64,256,all` → [64, 256, 'all']; `auto` may be listed but is always run anyway. */
export function parseChunkList(s: string): ChunkRequest[] {
  const out: ChunkRequest[] = [];
  for (const part of s.split(',').map((x) => x.trim())) {
    if (part === 'all' || part === 'auto') {
      if (!out.includes(part)) out.push(part);
      continue;
    }
    const n = Number(part);
    if (part === '' || !Number.isSafeInteger(n) || n < 1)
      throw new UsageError(
        `--chunk-rows takes positive integers, \`all\` or \`auto\` separated by commas, got \`${part}\``,
      );
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/**
 * `--vocab-tile 2048,4096`: the widths of the tiled twins, ascending, without duplicates.
 * Each width gets its own tiled program and its own twin of every rows-only chunk size.
 */
export function parseVocabTiles(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',').map((x) => x.trim())) {
    const n = Number(part);
    if (part === '' || !Number.isSafeInteger(n) || n < 1)
      throw new UsageError(
        `bench --vocab-tile takes tile widths, positive integers separated by commas, got \`${part}\``,
      );
    if (!out.includes(n)) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

export function parseRepeats(s: string | undefined): number {
  if (s === undefined) return DEFAULT_REPEATS;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1000)
    throw new UsageError(`--repeats takes a positive integer, got \`${s}\``);
  return n;
}

/**
 * The shapes to measure: every combination of the grid's sizes (the first grid dim varies
 * slowest), each completed by `--dims` and DEFAULT_DIMS. Without `--grid`, the default grid
 * is used for those of its dims that the kernel has and `--dims` does not size. Grids
 * separated by `;` are measured one after the other (`N=1024,V=8192;N=4096,V=512`: two
 * shapes, not their cross product).
 */
export function shapeGrid(
  fn: IrFunction,
  gridText: string | undefined,
  dimsText: string | undefined,
): Map<string, number>[] {
  if (gridText?.includes(';'))
    return gridText.split(';').flatMap((g) => shapeGrid(fn, g, dimsText));
  const fixed = dimsText === undefined ? new Map<string, number>() : parseDims(dimsText);
  const grid =
    gridText !== undefined
      ? parseGrid(gridText)
      : parseGrid(DEFAULT_GRID).filter(([d]) => fn.dims.includes(d) && !fixed.has(d));
  for (const [d] of [...grid, ...fixed]) {
    if (!fn.dims.includes(d))
      throw new UsageError(`\`${fn.name}\` has no dim \`${d}\` (its dims: ${fn.dims.join(', ')})`);
  }
  for (const [d] of grid)
    if (fixed.has(d)) throw new UsageError(`${d} is sized by both --grid and --dims`);
  const base = new Map<string, number>();
  for (const d of fn.dims) {
    const v = fixed.get(d) ?? DEFAULT_DIMS[d];
    if (v !== undefined) base.set(d, v);
  }
  let shapes: Map<string, number>[] = [base];
  for (const [d, values] of grid)
    shapes = shapes.flatMap((s) => values.map((v) => new Map([...s, [d, v]])));
  const missing = fn.dims.filter((d) => !shapes[0]?.has(d));
  if (missing.length)
    throw new UsageError(
      `bench needs a size for every dim of \`${fn.name}\`; missing ${missing.join(', ')} (give --dims or --grid)`,
    );
  // Report shapes in the kernel's dim order.
  return shapes.map((s) => new Map(fn.dims.map((d) => [d, s.get(d) ?? 0])));
}

/** `N=256 H=64 V=512`. */
export function shapeText(dims: ReadonlyMap<string, number> | Readonly<Record<string, number>>) {
  const entries = dims instanceof Map ? [...dims] : Object.entries(dims);
  return entries.map(([d, n]) => `${d}=${n}`).join(' ');
}
