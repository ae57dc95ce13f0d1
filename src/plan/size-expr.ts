import type { Dim } from '../ir/types.ts';

/**
 * A size or offset as data: the product of the sizes of `dims`, times the chunk's first row
 * or its row count when flagged, times `factor`. The runtime evaluates it for the actual
 * dims and chunk; the manifest carries it as is.
 */
export interface SizeExpr {
  readonly dims: readonly Dim[];
  readonly chunkStart?: boolean;
  readonly chunkRows?: boolean;
  /** Times the current vocabulary tile's first element or width (tiled plans). */
  readonly tileStart?: boolean;
  readonly tileWidth?: boolean;
  readonly factor?: number;
}

export function evalSize(
  e: SizeExpr,
  sizes: ReadonlyMap<Dim, number>,
  chunk: { start: number; rows: number; tileStart?: number; tileWidth?: number },
): number {
  let v = e.factor ?? 1;
  for (const d of e.dims) v *= sizes.get(d) ?? 0;
  if (e.chunkStart) v *= chunk.start;
  if (e.chunkRows) v *= chunk.rows;
  if (e.tileStart) v *= chunk.tileStart ?? 0;
  if (e.tileWidth) v *= chunk.tileWidth ?? 0;
  return v;
}
