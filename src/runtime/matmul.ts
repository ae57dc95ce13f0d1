// Records the generic strided matmul of codegen/matmul.ts into a command encoder: picks or
// builds the pipeline for the dtypes from the WGSL it is given, writes the sizes/offsets/strides uniform, binds each
// operand (the range it reads when the buffer passes the binding limit), and splits a grid
// wider than maxComputeWorkgroupsPerDimension into several dispatches.
import {
  MATMUL_UNIFORM_BYTES,
  MATMUL_UNIFORM_FIELDS,
  matmulKey,
  matmulTilesProblem,
  vec4Problem,
  type MatmulConfig,
  type MatmulOperandDtype,
  type MatmulTiles,
  type MatmulUniformField,
} from '../../codegen/matmul.ts';
import { BufferLimitError, BufferPool, UniformRing } from './buffers.ts';
import { ShaderStage } from './usage.ts';

/**
 * One matmul `C(m, n) (+)= Σ_k A(m, k)·B(k, n)` with A(m, k) = a[offA + m·sAm + k·sAk],
 * B(k, n) = b[offB + k·sBk + n·sBn], C(m, n) = c[offC + m·sCm + n·sCn]. Offsets and strides
 * count elements of the operand's dtype; C is f32. All are integers in [0, 2³²).
 */
export interface MatmulArgs {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  aDtype: MatmulOperandDtype;
  bDtype: MatmulOperandDtype;
  accumulate: boolean;
  M: number;
  N: number;
  K: number;
  offA: number;
  sAm: number;
  sAk: number;
  offB: number;
  sBk: number;
  sBn: number;
  offC: number;
  sCm: number;
  sCn: number;
}

export interface MatmulRunnerOptions {
  /**
   * The WGSL of each variant the runner is asked for: a program's generated modules (the
   * runtime generates no code), or codegen's `matmulWgsl` for standalone use.
   */
  source: (config: MatmulConfig) => string;
  /** Tracks the uniform buffers; default a new pool over the device. */
  pool?: BufferPool;
  /** The tiles `source` was generated with (a program's; chosen by codegen, checked here). */
  tiles: MatmulTiles;
  /** Override of the device's maxComputeWorkgroupsPerDimension (tests force splits). */
  maxWorkgroupsPerDimension?: number;
  /** Most K per dispatch; default `maxKPerDispatch(tiles)` (tests force splits). */
  maxKPerDispatch?: number;
  /**
   * Whether `source` has a variant (a program holds only those its products may use);
   * default all. A vec4 variant (MatmulConfig.vecA/vecB) it lacks is read scalar instead.
   */
  has?: (config: MatmulConfig) => boolean;
}

// Mesa's llvmpipe (the CPU device of CI, also lavapipe) silently ends a shader invocation's
// loops after 65535 iterations in all (LP_MAX_TGSI_LOOP_ITERATIONS, shared by every loop
// of the shader): the K loop would stop early and C miss the rest of the sum. Each TK step
// of the staged kernel runs the two staging loops and TK multiply-adds, one of the direct
// kernel is one iteration (its TK steps are unrolled; the < TK left over run one by one),
// so K is split into dispatches that stay at half that count, the later ones accumulating
// into C.
const LOOP_ITERATIONS_PER_DISPATCH = 32768;

/** The longest K one dispatch runs with these tiles (a multiple of tileK). */
export function maxKPerDispatch(t: MatmulTiles): number {
  // Direct: ⌊K/TK⌋ unrolled iterations and fewer than TK left over.
  // (Its vec4 variants take G·⌈TK/G⌉ ≤ 8·TK per iteration, G = 4 or 8, and
  // (32768 − 8·TK)·TK keeps each dispatch's first k a multiple of 8.)
  if (t.staging === 'direct') return (LOOP_ITERATIONS_PER_DISPATCH - 8 * t.tileK) * t.tileK;
  const threads = t.threadsX * t.threadsY;
  const perStep =
    Math.ceil((t.tileM * t.tileK) / threads) +
    Math.ceil((t.tileK * t.tileN) / threads) +
    t.tileK +
    1;
  return Math.max(1, Math.floor(LOOP_ITERATIONS_PER_DISPATCH / perStep)) * t.tileK;
}

