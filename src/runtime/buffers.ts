// Device buffers with byte accounting: every buffer the runtime makes goes through a
// BufferPool, so `peakBytes` is the device memory a run really needed (the number the
// chunk-size scheduler is checked against), and an impossible request fails with a message
// naming the tensor and the limit instead of a validation error far away.
import { TROUBLESHOOTING } from './device.ts';
import { BufferUsage, MapMode } from './usage.ts';

/** The device limits a BufferPool checks (a `GPUSupportedLimits` will do). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** A buffer request, or a binding, that the device cannot serve. */
export class BufferLimitError extends Error {
  constructor(
    readonly label: string,
    readonly bytes: number,
    readonly limitName: keyof BufferLimits,
    readonly limit: number,
    hint: string,
  ) {
    const what = limitName === 'maxBufferSize' ? 'a buffer of' : 'a storage binding of';
    super(
      `'${label}' needs ${what} ${formatBytes(bytes)}, over this device's ${limitName} of ` +
        `${formatBytes(limit)}${hint ? `: ${hint}` : ''}. See ${TROUBLESHOOTING.limits}`,
    );
    this.name = 'BufferLimitError';
  }
}

/** Options of `BufferPool.create`. */
export interface CreateOptions {
  /**
   * The buffer will only be bound in ranges (e.g. a weight split along the vocabulary), so
   * it may pass maxStorageBufferBindingSize; default false.
   */
  rangedBinding?: boolean;
}

/** Creates, tracks and destroys the buffers of one GPUDevice. */
export class BufferPool {
  private readonly sizes = new Map<GPUBuffer, number>();
  private live = 0;
  private peak = 0;
  private uploaded = 0;
  readonly limits: BufferLimits;

  constructor(
    readonly device: GPUDevice,
    limits?: BufferLimits,
  ) {
    this.limits = limits ?? device.limits;
  }

  /** Bytes of the buffers created here and not yet destroyed. */
  get liveBytes(): number {
    return this.live;
  }

  /** The most `liveBytes` has been since creation or the last `resetPeak()`. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Host bytes written through `upload` since creation. */
  get uploadedBytes(): number {
    return this.uploaded;
  }

  /** Number of live buffers. */
  get liveCount(): number {
    return this.sizes.size;
  }

  /** Starts a new peak measurement from the current live bytes. */
  resetPeak(): void {
    this.peak = this.live;
  }

  /**
   * A buffer of `bytes` rounded up to a multiple of 4 (at least 4). Throws BufferLimitError
   * past maxBufferSize, or, for STORAGE usage without `rangedBinding`, past
   * maxStorageBufferBindingSize.
   */
  create(
    label: string,
    bytes: number,
    usage: GPUBufferUsageFlags,
    opts: CreateOptions = {},
  ): GPUBuffer {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new RangeError(`buffer '${label}': invalid byte size ${bytes}`);
    }
    const size = Math.max(4, roundUp4(bytes));
    if (size > this.limits.maxBufferSize) {
      throw new BufferLimitError(label, size, 'maxBufferSize', this.limits.maxBufferSize, '');
    }
    if (usage & BufferUsage.STORAGE && !opts.rangedBinding) {
      this.checkBinding(label, size);
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.sizes.set(buffer, size);
    this.live += size;
    this.peak = Math.max(this.peak, this.live);
    return buffer;
  }

