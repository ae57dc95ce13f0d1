import type { BufferPool } from './buffers.ts';

/** Results are read back through staging buffers of at most this many bytes each. */
export const READBACK_SLICE_BYTES = 16 * 1024 * 1024;

/** Reads a buffer back a slice at a time, so a 2 GiB dW needs no 2 GiB staging buffer. */
export async function readbackSliced(
  pool: BufferPool,
  buffer: GPUBuffer,
  bytes: number,
): Promise<ArrayBuffer> {
  if (bytes <= READBACK_SLICE_BYTES) return pool.readback(buffer, bytes);
  const out = new Uint8Array(bytes);
  for (let at = 0; at < bytes; at += READBACK_SLICE_BYTES) {
    const n = Math.min(READBACK_SLICE_BYTES, bytes - at);
    out.set(new Uint8Array(await pool.readback(buffer, n, at)), at);
  }
  return out.buffer;
}