/** A bound range of a buffer and the element shift it puts on the operand's offset. */
interface Binding {
  buffer: GPUBuffer;
  offset: number;
  size: number;
  shift: number;
}

/** An operand range of one matmul is over the binding limit: split the matmul (A: along M, B: along N). */
export class OperandRangeError extends BufferLimitError {
  constructor(
    readonly operand: string,
    label: string,
    bytes: number,
    limit: number,
  ) {
    super(
      label,
      bytes,
      'maxStorageBufferBindingSize',
      limit,
      `the range matmul operand ${operand} reads; split the matmul`,
    );
    this.name = 'OperandRangeError';
  }
}

/** Builds and records matmul dispatches on one device; pipelines are cached per config. */
export class MatmulRunner {
  readonly tiles: MatmulTiles;
  readonly maxWorkgroupsPerDimension: number;
  readonly maxKPerDispatch: number;
  private readonly pool: BufferPool;
  private readonly layout: GPUBindGroupLayout;
  private readonly pipelineLayout: GPUPipelineLayout;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly source: (config: MatmulConfig) => string;
  private readonly has: (config: MatmulConfig) => boolean;
  private readonly uniforms: UniformRing;
  // The last bind group made for each uniform slot: a chunk loop rebinds the same buffers.
  private readonly bindGroups: { key: Binding[]; group: GPUBindGroup }[] = [];

  constructor(
    readonly device: GPUDevice,
    opts: MatmulRunnerOptions,
  ) {
    this.source = opts.source;
    this.has = opts.has ?? (() => true);
    this.pool = opts.pool ?? new BufferPool(device);
    this.tiles = opts.tiles;
    const problem = matmulTilesProblem(this.tiles, device.limits);
    if (problem) throw new Error(`matmul tiles do not fit this device: ${problem}`);
    this.maxWorkgroupsPerDimension =
      opts.maxWorkgroupsPerDimension ?? device.limits.maxComputeWorkgroupsPerDimension;
    this.maxKPerDispatch = opts.maxKPerDispatch ?? maxKPerDispatch(this.tiles);
    const entry = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({
      binding,
      visibility: ShaderStage.COMPUTE,
      buffer: { type },
    });
    this.layout = device.createBindGroupLayout({
      label: 'matmul',
      entries: [
        entry(0, 'read-only-storage'),
        entry(1, 'read-only-storage'),
        entry(2, 'storage'),
        entry(3, 'uniform'),
      ],
    });
    this.pipelineLayout = device.createPipelineLayout({
      label: 'matmul',
      bindGroupLayouts: [this.layout],
    });
    this.uniforms = new UniformRing(this.pool, MATMUL_UNIFORM_BYTES, 'matmul-uniform');
  }

  /** The module config `encode` uses for these operand dtypes. */
  config(
    aDtype: MatmulOperandDtype,
    bDtype: MatmulOperandDtype,
    accumulate: boolean,
  ): MatmulConfig {
    return { aDtype, bDtype, accumulate, tiles: this.tiles };
  }

  /** Number of pipelines built so far. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Number of uniform buffers made so far (the most dispatches recorded per submit). */
  get uniformBufferCount(): number {
    return this.uniforms.size;
  }

