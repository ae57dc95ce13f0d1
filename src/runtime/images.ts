import { evalSize, uniformIndex } from '../../codegen/layout.ts';
import type { Program } from '../../codegen/program.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import type { DimSizes } from '../tensor/tensor.ts';
import { f32Bits, roundToBf16, roundToF16 } from '../io/dtype-bits.ts';
import { isFloat, type DType } from '../ir/types.ts';

/** A value as the u32 word the kernels read: f32 bits, i32 two's complement, bool 0/1. */
export function word(v: number, d: DType): number {
  // bf16/f16 inputs are rounded to their storage, as the interpreter and the products see them.
  if (d === 'bf16') return f32Bits(roundToBf16(v));
  if (d === 'f16') return f32Bits(roundToF16(v));
  if (isFloat(d)) return f32Bits(v);
  if (d === 'i32') return v >>> 0;
  return v ? 1 : 0;
}

/**
 * The arena's initial contents: input tensors read by kernels (their words, see `word`,
 * by parameter name; an input missing here is copied in on the device), accumulators at
 * their reduction's identity, zeros elsewhere; and each slot's word offset.
 */
export function arenaImage(
  p: Program,
  sizes: DimSizes,
  chunkRows: number,
  inputWords: ReadonlyMap<string, Uint32Array | 'device'>,
): { words: Uint32Array; offsets: Map<string, number> } {
  const offsets = new Map<string, number>();
  let at = 0;
  const scope = { start: 0, rows: chunkRows };
  for (const s of p.layout.slots) {
    offsets.set(s.buffer, at);
    at += evalSize(s.words, sizes, scope);
  }
  const words = new Uint32Array(Math.max(1, at));
  for (const s of p.layout.slots) {
    const off = offsets.get(s.buffer) ?? 0;
    const n = evalSize(s.words, sizes, scope);
    const b = p.plan.buffers.find((x) => x.name === s.buffer);
    if (!b) continue;
    if (b.role === 'input') {
      const name = p.fn.nodes[b.node]?.attrs.name ?? '';
      const w = inputWords.get(name);
      if (!w) throw new InternalError(`no input ${name} for the arena`);
      if (w !== 'device') words.set(w, off);
    } else if (s.init !== undefined) {
      const { values, dtype } = s.init;
      const plane = n / values.length;
      values.forEach((v, k) => words.fill(word(v, dtype), off + k * plane, off + (k + 1) * plane));
    }
  }
  return { words, offsets };
}

/** The uniform block with everything but the chunk's start and rows filled in. */
export function uniformImage(
  p: Program,
  sizes: DimSizes,
  offsets: ReadonlyMap<string, number>,
  scalars: ReadonlyMap<string, number>,
): UniformImage {
  const words = new Uint32Array(4 * Math.max(1, Math.ceil(p.layout.uniform.length / 4)));
  p.layout.uniform.forEach((w, i) => {
    switch (w.kind) {
      case 'dim':
        words[i] = sizes.get(w.dim) ?? 0;
        break;
      case 'scalar': {
        const param = p.fn.params.find((q) => q.name === w.name);
        const v = scalars.get(w.name) ?? param?.default;
        if (v === undefined) throw new InternalError(`no value for scalar ${w.name}`);
        words[i] = word(v, w.dtype);
        break;
      }
      case 'slot':
        words[i] = offsets.get(w.buffer) ?? 0;
        break;
      case 'tile':
        words[i] = p.plan.shape.kind === 'tiles' ? p.plan.shape.width : 0;
        break;
      default:
        break;
    }
  });
  return {
    words,
    chunkStart: uniformIndex(p.layout, (w) => w.kind === 'chunkStart'),
    chunkRows: uniformIndex(p.layout, (w) => w.kind === 'chunkRows'),
    ...(p.plan.shape.kind === 'tiles'
      ? {
          tileStart: uniformIndex(p.layout, (w) => w.kind === 'tileStart'),
          tileWidth: uniformIndex(p.layout, (w) => w.kind === 'tileWidth'),
          tileFirst: uniformIndex(p.layout, (w) => w.kind === 'tileFirst'),
        }
      : {}),
  };
}

/** The uniform block and where the words set per chunk (and per tile) are. */
export interface UniformImage {
  readonly words: Uint32Array;
  readonly chunkStart: number;
  readonly chunkRows: number;
  readonly tileStart?: number;
  readonly tileWidth?: number;
  readonly tileFirst?: number;
}
