import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { DType, Dim, IrFunction } from '../src/ir/types.ts';
import type { Monoid } from '../src/ops/record.ts';
import { OPS } from '../src/ops/registry.ts';
import type { SizeExpr } from '../src/plan/size-expr.ts';
import type { ChunkPlan, PlanBuffer } from '../src/plan/types.ts';

export { evalSize, type SizeExpr } from '../src/plan/size-expr.ts';

/** One u32 word of the uniform block shared by every module of a plan. */
export type UniformWord =
  | { readonly kind: 'chunkStart' }
  | { readonly kind: 'chunkRows' }
  /** Tiled plans: the tile width (the tile buffers' row stride), the current tile's start and width. */
  | { readonly kind: 'tile' }
  | { readonly kind: 'tileStart' }
  | { readonly kind: 'tileWidth' }
  /** 1 on the first tile a pass visits (it starts the statistics' states), else 0. */
  | { readonly kind: 'tileFirst' }
  | { readonly kind: 'dim'; readonly dim: Dim }
  /** A scalar parameter's value: f32 or i32 bits, bool as 0/1. */
  | { readonly kind: 'scalar'; readonly name: string; readonly dtype: DType }
  /** The word offset of an arena slot. */
  | { readonly kind: 'slot'; readonly buffer: string };

/** An arena slot: `words` u32 words; `chunk` slots hold one value per row of the chunk. */
export interface ArenaSlot {
  readonly buffer: string;
  readonly words: SizeExpr;
  /**
   * Filled before the first sweep: an accumulator's slot holds its monoid's state as
   * `values.length` equal planes (logsumexp: the maxima, then the sums), plane k filled with
   * `values[k]` written as `dtype` (the identity of an i32 max is −2³¹).
   */
  readonly init?: { readonly values: readonly number[]; readonly dtype: DType };
}

export interface ProgramLayout {
  readonly uniform: readonly UniformWord[];
  readonly slots: readonly ArenaSlot[];
}

/** Index of a word in the uniform block. */
export function uniformIndex(l: ProgramLayout, pred: (w: UniformWord) => boolean): number {
  const i = l.uniform.findIndex(pred);
  if (i < 0) throw new Error('uniform word not in the layout');
  return i;
}

/** Lays out the uniform block and the arena of a plan. */
export function programLayout(fn: IrFunction, plan: ChunkPlan): ProgramLayout {
  const uniform: UniformWord[] = [{ kind: 'chunkStart' }, { kind: 'chunkRows' }];
  if (plan.shape.kind === 'tiles')
    uniform.push(
      { kind: 'tile' },
      { kind: 'tileStart' },
      { kind: 'tileWidth' },
      { kind: 'tileFirst' },
    );
  for (const d of allDims(fn)) uniform.push({ kind: 'dim', dim: d });
  for (const p of fn.params)
    if (p.dims.length === 0) uniform.push({ kind: 'scalar', name: p.name, dtype: p.dtype });
  const slots: ArenaSlot[] = [];
  for (const b of plan.buffers) {
    if (b.home !== 'arena') continue;
    uniform.push({ kind: 'slot', buffer: b.name });
    const words = slotWords(b);
    if (b.role === 'accumulator') {
      const m = accumulatorMonoid(fn, b);
      const dtype = m.width === 1 ? b.dtype : 'f32';
      slots.push({
        buffer: b.name,
        words: m.width === 1 ? words : { ...words, factor: (words.factor ?? 1) * m.width },
        init: { values: m.identity(b.dtype), dtype },
      });
    } else slots.push({ buffer: b.name, words });
  }
  return { uniform, slots };
}

/** The monoid an accumulator folds with: its node's reduction record's. */
export function accumulatorMonoid(fn: IrFunction, b: PlanBuffer): Monoid {
  const n = fn.nodes[b.node];
  const rec = n && OPS[n.op];
  if (rec?.kind !== 'reduction')
    throw new InternalError(`accumulator ${b.name} holds %${b.node}, which is not a reduction`);
  return rec.monoid;
}

/** Whether a buffer holds one entry per row of the current chunk (the plan says; else it is whole). */
export function isChunkScoped(b: PlanBuffer): boolean {
  return b.scope === 'chunk';
}

/** Words of an arena slot: one per element (values are f32, i32 or bool words). */
function slotWords(b: PlanBuffer): SizeExpr {
  return b.elements;
}

/** Every dim the function mentions, declared ones first. */
export function allDims(fn: IrFunction): Dim[] {
  const out = [...fn.dims];
  for (const n of fn.nodes) {
    for (const d of [...n.dims, ...(n.attrs.axes ?? []), ...(n.attrs.dim ? [n.attrs.dim] : [])])
      if (!out.includes(d)) out.push(d);
  }
  return out;
}
