// projc's side of the matmul benchmark: the generic strided matmul of codegen/matmul.ts,
// recorded by the runtime's MatmulRunner exactly as a chunk's products are, with the tiles
// the caller chose (the autotuner's, or given), timed by submit + onSubmittedWorkDone (the
// CPU adapter has no timestamp queries).
import { matmulWgsl, type MatmulTiles } from '../../../codegen/matmul.ts';
import { BufferPool } from '../../runtime/buffers.ts';
import type { AcquiredDevice } from '../../runtime/device.ts';
import { MatmulRunner } from '../../runtime/matmul.ts';
import { BufferUsage } from '../../runtime/usage.ts';
import { layoutStrides, type MatmulShape } from './shapes.ts';

export interface PreparedProjcMatmul {
  /** One product; resolves when the queue has finished it. */
  run(): Promise<void>;
  /** C of the last run, row-major [M, N]. */
  result(): Promise<Float32Array>;
  /** Dispatches one product takes (grid and K splits). */
  readonly dispatches: number;
  release(): void;
}

/** Uploads A and B (stored as the layout says, see shapes.ts) and runs one warm-up product. */
export async function prepareProjcMatmul(
  dev: AcquiredDevice,
  shape: MatmulShape,
  a: Float32Array,
  b: Float32Array,
  tiles: MatmulTiles,
): Promise<PreparedProjcMatmul> {
  const { device } = dev;
  const { M, K, N } = shape;
  const pool = new BufferPool(device, dev.limits);
  // Standalone, the runner takes codegen's generator (a program passes its own modules).
  const runner = new MatmulRunner(device, { pool, tiles, source: matmulWgsl });
  const usage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
  const ranged = { rangedBinding: true };
  const bufA = pool.create('A', M * K * 4, usage, ranged);
  const bufB = pool.create('B', K * N * 4, usage, ranged);
  const bufC = pool.create('C', M * N * 4, usage, ranged);
  pool.upload(bufA, a);
  pool.upload(bufB, b);
  const args = {
    ...({ a: bufA, b: bufB, c: bufC, aDtype: 'f32', bDtype: 'f32', accumulate: false } as const),
    ...{ M, N, K, offA: 0, offB: 0, offC: 0, sCm: N, sCn: 1 },
    ...layoutStrides(shape),
  };
  let dispatches = 0;
  const run = async () => {
    const encoder = device.createCommandEncoder({ label: 'matmul bench' });
    dispatches = runner.encode(encoder, args);
    device.queue.submit([encoder.finish()]);
    runner.afterSubmit();
    await device.queue.onSubmittedWorkDone();
  };
  await run();
  dev.throwIfLost();
  return {
    run,
    async result() {
      return new Float32Array(await pool.readback(bufC, M * N * 4));
    },
    get dispatches() {
      return dispatches;
    },
    release() {
      runner.destroy();
      pool.destroyAll();
    },
  };
}
