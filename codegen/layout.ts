import type { DType, Dim, IrFunction } from '../src/ir/types.ts';
import type { ChunkPlan, PlanBuffer } from '../src/plan/types.ts';

/**
 * A size or offset as data: the product of the sizes of `dims`, times the chunk's first row
 * or its row count when flagged, times `factor`. The runtime evaluates it for the actual
 * dims and chunk; the manifest carries it as is.
 */
export interface SizeExpr {
  readonly dims: readonly Dim[];
  readonly chunkStart?: boolean;
  readonly chunkRows?: boolean;
  readonly factor?: number;
}

/** One u32 word of the uniform block shared by every module of a plan. */
export type UniformWord =
  | { readonly kind: 'chunkStart' }
  | { readonly kind: 'chunkRows' }
  | { readonly kind: 'dim'; readonly dim: Dim }
  /** A scalar parameter's value: f32 or i32 bits, bool as 0/1. */
  | { readonly kind: 'scalar'; readonly name: string; readonly dtype: DType }
  /** The word offset of an arena slot. */
  | { readonly kind: 'slot'; readonly buffer: string };

/** An arena slot: `words` u32 words; `chunk` slots hold one value per row of the chunk. */
export interface ArenaSlot {
  readonly buffer: string;
  readonly words: SizeExpr;
  /** Filled before the first sweep: accumulators with their reduction's identity (f32 bits). */
  readonly init?: number;
  /** logsumexp accumulators hold (max, sum of exp) pairs: the second half is initialised with this. */
  readonly init2?: number;
  /** The dtype of the words (`init` is written as this dtype: the identity of an i32 max is −2³¹). */
  readonly dtype?: DType;
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

const IDENTITY: Record<string, number> = {
  sum: 0,
  max: -Infinity,
  min: Infinity,
  logsumexp: -Infinity,
};

/** Lays out the uniform block and the arena of a plan. */
export function programLayout(fn: IrFunction, plan: ChunkPlan): ProgramLayout {
  const uniform: UniformWord[] = [{ kind: 'chunkStart' }, { kind: 'chunkRows' }];
  for (const d of allDims(fn)) uniform.push({ kind: 'dim', dim: d });
  for (const p of fn.params)
    if (p.dims.length === 0) uniform.push({ kind: 'scalar', name: p.name, dtype: p.dtype });
  const slots: ArenaSlot[] = [];
  for (const b of plan.buffers) {
    if (b.home !== 'arena') continue;
    uniform.push({ kind: 'slot', buffer: b.name });
    const op = fn.nodes[b.node]?.op ?? '';
    const words = slotWords(b, plan);
    if (b.role === 'accumulator') {
      const isInt = b.dtype === 'i32';
      const init =
        isInt && op === 'max'
          ? -(2 ** 31)
          : isInt && op === 'min'
            ? 2 ** 31 - 1
            : (IDENTITY[op] ?? 0);
      slots.push(
        op === 'logsumexp'
          ? { buffer: b.name, words: { ...words, factor: 2 }, init, init2: 0 }
          : { buffer: b.name, words, init, dtype: b.dtype },
      );
    } else slots.push({ buffer: b.name, words });
  }
  return { uniform, slots };
}

/** Whether a buffer holds one entry per row of the current chunk (else it is whole). */
export function isChunkScoped(b: PlanBuffer, plan: ChunkPlan): boolean {
  return (
    b.home === 'chunk' ||
    (b.home === 'arena' && plan.classes.get(b.node) === 'row' && b.role !== 'input' && !b.allRows)
  );
}

function slotWords(b: PlanBuffer, plan: ChunkPlan): SizeExpr {
  if (isChunkScoped(b, plan))
    return { dims: b.dims.filter((d) => !plan.rows.includes(d)), chunkRows: true };
  return { dims: b.dims };
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

export function evalSize(
  e: SizeExpr,
  sizes: ReadonlyMap<Dim, number>,
  chunk: { start: number; rows: number },
): number {
  let v = e.factor ?? 1;
  for (const d of e.dims) v *= sizes.get(d) ?? 0;
  if (e.chunkStart) v *= chunk.start;
  if (e.chunkRows) v *= chunk.rows;
  return v;
}