  /**
   * Records the matmul into `encoder` (its own compute pass) and returns the number of
   * dispatches. Each dispatch holds a uniform buffer until `afterSubmit()`. Throws
   * RangeError for a read or write past a buffer and BufferLimitError for an operand
   * range over maxStorageBufferBindingSize.
   */
  encode(encoder: GPUCommandEncoder, args: MatmulArgs): number {
    checkArgs(args);
    const { M, N, K } = args;
    if (M === 0 || N === 0) return 0;
    if (args.c === args.a || args.c === args.b) {
      throw new RangeError('matmul: C must not be the buffer of A or B');
    }
    // Inclusive last element each operand touches (strides are non-negative).
    const lastA = K === 0 ? undefined : args.offA + (M - 1) * args.sAm + (K - 1) * args.sAk;
    const lastB = K === 0 ? undefined : args.offB + (K - 1) * args.sBk + (N - 1) * args.sBn;
    const lastC = args.offC + (M - 1) * args.sCm + (N - 1) * args.sCn;
    const a = this.bind('A', args.a, args.aDtype, args.offA, lastA);
    const b = this.bind('B', args.b, args.bDtype, args.offB, lastB);
    const c = this.bind('C', args.c, 'f32', args.offC, lastC);
    const tilesM = Math.ceil(M / this.tiles.tileM);
    const tilesN = Math.ceil(N / this.tiles.tileN);
    const mFastest = this.tiles.mFastest === true;
    const step = this.maxWorkgroupsPerDimension;
    const kStep = this.maxKPerDispatch;
    const pass = encoder.beginComputePass({ label: 'matmul' });
    let dispatches = 0;
    // K = 0 still takes one dispatch: C = 0 unless accumulating.
    for (let k0 = 0; k0 === 0 || k0 < K; k0 += kStep) {
      const accumulate = args.accumulate || k0 > 0;
      const kHere = Math.min(kStep, K - k0);
      pass.setPipeline(this.pipeline(this.vectorised(args, a, b, k0, kHere, accumulate)));
      for (let tm0 = 0; tm0 < tilesM; tm0 += step) {
        for (let tn0 = 0; tn0 < tilesN; tn0 += step) {
          const fields: Record<MatmulUniformField, number> = {
            ...args,
            K: kHere,
            offA: args.offA + k0 * args.sAk - a.shift,
            offB: args.offB + k0 * args.sBk - b.shift,
            offC: args.offC - c.shift,
            baseTileM: tm0,
            baseTileN: tn0,
          };
          const { buffer, slot } = this.uniforms.acquire();
          const data = new Uint32Array(MATMUL_UNIFORM_BYTES / 4);
          MATMUL_UNIFORM_FIELDS.forEach((f, i) => (data[i] = fields[f]));
          this.device.queue.writeBuffer(buffer, 0, data);
          const u: Binding = { buffer, offset: 0, size: MATMUL_UNIFORM_BYTES, shift: 0 };
          pass.setBindGroup(0, this.bindGroup(slot, [a, b, c, u]));
          const countM = Math.min(step, tilesM - tm0);
          const countN = Math.min(step, tilesN - tn0);
          // Workgroup x walks N, or M when the tiles say so (see MatmulTiles.mFastest).
          if (mFastest) pass.dispatchWorkgroups(countM, countN);
          else pass.dispatchWorkgroups(countN, countM);
          dispatches++;
        }
      }
    }
    pass.end();
    return dispatches;
  }

  /** Names of the pipelines built so far (which variants ran). */
  get pipelineKeys(): string[] {
    return [...this.pipelines.keys()];
  }

  /**
   * The config of the dispatch of k0..k0+kHere: with each operand read as vec4 along k where
   * the tiles are direct, the program has that variant and its layout allows (vec4Problem).
   */
  private vectorised(
    args: MatmulArgs,
    a: Binding,
    b: Binding,
    k0: number,
    kHere: number,
    accumulate: boolean,
  ): MatmulConfig {
    const scalar = this.config(args.aDtype, args.bDtype, accumulate);
    if (this.tiles.staging !== 'direct' || kHere === 0) return scalar;
    const operand = (bind: Binding, offset: number, sOuter: number, sK: number, outer: number) => {
      const first = offset + k0 * sK - bind.shift;
      const last = first + (outer - 1) * sOuter + (kHere - 1) * sK;
      return { offset: first, sOuter, sK, outer, last, boundBytes: bind.size };
    };
    const okA =
      vec4Problem(args.aDtype, operand(a, args.offA, args.sAm, args.sAk, args.M)) === undefined;
    const okB =
      vec4Problem(args.bDtype, operand(b, args.offB, args.sBn, args.sBk, args.N)) === undefined;
    // The widest variant the program has: both, else either, else scalar.
    const tries: MatmulConfig[] = [
      { ...scalar, vecA: okA, vecB: okB },
      { ...scalar, vecA: okA, vecB: false },
      { ...scalar, vecA: false, vecB: okB },
    ];
    for (const c of tries) {
      const flags = { ...c, vecA: c.vecA || undefined, vecB: c.vecB || undefined };
      if ((flags.vecA || flags.vecB) && this.has(flags)) return flags;
    }
    return scalar;
  }

