import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { IrFunction } from '../src/ir/types.ts';
import { PORTABLE_COMPUTE_LIMITS } from '../src/plan/device-limits.ts';
import type { SizeExpr } from '../src/plan/size-expr.ts';
import type { ChunkPlan, PlanBuffer, TileRowStep } from '../src/plan/types.ts';
import { BindingSet } from './bindings.ts';
import { carryKernel } from './carry-kernel.ts';
import { globalKernel } from './global-kernel.ts';
import type { KernelModule } from './kernel-module.ts';
import { programLayout, type ProgramLayout } from './layout.ts';
import { matmulSpec, type MatmulSpec } from './matmul-spec.ts';
import {
  defaultMatmulTiles,
  matmulTilesProblem,
  matmulWgsl,
  type MatmulConfig,
  type MatmulOperandDtype,
  type MatmulTileLimits,
  type MatmulTiles,
} from './matmul.ts';
import { rowKernel } from './row-kernel.ts';
import { tileRowKernel } from './tile-kernel.ts';
import { tileMatmulSpec } from './tile-matmul.ts';

/** One generated matmul module: `matmul_<a>_<b>_<acc|set>` for its operand dtypes. */
export interface MatmulVariant {
  readonly name: string;
  readonly config: MatmulConfig;
  readonly code: string;
}

/** One step of the work for each chunk: a generated module, or a product. */
export type ChunkStep =
  | { readonly kind: 'kernel'; readonly module: string }
  /**
   * `accumulateTiles`: the first tile a tile loop visits sets C, later tiles add to it;
   * `forward`: a projection of the tile (z_t), which a `reusesTile` loop skips on its first.
   */
  | {
      readonly kind: 'matmul';
      readonly spec: MatmulSpec;
      readonly accumulateTiles?: boolean;
      readonly forward?: boolean;
    }
  /** The steps once per tile of `dim` (`width` elements each, the last what is left). */
  | {
      readonly kind: 'tiles';
      readonly dim: string;
      readonly width: number;
      readonly pass: number;
      /** Visit the tiles last to first; on the first one visited, skip the `forward` products. */
      readonly reverse: boolean;
      readonly reusesTile: boolean;
      readonly steps: readonly ChunkStep[];
    };

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
  /**
   * The products' modules: tiles chosen against the limits the program was generated for,
   * and every variant the schedule runs (with the accumulating one of each operand pair, which
   * continues a product whose K is split over several dispatches).
   */
  readonly matmul: { readonly tiles: MatmulTiles; readonly variants: readonly MatmulVariant[] };
}

