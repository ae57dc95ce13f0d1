// The schedule of a program as commands: before, each sweep chunk by chunk then its
// after-kernels, the epilogue; streamed (a submit per chunk) or recorded into one encoder.
import type { KernelModule } from '../../codegen/kernel-module.ts';
import { GRID_X } from '../../codegen/kernel-module.ts';
import { evalSize } from '../../codegen/layout.ts';
import type { MatmulSpec } from '../../codegen/matmul-spec.ts';
import type { ChunkStep } from '../../codegen/program.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import type { IrFunction } from '../ir/types.ts';
import type { DimSizes } from '../tensor/tensor.ts';
import { MatmulRunner, OperandRangeError } from './matmul.ts';
import { bufferOf, type Run } from './run-setup.ts';
import { BufferUsage } from './usage.ts';

/** How the schedule's commands reach the queue. */
export interface Recorder {
  /** The encoder the next commands go to. */
  encoder(): GPUCommandEncoder;
  /** Sets the chunk's first row and row count (and the tile's, in a tile loop) for the next commands. */
  setChunk(start: number, rows: number, tile?: Tile): void;
  /** The commands of one chunk (or one pass alone) are recorded. */
  endChunk(): void;
  /**
   * After each step (a kernel or a product), with its label: true makes the schedule yield
   * there, so that the step can be timed alone (`src/runtime/profile.ts`).
   */
  stepDone?(label: string): boolean;
}

/** The current tile of a tile loop: its first element and width. */
export interface Tile {
  readonly start: number;
  readonly width: number;
  /** The first tile its pass visits. */
  readonly first: boolean;
}

/** Writes the chunk's (and tile's) words into the uniform block. */
function setWords(run: Run, start: number, rows: number, tile: Tile | undefined): void {
  const u = run.uni;
  u.words[u.chunkStart] = start;
  u.words[u.chunkRows] = rows;
  if (u.tileStart !== undefined) u.words[u.tileStart] = tile?.start ?? 0;
  if (u.tileWidth !== undefined) u.words[u.tileWidth] = tile?.width ?? 0;
  if (u.tileFirst !== undefined) u.words[u.tileFirst] = tile?.first ? 1 : 0;
}

/**
 * Uniform blocks a run records: before, each sweep's chunks (one block per chunk, plus per
 * tile loop one per tile and one after it) and its after-kernels, the epilogue.
 */
function uniformBlocks(run: Run): number {
  const tilesOf = (steps: readonly ChunkStep[]): number =>
    steps.reduce((s, st) => {
      if (st.kind !== 'tiles') return s;
      const size = run.sizes.get(st.dim) ?? 0;
      return s + Math.max(1, Math.ceil(size / Math.max(1, st.width))) + 1;
    }, 1);
  return 2 + run.p.sweeps.reduce((s, sw) => s + 1 + chunksOf(run, sw.index) * tilesOf(sw.chunk), 0);
}

/** One submit per chunk, the uniform written before each (the queue orders the writes). */
export function streamRecorder(run: Run): Recorder {
  let enc: GPUCommandEncoder | undefined;
  return {
    encoder: () => (enc ??= run.dev.device.createCommandEncoder({ label: 'projc chunk' })),
    setChunk(start, rows, tile) {
      setWords(run, start, rows, tile);
      run.pool.upload(run.uniform, run.uni.words);
    },
    endChunk() {
      if (enc) run.dev.device.queue.submit([enc.finish()]);
      enc = undefined;
      run.runner.afterSubmit();
    },
  };
}

/**
 * Everything in one encoder: each chunk's uniform block is one slice of an image buffer,
 * copied into the uniform buffer by the encoder itself before the chunk's passes.
 */
export function recordRecorder(run: Run, enc: GPUCommandEncoder): Recorder & { finish(): void } {
  const blockWords = run.uni.words.length;
  const blocks = uniformBlocks(run);
  const image = new Uint32Array(blocks * blockWords);
  const imageBuf = run.pool.create(
    'uniform-image',
    image.byteLength,
    BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
  );
  let used = 0;
  return {
    encoder: () => enc,
    setChunk(start, rows, tile) {
      if (used >= blocks) throw new InternalError('uniform image too small');
      setWords(run, start, rows, tile);
      image.set(run.uni.words, used * blockWords);
      enc.copyBufferToBuffer(imageBuf, used * blockWords * 4, run.uniform, 0, blockWords * 4);
      used++;
    },
    endChunk() {},
    finish() {
      // Lands before the encoder's submit, whoever submits it.
      run.pool.upload(imageBuf, image.subarray(0, Math.max(1, used) * blockWords));
    },
  };
}

/**
 * The schedule: before, each sweep chunk by chunk then its after-kernels, the epilogue.
 * Yields the number of chunks of all sweeps after each chunk.
 */
