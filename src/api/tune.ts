import { matmulTileCandidates, matmulWgsl } from '../../codegen/matmul.ts';
import type { AcquiredDevice } from '../runtime/device.ts';
import { tuneMatmulTiles, type TuneResult } from '../runtime/matmul-tune.ts';

/**
 * Times the matmul tile candidates that fit `dev` on it (codegen's WGSL: the runtime makes
 * none) and returns the fastest, cached per adapter in the process: what
 * `Runtime.create({ matmulTiles: 'tune' })`, `--matmul-tiles tune` and `bench:matmul` run.
 */
export function tuneDeviceTiles(dev: AcquiredDevice): Promise<TuneResult> {
  const candidates = matmulTileCandidates(dev.device.limits);
  return tuneMatmulTiles(dev, { candidates, source: matmulWgsl });
}
