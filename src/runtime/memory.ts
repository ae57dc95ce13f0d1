import { UserError } from '../diagnostics/diagnostic.ts';
import type { Program } from '../../codegen/program.ts';
import { evalSize } from '../plan/size-expr.ts';
import type { Dim } from '../ir/types.ts';
import type { PlanBuffer } from '../plan/types.ts';
import { READBACK_MIN_SLICE_BYTES } from './readback.ts';

/** Bytes of one element of a buffer as stored on the device. */
export function elementBytes(b: PlanBuffer): number {
  if (b.home === 'own' && b.role === 'input' && (b.dtype === 'bf16' || b.dtype === 'f16')) return 2;
  return 4;
}

export interface MemoryModel {
  /** Bytes that do not depend on the chunk size: inputs, results, accumulators, whole arena slots. */
  readonly fixedBytes: number;
  /** Bytes per row of the chunk: chunk buffers and per-row arena slots. */
  readonly perRowBytes: number;
  /** The largest bytes per row of one chunk buffer (each must fit a storage binding). */
  readonly largestRowBytes: number;
  /** Rows in all. */
  readonly rows: number;
  /**
   * The peak while the results are read back: the results plus one staging slice. The run
   * frees its other buffers first and slices fit in what that freed, so this passes
   * `fixedBytes + rows · perRowBytes` only for a run that frees less than the smallest slice.
   */
  readonly readbackPeakBytes: number;
}

/** The device bytes at the peak of a run of chunks of `rows` rows. */
export function predictedPeak(m: MemoryModel, rows: number): number {
  return Math.max(m.fixedBytes + rows * m.perRowBytes, m.readbackPeakBytes);
}

// The uniform block and the matmul uniform ring.
const UNIFORM_AND_STAGING_SLACK = 4 * 1024;

/** The device bytes a program needs, as fixed bytes plus bytes per chunk row. */
export function memoryModel(p: Program, sizes: ReadonlyMap<Dim, number>): MemoryModel {
  let fixed = UNIFORM_AND_STAGING_SLACK;
  let perRow = 0;
  let largest = 0;
  const one = { start: 0, rows: 1 };
  for (const b of p.plan.buffers) {
    if (b.aliasOf || b.home === 'arena') continue;
    const n = evalSize(b.elements, sizes, one);
    const bytes = Math.ceil((n * elementBytes(b)) / 4) * 4;
    if (b.scope === 'chunk') {
      perRow += bytes;
      largest = Math.max(largest, bytes);
    } else fixed += bytes;
  }
  for (const s of p.layout.slots) {
    const b = p.plan.buffers.find((x) => x.name === s.buffer);
    const words = evalSize(s.words, sizes, one);
    if (b?.scope === 'chunk') perRow += 4 * words;
    else fixed += 4 * words;
  }
  // Results are read back after every other buffer is freed, one slice at a time, each
  // slice no larger than what was freed (runtime/readback.ts) but at least the minimum.
  const count = (dims: readonly Dim[]) => dims.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
  let resultBytes = 0;
  let slice = 4;
  for (const r of p.fn.results) {
    const n = count(p.fn.nodes[r.node]?.dims ?? []);
    resultBytes += Math.max(4, 4 * n);
    slice = Math.max(slice, Math.min(4 * n, READBACK_MIN_SLICE_BYTES));
  }
  // The longest chunk loop: with several row sets, each sweep walks the rows of one.
  const loops = p.plan.sweeps.map((sw) => sw.rowDims);
  const rows = Math.max(0, ...(loops.length ? loops : [p.plan.rows]).map(count));
  return {
    fixedBytes: fixed,
    perRowBytes: perRow,
    largestRowBytes: largest,
    rows,
    readbackPeakBytes: resultBytes + slice,
  };
}

export interface ChunkChoice {
  readonly chunkRows: number;
  readonly chunks: number;
  /** Why this size: the option, the budget or a device limit. */
  readonly reason: string;
  readonly predictedPeakBytes: number;
}

/** Default budget for the per-chunk buffers when none is given: 256 MiB, within the binding limit. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024 * 1024;

/**
 * With neither a chunk size nor a budget given, the chunk is the larger of these two, within
 * the default budget: as fast as larger chunks (a chunk's products are linear in its rows and
 * the per-chunk launches cost little against them; on llvmpipe 256 to 4096 rows ran equally
 * fast within the noise, docs/runtime.md §2), with a fraction of their peak. 512 rows are
 * 8 row tiles of every product, enough to fill a GPU with V/64 or H/64 column tiles beside
 * them; 16 MiB keeps chunks of short rows (a small vocabulary) from costing a launch each.
 */
export const DEFAULT_CHUNK_MIN_ROWS = 512;
export const DEFAULT_CHUNK_MIN_BYTES = 16 * 1024 * 1024;

/**
 * Picks the rows per chunk: an explicit `chunkRows`, else as many as the memory budget
 * allows after the fixed bytes, else (nothing given) the default size within the default
 * budget (fixed bytes + 256 MiB of chunk buffers), always within
 * maxStorageBufferBindingSize and maxBufferSize for each chunk buffer.
 */
