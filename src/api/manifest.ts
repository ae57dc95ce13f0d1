import type { ArenaSlot, SizeExpr, UniformWord } from '../../codegen/layout.ts';
import type { MatmulOperandDtype, MatmulTiles } from '../../codegen/matmul.ts';
import type { MatmulSpec } from '../../codegen/matmul-spec.ts';
import type { BindingSpec } from '../../codegen/bindings.ts';
import type { Dispatch } from '../../codegen/kernel-module.ts';
import type { ChunkStep, Program } from '../../codegen/program.ts';
import { nodeText } from '../ir/print.ts';
import type { DType, Dim } from '../ir/types.ts';
import type { Home, PlanBuffer } from '../plan/types.ts';

/** The schema version; bumped whenever a field changes meaning or shape. */
export const MANIFEST_FORMAT = 'projc-manifest/2';

/**
 * The manifest of `projc compile`: the Program as data, for another runtime: the uniform and
 * arena layout, every buffer with its scope and element count, each generated module's
 * bindings and dispatch, the products' modules and tiles, and the schedule. Sizes are
 * SizeExprs: products of dim sizes, times the chunk's first row or row count when flagged.
 */
export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly kernel: string;
  readonly params: readonly {
    readonly name: string;
    readonly dtype: DType;
    readonly dims: readonly Dim[];
    readonly default?: number;
  }[];
  readonly results: readonly {
    readonly name: string;
    readonly dtype: DType;
    readonly dims: readonly Dim[];
    readonly buffer: string;
  }[];
  readonly rows: readonly Dim[];
  readonly uniform: readonly UniformWord[];
  readonly arena: readonly ArenaSlot[];
  readonly buffers: readonly {
    readonly name: string;
    readonly home: Home;
    readonly role: PlanBuffer['role'];
    readonly dtype: DType;
    readonly dims: readonly Dim[];
    readonly scope: PlanBuffer['scope'];
    readonly elements: SizeExpr;
    readonly storage: string;
    readonly aliasOf?: string;
    readonly value: string;
  }[];
  readonly modules: readonly {
    readonly name: string;
    readonly file: string;
    readonly workgroupSize: number;
    readonly bindings: readonly BindingSpec[];
    readonly dispatch: Dispatch;
  }[];
  readonly matmul: {
    readonly contract: string;
    /** Dispatch ⌈N / tileN⌉ × ⌈M / tileM⌉ workgroups. */
    readonly tiles: MatmulTiles;
    readonly modules: readonly {
      readonly name: string;
      readonly file: string;
      readonly aDtype: MatmulOperandDtype;
      readonly bDtype: MatmulOperandDtype;
      readonly accumulate: boolean;
      /** A (B) bound as vec4s along k (direct tiles; only where offsets and strides allow). */
      readonly vecA?: boolean;
      readonly vecB?: boolean;
    }[];
  };
  readonly schedule: {
    readonly before: readonly string[];
    readonly sweeps: readonly {
      readonly index: number;
      /** The row dims this sweep's chunks are ranges of (one row set of `rows`). */
      readonly rows: readonly Dim[];
      readonly forEachChunk: readonly ManifestStep[];
      readonly after: readonly string[];
    }[];
    readonly epilogue: readonly string[];
  };
}

/** A step for each chunk: a module, a product, or a loop over vocabulary tiles. */
export type ManifestStep =
  | { readonly kernel: string }
  | { readonly matmul: MatmulSpec; readonly accumulateTiles?: boolean; readonly forward?: boolean }
  | {
      readonly tiles: {
        readonly dim: string;
        readonly width: number;
        readonly pass: number;
        readonly reverse: boolean;
        readonly reusesTile: boolean;
        readonly steps: readonly ManifestStep[];
      };
    };

function manifestStep(c: ChunkStep): ManifestStep {
  switch (c.kind) {
    case 'kernel':
      return { kernel: c.module };
    case 'matmul':
      return {
        matmul: c.spec,
        ...(c.accumulateTiles ? { accumulateTiles: true } : {}),
        ...(c.forward ? { forward: true } : {}),
      };
    case 'tiles':
      return {
        tiles: {
          dim: c.dim,
          width: c.width,
          pass: c.pass,
          reverse: c.reverse,
          reusesTile: c.reusesTile,
          steps: c.steps.map(manifestStep),
        },
      };
  }
}

export function manifest(p: Program): Manifest {
  const node = (id: number) => {
    const n = p.fn.nodes[id];
    if (!n) throw new Error(`no node %${id}`);
    return n;
  };
  return {
    format: MANIFEST_FORMAT,
    kernel: p.fn.name,
    params: p.fn.params.map((q) => ({
      name: q.name,
      dtype: q.dtype,
      dims: q.dims,
      ...(q.default !== undefined ? { default: q.default } : {}),
    })),
    results: p.fn.results.map((r) => ({
      name: r.name,
      dtype: node(r.node).dtype,
      dims: node(r.node).dims,
      buffer: p.plan.buffers.find((b) => b.result === r.name && b.home === 'own')?.name ?? '',
    })),
    rows: p.plan.rows,
    uniform: p.layout.uniform,
    arena: p.layout.slots,
    buffers: p.plan.buffers.map((b) => ({
      name: b.name,
      home: b.home,
      role: b.role,
      dtype: b.dtype,
      dims: b.dims,
      scope: b.scope,
      elements: b.elements,
      storage:
        b.home === 'own' && b.role === 'input' && (b.dtype === 'bf16' || b.dtype === 'f16')
          ? `${b.dtype} packed two per u32`
          : b.home === 'arena'
            ? 'u32 words'
            : 'f32/i32/u32 per element',
      ...(b.aliasOf ? { aliasOf: b.aliasOf } : {}),
      value: nodeText(node(b.node)),
    })),
    modules: p.modules.map((m) => ({
      name: m.name,
      file: `${m.name}.wgsl`,
      workgroupSize: m.workgroupSize,
      bindings: m.bindings,
      dispatch: m.dispatch,
    })),
    matmul: {
      contract:
        'C[m,n] (+)= sum_k A[offA + m*sAm + k*sAk] * B[offB + k*sBk + n*sBn], C at offC + m*sCm + n*sCn',
      tiles: p.matmul.tiles,
      modules: p.matmul.variants.map((v) => ({
        name: v.name,
        file: `${v.name}.wgsl`,
        aDtype: v.config.aDtype,
        bDtype: v.config.bDtype,
        accumulate: v.config.accumulate,
        ...(v.config.vecA ? { vecA: true } : {}),
        ...(v.config.vecB ? { vecB: true } : {}),
      })),
    },
    schedule: {
      before: p.before,
      sweeps: p.sweeps.map((s) => ({
        index: s.index,
        rows: p.plan.sweeps[s.index]?.rowDims ?? p.plan.rows,
        forEachChunk: s.chunk.map(manifestStep),
        after: s.after,
      })),
      epilogue: p.epilogue,
    },
  };
}
