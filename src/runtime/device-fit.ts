import type { Program } from '../../codegen/program.ts';
import { evalSize, isChunkScoped } from '../../codegen/layout.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim } from '../ir/types.ts';
import type { BufferLimits } from './buffers.ts';
import { elementBytes } from './memory.ts';

/**
 * Checks, without a device, that every buffer a run would create fits the device limits:
 * a buffer of its own (inputs, results, accumulators: bound in ranges) must fit
 * maxBufferSize; the arena and each chunk buffer, bound whole, must also fit
 * maxStorageBufferBindingSize. Throws P0506 naming the first buffer that does not.
 */
export function checkDeviceFit(
  p: Program,
  sizes: ReadonlyMap<Dim, number>,
  limits: BufferLimits,
  chunkRows: number,
): void {
  const dimsText = (dims: readonly Dim[]) =>
    dims.length ? `[${dims.map((d) => `${d}=${sizes.get(d) ?? '?'}`).join(', ')}]` : '[]';
  for (const b of p.plan.buffers) {
    if (b.aliasOf || b.home === 'arena') continue;
    // A chunk buffer holds `chunkRows` flattened rows of its other dims.
    const chunked = b.home === 'chunk';
    const n = b.dims.reduce(
      (s, d) => s * (chunked && p.plan.rows.includes(d) ? 1 : (sizes.get(d) ?? 0)),
      chunked ? chunkRows : 1,
    );
    const bytes = n * elementBytes(b);
    const bound = b.home === 'chunk';
    const limit = bound
      ? Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize)
      : limits.maxBufferSize;
    if (bytes > limit)
      tooLarge(
        `buffer \`${b.name}\` (${b.dtype}${dimsText(b.dims)}${bound ? `, ${chunkRows} rows per chunk` : ''}) needs ${bytes} bytes`,
        bound ? 'maxStorageBufferBindingSize' : 'maxBufferSize',
        limit,
      );
  }
  const chunk = { start: 0, rows: chunkRows };
  let words = 0;
  for (const s of p.layout.slots) {
    const b = p.plan.buffers.find((x) => x.name === s.buffer);
    words += evalSize(
      s.words,
      sizes,
      b && isChunkScoped(b, p.plan) ? chunk : { start: 0, rows: 1 },
    );
  }
  const arenaLimit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  if (words * 4 > arenaLimit)
    tooLarge(
      `the arena (the small per-row values and accumulators, one buffer) needs ${words * 4} bytes`,
      'maxStorageBufferBindingSize',
      arenaLimit,
    );
}

function tooLarge(what: string, limitName: keyof BufferLimits, limit: number): never {
  throw new UserError({
    severity: 'error',
    code: 'P0506',
    message: `${what}, over the device's ${limitName} of ${limit} bytes`,
    help: ['use smaller dims, or split the work across calls'],
  });
}
