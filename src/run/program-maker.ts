import type { MatmulTiles } from '../../codegen/matmul.ts';
import { generateProgram, type Program } from '../../codegen/program.ts';
import type { Cotangent } from '../autodiff/differentiate.ts';
import type { IrFunction } from '../ir/types.ts';
import { planKernel } from '../plan/build-plan.ts';

/**
 * What `chooseShape` asks of `plan` and `run`: the kernel planned rows-only (no width) or
 * rows × vocabulary tiles of `width`, and generated (with `tiles` for its matmuls if given).
 */
export function programMaker(
  fn: IrFunction,
  grad: readonly string[],
  cotangents: ReadonlyMap<string, Cotangent>,
  tiles?: MatmulTiles,
): (width?: number) => Program {
  return (width) => {
    const p = planKernel({
      kernel: fn,
      grad,
      cotangents,
      ...(width !== undefined ? { schedule: { vocabTile: width } } : {}),
    });
    return generateProgram(p.fn, p.plan, tiles && { tiles });
  };
}
