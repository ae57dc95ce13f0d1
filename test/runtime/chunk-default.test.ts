// The default chunk size (neither chunkRows nor a memory budget given): the larger of 512
// rows and 16 MiB of chunk buffers, within the default budget, rather than as many rows as
// the default budget holds.
import { describe, expect, it } from 'vitest';
import {
  chooseChunkRows,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_CHUNK_MIN_BYTES,
  DEFAULT_CHUNK_MIN_ROWS,
  type MemoryModel,
} from '../../src/runtime/memory.ts';

const limits = { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31 };
const model = (rows: number, perRowBytes: number): MemoryModel => ({
  fixedBytes: 1 << 20,
  perRowBytes,
  largestRowBytes: perRowBytes,
  rows,
  readbackPeakBytes: 0,
});

describe('default chunk size', () => {
  it('takes 512 rows of a V=8192 cross-entropy (32 KiB a row), not the 8192 the budget holds', () => {
    const c = chooseChunkRows(model(4096, 8192 * 4 + 8), limits, {});
    expect(DEFAULT_CHUNK_MIN_ROWS).toBe(512);
    expect(c).toMatchObject({ chunkRows: 512, chunks: 8, reason: 'default size' });
    expect(c.predictedPeakBytes).toBe((1 << 20) + 512 * (8192 * 4 + 8));
  });

  it('takes 16 MiB of short rows (a small vocabulary), and all rows when they fit in that', () => {
    const perRow = 64 * 4;
    const c = chooseChunkRows(model(1 << 20, perRow), limits, {});
    expect(c).toMatchObject({
      chunkRows: DEFAULT_CHUNK_MIN_BYTES / perRow,
      reason: 'default size',
    });
    expect(chooseChunkRows(model(30_000, perRow), limits, {})).toMatchObject({
      chunkRows: 30_000,
      chunks: 1,
      reason: 'all rows fit',
    });
  });

  it('stays within the default budget where it holds fewer than 512 rows', () => {
    const perRow = 1 << 20; // 1 MiB rows: the 256 MiB default budget holds 256
    expect(chooseChunkRows(model(4096, perRow), limits, {})).toMatchObject({
      chunkRows: DEFAULT_CHUNK_BYTES / perRow,
      reason: 'default budget',
    });
  });

  it('leaves an explicit budget or chunk size alone', () => {
    const m = model(4096, 8192 * 4);
    expect(chooseChunkRows(m, limits, { memoryBudget: 2 ** 30 })).toMatchObject({
      chunkRows: 4096,
      reason: 'all rows fit',
    });
    expect(chooseChunkRows(m, limits, { memoryBudget: (1 << 20) + 2048 * 8192 * 4 })).toMatchObject(
      { chunkRows: 2048, reason: 'memory budget' },
    );
    expect(chooseChunkRows(m, limits, { chunkRows: 3000 })).toMatchObject({
      chunkRows: 3000,
      reason: 'given',
    });
  });
});