export function* schedule(run: Run, rec: Recorder): Generator<number, void, void> {
  const { p, sizes, chunk, runner, buffers } = run;
  const state = { start: 0, rows: 0 };
  const dispatch = (enc: GPUCommandEncoder, name: string) => {
    const k = run.kernels.get(name);
    if (!k) throw new InternalError(`no module ${name}`);
    const groups = workgroups(k.module, sizes, state);
    if (groups === 0) return;
    const pass = enc.beginComputePass({ label: name });
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, k.group);
    pass.dispatchWorkgroups(Math.min(groups, GRID_X), Math.ceil(groups / GRID_X));
    pass.end();
  };
  const isPre = (i: number) => p.plan.sweeps[i]?.pre === true;
  const chunksInAll = p.sweeps.reduce((s, sw) => s + chunksOf(run, sw.index), 0);
  function* runAlone(names: readonly string[]) {
    if (!names.length) return;
    state.start = 0;
    state.rows = 0;
    rec.setChunk(0, 0);
    for (const n of names) {
      dispatch(rec.encoder(), n);
      if (rec.stepDone?.(n)) yield chunksInAll;
    }
    rec.endChunk();
  }
  yield* runAlone(p.before);
  // A pre-pass runs over all the rows at once (its per-row values are sized for them).
  for (const sw of p.sweeps) {
    const total = sweepRows(run, sw.index);
    const step = isPre(sw.index) ? Math.max(1, total) : chunk.chunkRows;
    for (let start = 0; start < total; start += step) {
      run.dev.throwIfLost();
      state.start = start;
      state.rows = Math.min(step, total - start);
      rec.setChunk(state.start, state.rows);
      for (const s of sw.chunk) {
        if (s.kind === 'kernel') dispatch(rec.encoder(), s.module);
        else if (s.kind === 'matmul')
          encodeSplit(runner, rec.encoder(), matmulArgs(s.spec, buffers, sizes, state));
        if (s.kind !== 'tiles') {
          if (rec.stepDone?.(stepLabel(run.p.fn, sw.index, s))) yield chunksInAll;
        } else {
          // A tile loop: each tile is a block of its own with its start and width in the
          // uniform (the queue orders uniform writes between submits, not within one).
          rec.endChunk();
          const size = sizes.get(s.dim) ?? 0;
          const starts: number[] = [];
          for (let t0 = 0; t0 < size; t0 += s.width) starts.push(t0);
          if (s.reverse) starts.reverse();
          for (const [k, t0] of starts.entries()) {
            const tile = { start: t0, width: Math.min(s.width, size - t0), first: k === 0 };
            rec.setChunk(state.start, state.rows, tile);
            const at = { ...state, tileStart: tile.start, tileWidth: tile.width };
            for (const inner of s.steps) {
              if (inner.kind === 'kernel') dispatch(rec.encoder(), inner.module);
              else if (inner.kind === 'matmul') {
                // The previous pass left this tile's projections in their buffers.
                if (inner.forward && s.reusesTile && k === 0) continue;
                const args = matmulArgs(inner.spec, buffers, sizes, at);
                const accumulate = args.accumulate || (inner.accumulateTiles === true && k > 0);
                encodeSplit(runner, rec.encoder(), { ...args, accumulate });
              } else throw new InternalError('a tile loop inside a tile loop');
              if (
                rec.stepDone?.(`${stepLabel(run.p.fn, sw.index, inner)} (tile loop over ${s.dim})`)
              )
                yield chunksInAll;
            }
            rec.endChunk();
          }
          rec.setChunk(state.start, state.rows);
        }
      }
      rec.endChunk();
      yield chunksInAll;
    }
    yield* runAlone(sw.after);
  }
  yield* runAlone(p.epilogue);
}

/**
 * A step's name in a profile: its module, or the product with its operands
 * (`sweep1 matmul %5 [N, V] = in.X · in.W`, `+=` for one accumulated over the chunks).
 * Exported so that a reader of a profile (the bench) can name a product's step from the program.
 */
export function stepLabel(
  fn: IrFunction,
  sweep: number,
  s:
    | { readonly kind: 'kernel'; readonly module: string }
    | { readonly kind: 'matmul'; readonly spec: MatmulSpec },
): string {
  if (s.kind === 'kernel') return s.module;
  const n = fn.nodes[s.spec.node];
  const dims = n ? ` [${n.dims.join(', ')}]` : '';
  const op = s.spec.accumulate ? '+=' : '=';
  return `sweep${sweep} matmul %${s.spec.node}${dims} ${op} ${s.spec.a.buffer} · ${s.spec.b.buffer}`;
}