  /** Frees every uniform buffer: call after submitting what `encode` recorded. */
  afterSubmit(): void {
    this.uniforms.reset();
  }

  /** Destroys the uniform buffers (pipelines need no destruction). */
  destroy(): void {
    this.uniforms.destroy();
    this.bindGroups.length = 0;
  }

  private pipeline(config: MatmulConfig): GPUComputePipeline {
    const key = matmulKey(config);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label: key, code: this.source(config) });
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: this.pipelineLayout,
        compute: { module, entryPoint: 'main' },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private bindGroup(slot: number, key: Binding[]): GPUBindGroup {
    const cached = this.bindGroups[slot];
    if (cached && sameBindings(cached.key, key)) return cached.group;
    const group = this.device.createBindGroup({
      label: `matmul#${slot}`,
      layout: this.layout,
      entries: key.map(({ buffer, offset, size }, binding) => ({
        binding,
        resource: { buffer, offset, size },
      })),
    });
    this.bindGroups[slot] = { key, group };
    return group;
  }

  /**
   * The binding of an operand whose elements `first..last` are read: the whole buffer when
   * it fits the binding limit, else the aligned range holding those elements, whose start
   * shifts the operand's offset. A 16-bit range starts on a word (alignment ≥ 4 bytes), so
   * the shift is even and element parity, i.e. which half of a word, is kept.
   */
  private bind(
    name: string,
    buffer: GPUBuffer,
    dtype: MatmulOperandDtype,
    first: number,
    last: number | undefined,
  ): Binding {
    const elemBytes = dtype === 'f32' ? 4 : 2;
    const limit = this.pool.limits.maxStorageBufferBindingSize;
    const end = last === undefined ? 0 : Math.ceil(((last + 1) * elemBytes) / 4) * 4;
    if (end > buffer.size) {
      throw new RangeError(
        `matmul operand ${name} ('${buffer.label}', ${dtype}) reads element ${last}, ` +
          `past its ${buffer.size} bytes`,
      );
    }
    if (buffer.size <= limit) return { buffer, offset: 0, size: buffer.size, shift: 0 };
    if (last === undefined) return { buffer, offset: 0, size: 4, shift: 0 };
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    const offset = Math.floor((first * elemBytes) / align) * align;
    const size = end - offset;
    if (size > limit) throw new OperandRangeError(name, buffer.label, size, limit);
    // Whole vec4s where the buffer and the limit allow, so that the range can be read as vec4s.
    const size16 = Math.min(Math.ceil(size / 16) * 16, buffer.size - offset);
    return { buffer, offset, size: size16 <= limit ? size16 : size, shift: offset / elemBytes };
  }
}

function sameBindings(x: Binding[], y: Binding[]): boolean {
  return (
    x.length === y.length &&
    x.every((b, i) => {
      const o = y[i];
      return o !== undefined && b.buffer === o.buffer && b.offset === o.offset && b.size === o.size;
    })
  );
}

// Every uniform field but the tile bases, which encode() sets itself.
const U32_FIELDS = MATMUL_UNIFORM_FIELDS.filter((f) => f !== 'baseTileM' && f !== 'baseTileN');

function checkArgs(args: MatmulArgs): void {
  for (const f of U32_FIELDS) {
    const v = args[f];
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
      throw new RangeError(`matmul: ${f} must be an integer in [0, 2^32), got ${v}`);
    }
  }
}
