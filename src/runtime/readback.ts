import type { BufferPool } from './buffers.ts';

/** Results are read back through staging buffers of at most this many bytes each. */
export const READBACK_SLICE_BYTES = 16 * 1024 * 1024;
/**
 * ... and of at least this many (fewer round trips than a slice a row), even where a run
 * freed less than that before reading back: the one case where the readback can set the peak.
 */
export const READBACK_MIN_SLICE_BYTES = 64 * 1024;

/**
 * The staging slice for a readback after a run has freed `freedBytes` of its own buffers:
 * no more than it freed (so reading back never raises the run's peak), within
 * [READBACK_MIN_SLICE_BYTES, READBACK_SLICE_BYTES].
 */
export function readbackSliceBytes(freedBytes: number): number {
  return Math.min(READBACK_SLICE_BYTES, Math.max(READBACK_MIN_SLICE_BYTES, freedBytes));
}

/** Reads a buffer back a slice at a time, so a 2 GiB dW needs no 2 GiB staging buffer. */
export async function readbackSliced(
  pool: BufferPool,
  buffer: GPUBuffer,
  bytes: number,
  slice = READBACK_SLICE_BYTES,
): Promise<ArrayBuffer> {
  // Slices stay multiples of 4 (a readback offset must be).
  const step = Math.max(4, Math.floor(slice / 4) * 4);
  if (bytes <= step) return pool.readback(buffer, bytes);
  const out = new Uint8Array(bytes);
  for (let at = 0; at < bytes; at += step) {
    const n = Math.min(step, bytes - at);
    out.set(new Uint8Array(await pool.readback(buffer, n, at)), at);
  }
  return out.buffer;
}