export function chooseChunkRows(
  m: MemoryModel,
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  opts: { chunkRows?: number; memoryBudget?: number },
): ChunkChoice {
  const total = Math.max(1, m.rows);
  if (
    opts.chunkRows !== undefined &&
    !(Number.isSafeInteger(opts.chunkRows) && opts.chunkRows >= 1)
  )
    throw new UserError({
      severity: 'error',
      code: 'P0405',
      message: `chunkRows must be a positive integer, got ${opts.chunkRows}`,
    });
  if (opts.memoryBudget !== undefined && !(opts.memoryBudget >= 0))
    throw new UserError({
      severity: 'error',
      code: 'P0405',
      message: `memoryBudget must be a number of bytes, got ${opts.memoryBudget}`,
    });
  const perBinding = m.largestRowBytes
    ? Math.floor(
        Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / m.largestRowBytes,
      )
    : total;
  if (perBinding < 1)
    throw new UserError({
      severity: 'error',
      code: 'P0405',
      message: `one row of the chunk needs ${m.largestRowBytes} bytes in one buffer, more than this device can bind (${limits.maxStorageBufferBindingSize} bytes)`,
      help: ['the vocabulary is too large for one binding on this device'],
    });
  let rows: number;
  let reason: string;
  if (opts.chunkRows !== undefined) {
    rows = opts.chunkRows;
    reason = 'given';
    // Both given: the budget is a cap the chosen chunk must fit, never silently ignored.
    const need = predictedPeak(m, Math.min(rows, total));
    if (opts.memoryBudget !== undefined && need > opts.memoryBudget)
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `chunks of ${rows} rows need ${need} bytes, over the memory budget of ${opts.memoryBudget} bytes`,
        notes: [
          `the inputs, results and accumulators take ${m.fixedBytes} bytes and each row of a chunk ${m.perRowBytes} more`,
        ],
        help: ['give fewer chunk rows, a larger budget, or only one of the two'],
      });
  } else {
    const budget = opts.memoryBudget ?? m.fixedBytes + DEFAULT_CHUNK_BYTES;
    const room = budget - m.fixedBytes;
    if ((m.perRowBytes > 0 && room < m.perRowBytes) || budget < m.readbackPeakBytes)
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `the memory budget of ${budget} bytes is too small for even one row: the inputs, results and accumulators take ${m.fixedBytes} bytes and each row of a chunk ${m.perRowBytes} more`,
        help: [`give at least --memory-budget ${predictedPeak(m, 1)}`],
      });
    rows = m.perRowBytes > 0 ? Math.floor(room / m.perRowBytes) : total;
    reason = opts.memoryBudget !== undefined ? 'memory budget' : 'default budget';
    const speed = Math.max(
      DEFAULT_CHUNK_MIN_ROWS,
      m.perRowBytes > 0 ? Math.floor(DEFAULT_CHUNK_MIN_BYTES / m.perRowBytes) : total,
    );
    if (opts.memoryBudget === undefined && speed < rows) {
      rows = speed;
      reason = 'default size';
    }
  }
  if (rows > perBinding) {
    rows = perBinding;
    reason = 'binding limit';
  }
  if (rows >= total && opts.chunkRows === undefined) reason = 'all rows fit';
  rows = Math.max(1, Math.min(rows, total));
  return {
    chunkRows: rows,
    chunks: Math.ceil(total / rows),
    reason,
    predictedPeakBytes: predictedPeak(m, rows),
  };
}

/**
 * What an eager framework holds at its peak for the same call: the inputs and results,
 * the whole [rows, V] logits in the storage dtype of the product (bf16 when the inputs
 * are), their f32 upcast, and with gradients the f32 dlogits: the baseline projc is
 * measured against.
 */
export function materializedBytes(p: Program, sizes: ReadonlyMap<Dim, number>): number {
  let fixed = 0;
  for (const b of p.plan.buffers) {
    if (b.home !== 'own' || b.aliasOf) continue;
    fixed += b.dims.reduce((s, d) => s * (sizes.get(d) ?? 0), 1) * elementBytes(b);
  }
  let logits = 0;
  for (const n of p.fn.nodes) {
    const rowSets = p.plan.sweeps.map((sw) => sw.rowDims);
    if (n.op !== 'dot' || !rowSets.some((s) => s.length && s.every((r) => n.dims.includes(r))))
      continue;
    const inputs = n.inputs.map((i) => p.fn.nodes[i]);
    if (inputs.some((x) => x?.op !== 'param')) continue;
    const count = n.dims.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
    const storage = inputs.every((x) => x?.dtype === 'bf16' || x?.dtype === 'f16') ? 2 : 0;
    const grad = p.fn.results.some((r) => r.name.startsWith('grad.')) ? 4 : 0;
    logits += count * (storage + 4 + grad);
  }
  return fixed + logits;
}
