import type { GraphBuilder } from '../graph/builder.ts';
import type { Dim } from '../ir/types.ts';

/**
 * Fits a cotangent contribution to a value's dims: sums it over the dims the value lacks
 * (the adjoint of broadcasting), then broadcasts it over the dims it lacks and puts the
 * dims in the value's order. The one place where VJP results are reshaped, so that rules
 * can return contributions with whatever dims are natural for them.
 */
export function fitTo(b: GraphBuilder, id: number, dims: readonly Dim[]): number {
  const extra = b.node(id).dims.filter((d) => !dims.includes(d));
  const reduced = extra.length > 0 ? b.op('sum', [id], { axes: extra }) : id;
  // The builder drops the broadcast when `reduced` already has exactly `dims`.
  return b.op('broadcast', [reduced], { dims });
}
