import type { IrFunction } from '../src/ir/types.ts';
import type { ChunkPlan, PlanBuffer } from '../src/plan/types.ts';
import { BindingSet } from './bindings.ts';
import { carryKernel } from './carry-kernel.ts';
import { globalKernel } from './global-kernel.ts';
import type { KernelModule } from './kernel-module.ts';
import { programLayout, type ProgramLayout } from './layout.ts';
import { matmulSpec, type MatmulSpec } from './matmul-spec.ts';
import { rowKernel } from './row-kernel.ts';

/** One step of the work for each chunk: a generated module, or a product. */
export type ChunkStep =
  | { readonly kind: 'kernel'; readonly module: string }
  | { readonly kind: 'matmul'; readonly spec: MatmulSpec };

/**
 * Everything a runtime needs to run a plan: the WGSL modules, the uniform and arena layout,
 * and the schedule as data (what runs before the sweeps, for each chunk of each sweep,
 * between sweeps and at the end). `projc compile` writes this as manifest.json.
 */
export interface Program {
  readonly fn: IrFunction;
  readonly plan: ChunkPlan;
  readonly layout: ProgramLayout;
  readonly modules: readonly KernelModule[];
  /** Global kernels to run before the first sweep. */
  readonly before: readonly string[];
  readonly sweeps: readonly {
    readonly index: number;
    readonly chunk: readonly ChunkStep[];
    readonly after: readonly string[];
  }[];
  /** Kernels writing the results that no sweep writes. */
  readonly epilogue: readonly string[];
}

export interface CodegenOptions {
  /** Threads per workgroup of row, carry and global kernels (a power of two). */
  readonly workgroupSize?: number;
}

/** Generates every module of a plan. */
export function generateProgram(
  fn: IrFunction,
  plan: ChunkPlan,
  opts: CodegenOptions = {},
): Program {
  const wg = opts.workgroupSize ?? 64;
  const layout = programLayout(fn, plan);
  const modules: KernelModule[] = [];
  const roots = new BindingSet(plan);
  const root = (name: string): PlanBuffer => roots.root(name);
  const buffer = (pred: (b: PlanBuffer) => boolean): PlanBuffer => {
    const b = plan.buffers.find(pred);
    if (!b) throw new Error('plan buffer missing');
    return b;
  };
  const globalModule = (id: number): string => {
    const name = `global_${id}`;
    modules.push(
      globalKernel(
        fn,
        plan,
        layout,
        id,
        buffer((b) => b.name === `global.%${id}`),
        name,
        wg,
      ),
    );
    return name;
  };
  const before = plan.globals.filter((g) => g.before === 0).map((g) => globalModule(g.node));
  const sweeps = plan.sweeps.map((sw) => {
    const chunk: ChunkStep[] = sw.stages.map((st, k) => {
      if (st.kind === 'matmul') return { kind: 'matmul', spec: matmulSpec(fn, plan, st, root) };
      const name = `sweep${sw.index}_${st.kind}${k}`;
      modules.push(
        st.kind === 'row'
          ? rowKernel(fn, plan, layout, st, name, wg)
          : carryKernel(fn, plan, layout, st.node, name, wg),
      );
      return { kind: 'kernel', module: name };
    });
    const after = plan.globals
      .filter((g) => g.before === sw.index + 1 && g.before > 0)
      .map((g) => globalModule(g.node));
    return { index: sw.index, chunk, after };
  });
  const epilogue = fn.results
    .filter((r) => plan.epilogue.includes(r.node))
    .map((r) => {
      const name = `epilogue_${r.name.replace(/[^A-Za-z0-9]/g, '_')}`;
      modules.push(
        globalKernel(
          fn,
          plan,
          layout,
          r.node,
          buffer((b) => b.name === `result.${r.name}`),
          name,
          wg,
        ),
      );
      return name;
    });
  return { fn, plan, layout, modules, before, sweeps, epilogue };
}
