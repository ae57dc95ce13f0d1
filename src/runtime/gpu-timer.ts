// Device time of recorded work. With `timestamp-query` the work is bracketed by two empty
// compute passes whose end-of-pass timestamps are written once everything recorded before
// them has finished (Vulkan/D3D12/Metal write an end timestamp at the bottom of the
// pipe), so t1 − t0 is the bracketed passes' device time without any host round trip.
// The bracket keeps projc's matmul runner untouched: it records its own pass. Without
// the feature the fallback is the wall time from submit to `queue.onSubmittedWorkDone`,
// also used (and counted) for a submit whose timestamps come back unusable.
import { BufferUsage, MapMode } from './usage.ts';

export type TimerKind = 'timestamp-query' | 'wall (onSubmittedWorkDone)';

export interface GpuTimer {
  readonly kind: TimerKind;
  /** Timed submits whose timestamps were unusable (zero or backwards): wall time was used. */
  readonly fallbacks: () => number;
  /** Records `record(encoder)` in one submit and returns its time in ms. */
  time(record: (encoder: GPUCommandEncoder) => void): Promise<number>;
  /**
   * `time` in two halves, for work recorded by code that asks for its encoder (the
   * schedule): `begin` gives the encoder, `end` submits it and returns its time in ms. The
   * queue must be idle at `begin` (the wall timer counts from the submit).
   */
  begin(): GPUCommandEncoder;
  end(encoder: GPUCommandEncoder): Promise<number>;
  destroy(): void;
}

export function gpuTimer(device: GPUDevice, useTimestamps = true): GpuTimer {
  if (!useTimestamps || !device.features.has('timestamp-query')) return wallTimer(device);
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({
    label: 'bench-timestamps',
    size: 16,
    usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    label: 'bench-timestamps-read',
    size: 16,
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
  });
  const mark = (encoder: GPUCommandEncoder, index: number) =>
    encoder
      .beginComputePass({
        label: `bench-timestamp-${index}`,
        timestampWrites: { querySet, endOfPassWriteIndex: index },
      })
      .end();
  let fallbacks = 0;
  const begin = () => {
    const encoder = device.createCommandEncoder({ label: 'bench-timed' });
    mark(encoder, 0);
    return encoder;
  };
  return {
    kind: 'timestamp-query',
    fallbacks: () => fallbacks,
    time: (record) => timed(device, begin, record, end),
    begin,
    end,
    destroy() {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    },
  };
  async function end(encoder: GPUCommandEncoder): Promise<number> {
    mark(encoder, 1);
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, 16);
    const w0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(MapMode.READ);
    const wall = performance.now() - w0;
    const [t0, t1] = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    if (t0 === undefined || t1 === undefined) throw new Error('timestamps missing');
    // Timestamps are nanoseconds; a zero pair means the implementation wrote nothing.
    if (t1 <= t0 || t0 === 0n) {
      fallbacks++;
      return wall;
    }
    return Number(t1 - t0) / 1e6;
  }
}

function wallTimer(device: GPUDevice): GpuTimer {
  const begin = () => device.createCommandEncoder({ label: 'bench-timed' });
  const end = async (encoder: GPUCommandEncoder) => {
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  return {
    kind: 'wall (onSubmittedWorkDone)',
    fallbacks: () => 0,
    time: (record) => timed(device, begin, record, end),
    begin,
    end,
    destroy() {},
  };
}

/** One timed submit; earlier work is drained first so that it is not counted. */
async function timed(
  device: GPUDevice,
  begin: () => GPUCommandEncoder,
  record: (encoder: GPUCommandEncoder) => void,
  end: (encoder: GPUCommandEncoder) => Promise<number>,
): Promise<number> {
  await device.queue.onSubmittedWorkDone();
  const encoder = begin();
  record(encoder);
  return end(encoder);
}