export interface CodegenOptions {
  /** Threads per workgroup of row, carry and global kernels (a power of two). */
  readonly workgroupSize?: number;
  /** The device limits the matmul tiles must fit; default WebGPU's guaranteed ones. */
  readonly limits?: MatmulTileLimits;
  /**
   * The matmul tiles, e.g. the autotuner's choice for a device (src/runtime/matmul-tune.ts);
   * default the largest of `defaultMatmulTiles` that fits `limits`.
   */
  readonly tiles?: MatmulTiles;
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
  const buffer = (name: string): PlanBuffer => {
    const b = plan.buffers.find((x) => x.name === name);
    if (!b) throw new InternalError(`plan buffer ${name} missing`);
    return b;
  };
  // The schedule tree, rendered: whole reductions before the first loop, each loop's steps
  // (a module per row or carry step, a matmul spec per product) and the globals after it,
  // then the epilogue's writes.
  const before: string[] = [];
  const sweeps: { index: number; chunk: ChunkStep[]; after: string[] }[] = [];
  const epilogue: string[] = [];
  for (const item of plan.schedule) {
    if (item.kind === 'loop') {
      // A loop's kernels see its own rows as the plan's (one of several row sets).
      const loopPlan: ChunkPlan = { ...plan, rows: item.dims };
      const tiled = plan.sweeps[item.sweep]?.tiled;
      const tileRow = (st: TileRowStep, name: string): ChunkStep => {
        if (!tiled) throw new InternalError(`sweep ${item.sweep} is not tiled`);
        modules.push(tileRowKernel(fn, loopPlan, layout, st, tiled, name, wg));
        return { kind: 'kernel', module: name };
      };
      const chunk: ChunkStep[] = item.body.map((st, k) => {
        if (st.kind === 'matmul')
          return { kind: 'matmul', spec: matmulSpec(fn, loopPlan, st, root) };
        const name = `sweep${item.sweep}_${st.kind}${k}`;
        if (st.kind === 'tile-row') return tileRow(st, `${name}_${st.role}`);
        if (st.kind === 'tiles')
          return {
            kind: 'tiles',
            dim: st.dim,
            width: tiled?.width ?? 0,
            pass: st.pass,
            reverse: st.reverse,
            reusesTile: st.reusesTile,
            steps: st.body.map((inner, j) =>
              inner.kind === 'matmul'
                ? {
                    kind: 'matmul',
                    ...tileMatmulSpec(fn, loopPlan, inner, root),
                    ...(inner.tiled === 'n' ? { forward: true } : {}),
                  }
                : tileRow(inner, `sweep${item.sweep}_pass${st.pass}_${inner.role}${j}`),
            ),
          };
        modules.push(
          st.kind === 'row'
            ? rowKernel(fn, loopPlan, layout, st, name, wg)
            : carryKernel(fn, loopPlan, layout, st.node, name, wg),
        );
        return { kind: 'kernel', module: name };
      });
      sweeps.push({ index: item.sweep, chunk, after: [] });
      continue;
    }
    const dest = buffer(item.writes[0] ?? '');
    if (item.kind === 'global') {
      const name = `global_${item.node}`;
      modules.push(globalKernel(fn, plan, layout, item.node, dest, name, wg));
      (sweeps[sweeps.length - 1]?.after ?? before).push(name);
    } else {
      const name = `epilogue_${(dest.result ?? '').replace(/[^A-Za-z0-9]/g, '_')}`;
      modules.push(globalKernel(fn, plan, layout, item.node, dest, name, wg));
      epilogue.push(name);
    }
  }
  const limits = opts.limits ?? PORTABLE_COMPUTE_LIMITS;
  const tiles = opts.tiles ?? defaultMatmulTiles(limits);
  const problem = matmulTilesProblem(tiles, opts.tiles && !opts.limits ? undefined : limits);
  if (problem) throw new RangeError(`matmul tiles ${JSON.stringify(tiles)}: ${problem}`);
  const variants = new Map<string, MatmulVariant>();
  const variant = (config: MatmulConfig) => {
    const name = matmulVariantName(config);
    if (!variants.has(name)) variants.set(name, { name, config, code: matmulWgsl(config) });
  };
  // With direct tiles, an operand whose k stride is 1 may also be read as vec4s (the
  // runtime checks its offset and strides per product, and else runs the scalar variant).
  const vec4able = (o: MatmulSpec['a']) => tiles.staging === 'direct' && isOne(o.sK);
  const products = (steps: readonly ChunkStep[]): MatmulSpec[] =>
    steps.flatMap((st) =>
      st.kind === 'matmul' ? [st.spec] : st.kind === 'tiles' ? products(st.steps) : [],
    );
  for (const sw of sweeps)
    for (const spec of products(sw.chunk)) {
      const [aDtype, bDtype] = [operandDtype(spec.a.dtype), operandDtype(spec.b.dtype)];
      const vecs: [boolean, boolean][] = [[false, false]];
      if (vec4able(spec.a)) vecs.push([true, false]);
      if (vec4able(spec.b)) vecs.push([false, true]);
      if (vecs.length === 3) vecs.push([true, true]);
      for (const accumulate of new Set([spec.accumulate, true]))
        for (const [vecA, vecB] of vecs)
          variant({
            ...{ aDtype, bDtype, accumulate, tiles },
            ...(vecA ? { vecA } : {}),
            ...(vecB ? { vecB } : {}),
          });
    }
  return {
    fn,
    plan,
    layout,
    modules,
    before,
    sweeps,
    epilogue,
    matmul: { tiles, variants: [...variants.values()] },
  };
}

/** The module name of a matmul variant (tiles are the program's, so they are left out). */
export function matmulVariantName(c: Omit<MatmulConfig, 'tiles'>): string {
  const vec = `${c.vecA ? '_va' : ''}${c.vecB ? '_vb' : ''}`;
  return `matmul_${c.aDtype}_${c.bDtype}_${c.accumulate ? 'acc' : 'set'}${vec}`;
}

/** A stride that is 1 whatever the sizes. */
function isOne(e: SizeExpr): boolean {
  return e.dims.length === 0 && !e.chunkStart && !e.chunkRows && (e.factor ?? 1) === 1;
}

/** Products read 16-bit storage as such; everything else they read is f32. */
function operandDtype(d: string): MatmulOperandDtype {
  return d === 'bf16' || d === 'f16' ? d : 'f32';
}

/** The program's code for a matmul variant (the runtime asks for nothing else). */
export function programMatmulSource(p: Program): (c: MatmulConfig) => string {
  return (c) => {
    const v = programVariant(p, c);
    if (!v)
      throw new InternalError(`the program has no module ${matmulVariantName(c)} for these tiles`);
    return v.code;
  };
}

/** Whether the program holds a matmul variant (the runtime's `has`). */
export function programMatmulHas(p: Program): (c: MatmulConfig) => boolean {
  return (c) => programVariant(p, c) !== undefined;
}

function programVariant(p: Program, c: MatmulConfig): MatmulVariant | undefined {
  const v = p.matmul.variants.find((x) => x.name === matmulVariantName(c));
  return v && JSON.stringify(v.config.tiles) === JSON.stringify(c.tiles) ? v : undefined;
}
