import type { Program } from '../../codegen/program.ts';
import { evalSize } from '../../codegen/layout.ts';
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
  const chunk = { start: 0, rows: chunkRows };
  for (const b of p.plan.buffers) {
    if (b.aliasOf || b.home === 'arena') continue;
    // A chunk buffer holds `chunkRows` rows (its element count says how).
    const bound = b.scope === 'chunk';
    const bytes = evalSize(b.elements, sizes, chunk) * elementBytes(b);
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
  let words = 0;
  for (const s of p.layout.slots) words += evalSize(s.words, sizes, chunk);
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