  /** Throws BufferLimitError when a storage binding of `bytes` passes the device limit. */
  checkBinding(label: string, bytes: number): void {
    const limit = this.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      const hint = 'bind it in ranges (split the vocabulary or the rows)';
      throw new BufferLimitError(label, bytes, 'maxStorageBufferBindingSize', limit, hint);
    }
  }

  /** Destroys a buffer made here; destroying it twice is a no-op. */
  destroy(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) return;
    this.sizes.delete(buffer);
    this.live -= size;
    buffer.destroy();
  }

  /**
   * Hands a buffer made here to the caller: no longer counted live nor destroyed by
   * `destroyAll` (the peak it was part of stays).
   */
  forget(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) return;
    this.sizes.delete(buffer);
    this.live -= size;
  }

  /** Destroys every live buffer of this pool. */
  destroyAll(): void {
    for (const buffer of [...this.sizes.keys()]) this.destroy(buffer);
  }

  /** Destroys every live buffer but those in `keep`; returns the bytes that frees. */
  destroyAllExcept(keep: ReadonlySet<GPUBuffer>): number {
    const before = this.live;
    for (const buffer of [...this.sizes.keys()]) if (!keep.has(buffer)) this.destroy(buffer);
    return before - this.live;
  }

  /**
   * Queues a write of `data` at byte `offset` (a multiple of 4). A byte length that is not
   * a multiple of 4 (an odd count of 16-bit values) is padded with zeros.
   */
  upload(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    if (offset % 4 !== 0)
      throw new RangeError(`upload to '${buffer.label}': offset ${offset} % 4 != 0`);
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(roundUp4(bytes.byteLength));
      padded.set(bytes);
      bytes = padded;
    }
    if (offset + bytes.byteLength > buffer.size) {
      throw new RangeError(
        `upload to '${buffer.label}': ${bytes.byteLength} bytes at ${offset} pass its size ${buffer.size}`,
      );
    }
    // The ArrayBuffer form: with the DOM lib a typed-array source must not be SharedArrayBuffer-backed.
    this.device.queue.writeBuffer(buffer, offset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.uploaded += bytes.byteLength;
  }

  /**
   * Copies `bytes` from byte `offset` (a multiple of 4) of `buffer` (COPY_SRC usage) into a
   * tracked MAP_READ staging buffer, after all work submitted so far, and returns them.
   */
  async readback(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    if (offset % 4 !== 0)
      throw new RangeError(`readback of '${buffer.label}': offset ${offset} % 4 != 0`);
    const size = Math.max(4, roundUp4(bytes));
    if (offset + size > buffer.size) {
      throw new RangeError(
        `readback of '${buffer.label}': ${bytes} bytes at ${offset} pass its size ${buffer.size}`,
      );
    }
    const staging = this.create(
      `${buffer.label}:readback`,
      size,
      BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    );
    try {
      const encoder = this.device.createCommandEncoder({ label: staging.label });
      encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(MapMode.READ);
      // Copy out: unmap() detaches the mapped range.
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      return out;
    } finally {
      this.destroy(staging);
    }
  }
}

/**
 * Uniform buffers of one fixed size handed out in order and all reused after `reset()`.
 * `queue.writeBuffer` lands before the next submit, so two dispatches recorded for the same
 * submit need different buffers; once submitted, every buffer is free again (later writes
 * are ordered after the submitted work). Call `reset()` after each submit, so a chunk loop
 * holds as many buffers as its largest submit needs, not one per call.
 */
export class UniformRing {
  private readonly buffers: GPUBuffer[] = [];
  private used = 0;

  constructor(
    private readonly pool: BufferPool,
    readonly slotBytes: number,
    readonly label: string,
  ) {}

  /** The next free buffer (made on first need) and its slot number. */
  acquire(): { buffer: GPUBuffer; slot: number } {
    const slot = this.used++;
    let buffer = this.buffers[slot];
    if (!buffer) {
      const usage = BufferUsage.UNIFORM | BufferUsage.COPY_DST;
      buffer = this.pool.create(`${this.label}#${slot}`, this.slotBytes, usage);
      this.buffers.push(buffer);
    }
    return { buffer, slot };
  }

  /** Marks every buffer free: call after the submit of everything recorded with them. */
  reset(): void {
    this.used = 0;
  }

  /** Buffers made so far (the most ever in use at once). */
  get size(): number {
    return this.buffers.length;
  }

  /** Destroys every buffer. */
  destroy(): void {
    for (const b of this.buffers) this.pool.destroy(b);
    this.buffers.length = 0;
    this.used = 0;
  }
}

function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** `1536` → `1.50 KiB (1536 bytes)`. */
function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(2)} ${units[u]} (${n} bytes)`;
}