/** The rows sweep `i` walks: its row set's (each row set has a chunk loop of its own). */
function sweepRows(run: Run, i: number): number {
  const dims = run.p.plan.sweeps[i]?.rowDims ?? run.p.plan.rows;
  return dims.reduce((s, d) => s * (run.sizes.get(d) ?? 0), 1);
}

/** The chunks of sweep `i`: one for a pre-pass, else its rows in chunks of `chunkRows`. */
function chunksOf(run: Run, i: number): number {
  if (run.p.plan.sweeps[i]?.pre === true) return 1;
  return Math.max(1, Math.ceil(sweepRows(run, i) / Math.max(1, run.chunk.chunkRows)));
}

/** Workgroups of a module's dispatch for the current chunk. */
function workgroups(
  m: KernelModule,
  sizes: DimSizes,
  chunk: { start: number; rows: number },
): number {
  switch (m.dispatch.kind) {
    case 'rows':
      return chunk.rows;
    case 'kept': {
      const inner = Math.max(1, evalSize(m.dispatch.inner, sizes, chunk));
      if (chunk.rows === 0) return 0;
      return (
        Math.floor((chunk.start + chunk.rows - 1) / inner) - Math.floor(chunk.start / inner) + 1
      );
    }
    case 'elements':
      return Math.ceil(evalSize(m.dispatch.count, sizes, chunk) / m.workgroupSize);
    case 'groups':
      return evalSize(m.dispatch.count, sizes, chunk);
  }
}

type Args = Parameters<MatmulRunner['encode']>[1];

/**
 * Records a product, split in halves while an operand's range passes the binding limit,
 * along the dim that spans most of that operand: a weight too large to bind whole is read
 * a slice of vocabulary rows at a time (z = X·Wᵀ along N; dX = dz·W along K, the later
 * halves accumulating), and an accumulator like dW a slice of rows at a time.
 */
function encodeSplit(runner: MatmulRunner, enc: GPUCommandEncoder, a: Args): void {
  try {
    runner.encode(enc, a);
  } catch (e) {
    if (!(e instanceof OperandRangeError)) throw e;
    const span = { M: 0, N: 0, K: 0 };
    if (e.operand === 'A') Object.assign(span, { M: (a.M - 1) * a.sAm, K: (a.K - 1) * a.sAk });
    else if (e.operand === 'B') Object.assign(span, { N: (a.N - 1) * a.sBn, K: (a.K - 1) * a.sBk });
    else Object.assign(span, { M: (a.M - 1) * a.sCm, N: (a.N - 1) * a.sCn });
    const dim = (['M', 'N', 'K'] as const).reduce((x, y) => (span[y] > span[x] ? y : x));
    const n = a[dim];
    if (n <= 1) throw e;
    const h = Math.ceil(n / 2);
    if (dim === 'M') {
      encodeSplit(runner, enc, { ...a, M: h });
      encodeSplit(runner, enc, {
        ...a,
        M: a.M - h,
        offA: a.offA + h * a.sAm,
        offC: a.offC + h * a.sCm,
      });
    } else if (dim === 'N') {
      encodeSplit(runner, enc, { ...a, N: h });
      encodeSplit(runner, enc, {
        ...a,
        N: a.N - h,
        offB: a.offB + h * a.sBn,
        offC: a.offC + h * a.sCn,
      });
    } else {
      // C = A₁B₁ (+ the old C), then C += A₂B₂.
      encodeSplit(runner, enc, { ...a, K: h });
      encodeSplit(runner, enc, {
        ...a,
        K: a.K - h,
        offA: a.offA + h * a.sAk,
        offB: a.offB + h * a.sBk,
        accumulate: true,
      });
    }
  }
}

/** A product's arguments for the current chunk. */
function matmulArgs(
  s: MatmulSpec,
  buffers: ReadonlyMap<string, GPUBuffer>,
  sizes: DimSizes,
  chunk: { start: number; rows: number; tileStart?: number; tileWidth?: number },
) {
  const e = (x: Parameters<typeof evalSize>[0]) => evalSize(x, sizes, chunk);
  const operand = (d: string) => (d === 'bf16' || d === 'f16' ? d : 'f32');
  return {
    a: bufferOf(buffers, s.a.buffer),
    b: bufferOf(buffers, s.b.buffer),
    c: bufferOf(buffers, s.c.buffer),
    aDtype: operand(s.a.dtype),
    bDtype: operand(s.b.dtype),
    accumulate: s.accumulate,
    M: e(s.M),
    N: e(s.N),
    K: e(s.K),
    offA: e(s.a.offset),
    sAm: e(s.a.sOuter),
    sAk: e(s.a.sK),
    offB: e(s.b.offset),
    sBk: e(s.b.sK),
    sBn: e(s.b.sOuter),
    offC: e(s.c.offset),
    sCm: e(s.c.sOuter),
    sCn: e(s.c.sK),
  } as const;
}
