import type { MatmulTiles } from '../../codegen/matmul.ts';
import { tuneDeviceTiles } from '../api/tune.ts';
import type { AcquiredDevice } from '../runtime/device.ts';
import type { TuneShape } from '../runtime/matmul-tune.ts';
import { UsageError } from './usage.ts';

/** `--matmul-tiles`: time the candidate tilings on this device first, or keep the portable ones. */
export type MatmulTilesChoice = 'tune' | 'portable';

export function parseMatmulTiles(
  s: string | undefined,
  fallback: MatmulTilesChoice,
): MatmulTilesChoice {
  if (s === undefined) return fallback;
  if (s === 'tune' || s === 'portable') return s;
  throw new UsageError(`--matmul-tiles takes \`tune\` or \`portable\`, got \`${s}\``);
}

/**
 * The tiles to generate a program with: the fastest candidate on `dev` (what
 * `Runtime.create({ matmulTiles: 'tune' })` does; a few seconds on a CPU adapter), or
 * undefined for the portable default.
 */
export async function matmulTilesFor(
  dev: AcquiredDevice,
  choice: MatmulTilesChoice,
  shape?: TuneShape,
): Promise<MatmulTiles | undefined> {
  if (choice === 'portable') return undefined;
  return (await tuneDeviceTiles(dev, shape)).tiles;
}
