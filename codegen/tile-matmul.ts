import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { IrFunction } from '../src/ir/types.ts';
import type { ChunkPlan, PlanBuffer, TileProductStep } from '../src/plan/types.ts';
import type { SizeExpr } from './layout.ts';
import { matmulSpec, type MatmulSpec, type OperandSpec } from './matmul-spec.ts';

/**
 * A product of a tiled sweep over the current tile [t0, t0 + w) of the tiled dim, as the same
 * generic strided matmul (only offsets, strides and sizes change; no new matmul code). The
 * tile buffers hold a row's tile contiguously, rows `tile` apart:
 * - `n`: z_t = Xc·W_tᵀ, N = w, B from W's row t0, C the logits' tile;
 * - `k`: dXc (+)= dz_t·W_t, K = w, A the dz tile, B from W's row t0; the first tile sets C
 *   (unless C accumulates anyway), later ones add (`accumulateTiles`);
 * - `m`: dW[t0 : t0 + w] (+)= dz_tᵀ·Xc, M = w, A the dz tile read transposed, C from dW's row t0.
 */
export function tileMatmulSpec(
  fn: IrFunction,
  plan: ChunkPlan,
  st: TileProductStep,
  root: (name: string) => PlanBuffer,
): { spec: MatmulSpec; accumulateTiles: boolean } {
  const base = matmulSpec(fn, plan, st, root);
  const width = plan.shape.kind === 'tiles' ? plan.shape.width : 0;
  const zero: SizeExpr = { dims: [], factor: 0 };
  const one: SizeExpr = { dims: [] };
  const stride: SizeExpr = { dims: [], factor: width };
  const tileWidth: SizeExpr = { dims: [], tileWidth: true };
  // t0 times a stride: where the tile starts in an operand held whole.
  const at = (s: SizeExpr): SizeExpr => {
    if (s.chunkStart || s.chunkRows || s.tileStart || s.tileWidth)
      throw new InternalError(`product %${st.node}: a tiled operand's stride is not a size`);
    return { ...s, tileStart: true };
  };
  const whole = (o: OperandSpec) => {
    if (o.offset.factor !== 0)
      throw new InternalError(`product %${st.node}: a tiled operand ${o.buffer} is offset`);
  };
  switch (st.tiled) {
    case 'n': {
      whole(base.b);
      return {
        spec: {
          ...base,
          N: tileWidth,
          b: { ...base.b, offset: at(base.b.sOuter) },
          c: { ...base.c, offset: zero, sOuter: stride, sK: one },
        },
        accumulateTiles: false,
      };
    }
    case 'k': {
      whole(base.b);
      return {
        spec: {
          ...base,
          K: tileWidth,
          a: { ...base.a, offset: zero, sOuter: stride, sK: one },
          b: { ...base.b, offset: at(base.b.sK) },
        },
        accumulateTiles: !base.accumulate,
      };
    }
    case 'm': {
      whole(base.c);
      return {
        spec: {
          ...base,
          M: tileWidth,
          a: { ...base.a, offset: zero, sOuter: one, sK: stride },
          c: { ...base.c, offset: at(base.c.sOuter) },
        },
        accumulateTiles: false,
      };
    }
  }
}
