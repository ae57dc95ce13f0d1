import { matmulTileCandidates, matmulWgsl } from '../../codegen/matmul.ts';
import type { AcquiredDevice } from '../runtime/device.ts';
import { tuneMatmulTiles, type TuneResult, type TuneShape } from '../runtime/matmul-tune.ts';

/**
 * Times the matmul tile candidates that fit `dev` on it (codegen's WGSL: the runtime makes
 * none) and returns the fastest, cached per adapter in the process: what
 * `Runtime.create({ matmulTiles: 'tune' })`, `--matmul-tiles tune` and `bench:matmul` run, on
 * `shape` (`tuneShapeOf`: a chunk of the call's own products) or DEFAULT_TUNE_SHAPE.
 */
export function tuneDeviceTiles(dev: AcquiredDevice, shape?: TuneShape): Promise<TuneResult> {
  const candidates = matmulTileCandidates(dev.device.limits);
  return tuneMatmulTiles(dev, { candidates, source: matmulWgsl, ...(shape ? { shape } : {}) });
}
