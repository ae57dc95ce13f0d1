// One generic strided matmul kernel, specialised only on storage dtypes, C = vs C +=, and
// tiles:
//
//   C(m, n) (+)= Σ_k A(m, k) · B(k, n),   accumulated in f32, where
//   A(m, k) = a[offA + m·sAm + k·sAk],  B(k, n) = b[offB + k·sBk + n·sBn],
//   C(m, n) = c[offC + m·sCm + n·sCn].
//
// Sizes, offsets and strides are uniforms, so one module serves every layout the chunk
// loop needs and every chunk size (a chunk of X with hidden size H):
//   z  = Xc·Wᵀ:  A = X at row r0 (offA = r0·H, sAm = H, sAk = 1), B = W[V, H] read
//                transposed (sBk = 1, sBn = H)
//   dX = dz·W:   A = dz [C, V] (sAm = V, sAk = 1), B = W (sBk = H, sBn = 1)
//   dW += dzᵀ·X: A = dz read transposed (sAm = 1, sAk = V), B = X (sBk = H, sBn = 1)
//
// Two ways to feed the multiply-adds, chosen by `MatmulTiles.staging` (./matmul-staged.ts and
// ./matmul-direct.ts); both have each of the TX×TY threads of a workgroup accumulate
// (TM/TY)×(TN/TX) outputs of its TM×TN tile in registers: rows ty + i·TY and columns
// tx + j·TX, so neighbouring threads read neighbouring words. Workgroup (x, y) computes
// output tile (baseTileM + y, baseTileN + x), or (baseTileM + x, baseTileN + y) when
// `mFastest`; the bases let the runtime split a grid wider than
// maxComputeWorkgroupsPerDimension.
import type { MatmulShape, VecOperand } from './matmul-body.ts';
import { directBody } from './matmul-direct.ts';
import { stagedBody } from './matmul-staged.ts';
import { loadExpr, wgslArrayType, type StorageDtype } from './storage.ts';

/** Operand storage dtypes the matmul reads (C is always f32). */
export type MatmulOperandDtype = Extract<StorageDtype, 'f32' | 'bf16' | 'f16'>;

/** Tile configuration: compile-time constants of the kernel, chosen by the caller. */
export interface MatmulTiles {
  /** Output rows per workgroup; a multiple of `threadsY`. */
  tileM: number;
  /** Output columns per workgroup; a multiple of `threadsX`. */
  tileN: number;
  /** Depth of the A and B tiles staged in workgroup memory per step. */
  tileK: number;
  /** Workgroup size along x (columns). */
  threadsX: number;
  /** Workgroup size along y (rows). */
  threadsY: number;
  /**
   * Where each K step reads A and B. 'workgroup' (the default): the workgroup stages a
   * TM×TK tile of A and a TK×TN tile of B in workgroup memory, with two barriers per step,
   * so each operand word is read from storage once per workgroup. 'direct': each thread
   * reads its own operands straight from storage, with no workgroup memory and no barrier,
   * tileK k steps unrolled per loop iteration; on a CPU adapter the caches stage for free
   * and a barrier is a switch between the workgroup's threads.
   */
  staging?: 'workgroup' | 'direct';
  /**
   * Workgroup x walks the tiles along M (y along N), so that workgroups run in turn share
   * one TN-column panel of B in the cache; default x walks N.
   */
  mFastest?: boolean;
}

/** Everything that selects one matmul module; all else is a runtime uniform. */
export interface MatmulConfig {
  aDtype: MatmulOperandDtype;
  bDtype: MatmulOperandDtype;
  /** true: C += A·B (C is read); false: C = A·B. */
  accumulate: boolean;
  tiles: MatmulTiles;
  /**
   * A (B) is read as vec4s along k: one load per 4 k steps of each row (column) for f32,
   * per 8 for bf16 and f16 (4 words). Direct tiles only. Valid where the operand's k stride
   * is 1, its offset and outer stride are multiples of the width (4 or 8 elements), and the
   * elements read lie within the whole vec4s of the
   * binding; the runtime checks this per product (`vec4Problem`) and else uses the scalar
   * variant.
   */
  vecA?: boolean;
  vecB?: boolean;
}

/** The u32 fields of the kernel's uniform struct, in order (4 bytes each). */
export const MATMUL_UNIFORM_FIELDS = [
  'M',
  'N',
  'K',
  'offA',
  'sAm',
  'sAk',
  'offB',
  'sBk',
  'sBn',
  'offC',
  'sCm',
  'sCn',
  'baseTileM',
  'baseTileN',
] as const;

/** One field of the matmul uniform struct. */
export type MatmulUniformField = (typeof MATMUL_UNIFORM_FIELDS)[number];

/** Bytes of the uniform buffer: the fields, rounded up to 16 (uniform buffer alignment). */
export const MATMUL_UNIFORM_BYTES = Math.ceil((MATMUL_UNIFORM_FIELDS.length * 4) / 16) * 16;

/** The device limits a tile configuration must fit (a `GPUSupportedLimits` will do). */
export interface MatmulTileLimits {
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupStorageSize: number;
}

/** Workgroup memory of a tile configuration: the A and B tiles as f32. */
export function matmulWorkgroupBytes(t: MatmulTiles): number {
  if (t.staging === 'direct') return 0;
  return (t.tileM * t.tileK + t.tileK * t.tileN) * 4;
}

/** Why `t` is not a valid tile configuration, or does not fit `limits`; undefined if fine. */
export function matmulTilesProblem(t: MatmulTiles, limits?: MatmulTileLimits): string | undefined {
  const sizes = {
    tileM: t.tileM,
    tileN: t.tileN,
    tileK: t.tileK,
    threadsX: t.threadsX,
    threadsY: t.threadsY,
  };
  for (const [name, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 1) return `${name} must be a positive integer, got ${v}`;
  }
  if (t.tileM % t.threadsY !== 0)
    return `tileM ${t.tileM} is not a multiple of threadsY ${t.threadsY}`;
  if (t.tileN % t.threadsX !== 0)
    return `tileN ${t.tileN} is not a multiple of threadsX ${t.threadsX}`;
  if (!limits) return undefined;
  const threads = t.threadsX * t.threadsY;
  if (threads > limits.maxComputeInvocationsPerWorkgroup) {
    return `${threads} invocations > maxComputeInvocationsPerWorkgroup ${limits.maxComputeInvocationsPerWorkgroup}`;
  }
  if (t.threadsX > limits.maxComputeWorkgroupSizeX) {
    return `threadsX ${t.threadsX} > maxComputeWorkgroupSizeX ${limits.maxComputeWorkgroupSizeX}`;
  }
  if (t.threadsY > limits.maxComputeWorkgroupSizeY) {
    return `threadsY ${t.threadsY} > maxComputeWorkgroupSizeY ${limits.maxComputeWorkgroupSizeY}`;
  }
  const bytes = matmulWorkgroupBytes(t);
  if (bytes > limits.maxComputeWorkgroupStorageSize) {
    return `${bytes} bytes of workgroup memory > maxComputeWorkgroupStorageSize ${limits.maxComputeWorkgroupStorageSize}`;
  }
  return undefined;
}

// Largest first. 64×64×16 with 16×16 threads (4×4 outputs each, 8 KiB) fits core WebGPU's
// guaranteed limits (256 invocations, 16 KiB); the next fits compatibility mode's 128; the
// last fits anything.
const TILE_CANDIDATES: readonly MatmulTiles[] = [
  { tileM: 64, tileN: 64, tileK: 16, threadsX: 16, threadsY: 16 },
  { tileM: 64, tileN: 64, tileK: 16, threadsX: 16, threadsY: 8 },
  { tileM: 32, tileN: 32, tileK: 16, threadsX: 8, threadsY: 8 },
  { tileM: 16, tileN: 16, tileK: 8, threadsX: 4, threadsY: 4 },
  { tileM: 4, tileN: 4, tileK: 4, threadsX: 1, threadsY: 1 },
];

/** The largest default tile configuration that fits `limits`. */
export function defaultMatmulTiles(limits: MatmulTileLimits): MatmulTiles {
  for (const t of TILE_CANDIDATES) {
    if (matmulTilesProblem(t, limits) === undefined) return { ...t };
  }
  throw new Error(`no matmul tile configuration fits these limits: ${JSON.stringify(limits)}`);
}

// What the autotuner (src/runtime/matmul-tune.ts) times: the staged defaults, one staged
// tile with larger register blocks, and direct tiles of 8×16 to 32×8 outputs per thread
// (on llvmpipe a load costs about a lane loop, so large register blocks win; 16 threads
// in a row keep A's rows the same across a SIMD vector).
export const MATMUL_TUNE_CANDIDATES: readonly MatmulTiles[] = [
  ...TILE_CANDIDATES.slice(0, 2),
  { tileM: 128, tileN: 128, tileK: 8, threadsX: 8, threadsY: 16 },
  { tileM: 16, tileN: 256, tileK: 1, threadsX: 16, threadsY: 1, staging: 'direct', mFastest: true },
  { tileM: 16, tileN: 256, tileK: 1, threadsX: 16, threadsY: 1, staging: 'direct' },
  { tileM: 8, tileN: 256, tileK: 1, threadsX: 16, threadsY: 1, staging: 'direct', mFastest: true },
  { tileM: 16, tileN: 128, tileK: 2, threadsX: 8, threadsY: 1, staging: 'direct', mFastest: true },
  { tileM: 32, tileN: 128, tileK: 1, threadsX: 16, threadsY: 1, staging: 'direct', mFastest: true },
];

/** The tile configurations worth timing on a device with these limits (those that fit). */
export function matmulTileCandidates(limits: MatmulTileLimits): MatmulTiles[] {
  return MATMUL_TUNE_CANDIDATES.filter((t) => matmulTilesProblem(t, limits) === undefined).map(
    (t) => ({
      ...t,
    }),
  );
}

/** A stable key naming the module `matmulWgsl(c)` emits (for caches and labels). */
export function matmulKey(c: MatmulConfig): string {
  const t = c.tiles;
  const op = c.accumulate ? 'acc' : 'set';
  const flags = [
    t.staging === 'direct' ? '_direct' : '',
    t.mFastest ? '_mfast' : '',
    c.vecA ? '_va' : '',
    c.vecB ? '_vb' : '',
  ].join('');
  return `matmul_${c.aDtype}_${c.bDtype}_${op}_${t.tileM}x${t.tileN}x${t.tileK}_${t.threadsX}x${t.threadsY}${flags}`;
}

/**
 * WGSL for one matmul variant: entry point `main`, bindings @group(0) 0 = a (read), 1 = b
 * (read), 2 = c (f32, read_write), 3 = the uniform struct of `MATMUL_UNIFORM_FIELDS`.
 * Dispatch ⌈N/tileN⌉ × ⌈M/tileM⌉ workgroups (or pieces of that grid, via baseTileN/M).
 */
export function matmulWgsl(c: MatmulConfig): string {
  const problem = matmulTilesProblem(c.tiles) ?? vec4ConfigProblem(c);
  if (problem) throw new Error(`invalid matmul tiles: ${problem}`);
  const { tileM, tileN, tileK, threadsX, threadsY } = c.tiles;
  const load = (name: string, d: MatmulOperandDtype, vec: boolean | undefined) =>
    vec ? vec4ScalarLoad(name, d) : (i: string) => loadExpr(name, d, i);
  const shape: MatmulShape = {
    rows: range(tileM / threadsY),
    cols: range(tileN / threadsX),
    threadsX,
    threadsY,
    tileK,
    loadA: load('a', c.aDtype, c.vecA),
    loadB: load('b', c.bDtype, c.vecB),
    ...(c.vecA ? { vecA: vecOperand(c.aDtype) } : {}),
    ...(c.vecB ? { vecB: vecOperand(c.bDtype) } : {}),
    acc: (i, j) => `acc_${i}_${j}`,
  };
  const [tm, tn] = c.tiles.mFastest ? ['x', 'y'] : ['y', 'x'];
  const body = c.tiles.staging === 'direct' ? directBody(shape) : stagedBody(shape);
  return `// ${matmulKey(c)}: C(m, n) ${c.accumulate ? '+=' : '='} sum_k A(m, k) * B(k, n), f32 accumulation.
struct Params {
${MATMUL_UNIFORM_FIELDS.map((f) => `  ${f}: u32,`).join('\n')}
}

@group(0) @binding(0) var<storage, read> a: ${c.vecA ? vec4ArrayType(c.aDtype) : wgslArrayType(c.aDtype)};
@group(0) @binding(1) var<storage, read> b: ${c.vecB ? vec4ArrayType(c.bDtype) : wgslArrayType(c.bDtype)};
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TM = ${tileM}u;
const TN = ${tileN}u;
const TK = ${tileK}u;
const TX = ${threadsX}u;
const TY = ${threadsY}u;
${body.decls}
@compute @workgroup_size(${threadsX}, ${threadsY})
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = (p.baseTileM + wg.${tm}) * TM;
  let n0 = (p.baseTileN + wg.${tn}) * TN;
${shape.rows.flatMap((i) => shape.cols.map((j) => `  var ${shape.acc(i, j)} = 0.0;`)).join('\n')}
${body.main}
${shape.rows
  .flatMap((i) =>
    shape.cols.map(
      (j) =>
        `  store(m0 + lid.y + ${i * threadsY}u, n0 + lid.x + ${j * threadsX}u, ${shape.acc(i, j)});`,
    ),
  )
  .join('\n')}
}

fn store(m: u32, n: u32, v: f32) {
  if (m < p.M && n < p.N) {
    let ci = p.offC + m * p.sCm + n * p.sCn;
    c[ci] = ${c.accumulate ? 'c[ci] + v' : 'v'};
  }
}
`;
}

/** Why a config's vec4 flags are invalid (only direct tiles read vec4s). */
function vec4ConfigProblem(c: MatmulConfig): string | undefined {
  if ((c.vecA || c.vecB) && c.tiles.staging !== 'direct') return 'vec4 operands need direct tiles';
  return undefined;
}

const XYZW = ['x', 'y', 'z', 'w'] as const;

/** Elements per vec4 of an operand: 4 f32, 8 16-bit values. */
export function vec4Width(d: MatmulOperandDtype): 4 | 8 {
  return d === 'f32' ? 4 : 8;
}

function vec4ArrayType(d: MatmulOperandDtype): string {
  return d === 'f32' ? 'array<vec4f>' : 'array<vec4u>';
}

/** Element q of a loaded vec4 (f32 components, or words of two 16-bit values, low half first). */
function vecOperand(d: MatmulOperandDtype): VecOperand {
  if (d === 'f32') return { width: 4, element: (v, q) => `${v}.${XYZW[q] ?? 'x'}` };
  const word = (v: string, q: number) => `${v}.${XYZW[q >> 1] ?? 'x'}`;
  if (d === 'bf16')
    // bf16 is the top half of an f32: the low half moves up, the high half is masked.
    return {
      width: 8,
      element: (v, q) =>
        q % 2 === 0
          ? `bitcast<f32>(${word(v, q)} << 16u)`
          : `bitcast<f32>(${word(v, q)} & 0xffff0000u)`,
    };
  return { width: 8, element: (v, q) => `unpack2x16float(${word(v, q)})[${q % 2}]` };
}

/** Scalar element i of an operand bound as vec4s (the K tail). */
function vec4ScalarLoad(name: string, d: MatmulOperandDtype): (i: string) => string {
  if (d === 'f32') return (i) => `${name}[(${i}) >> 2u][(${i}) & 3u]`;
  const word = (i: string) => `${name}[(${i}) >> 3u][((${i}) >> 1u) & 3u]`;
  if (d === 'bf16') return (i) => `bitcast<f32>((${word(i)} >> (((${i}) & 1u) << 4u)) << 16u)`;
  return (i) => `unpack2x16float(${word(i)})[(${i}) & 1u]`;
}

/**
 * Why an operand of one product cannot be read as vec4 along k (undefined: it can): its
 * element (o, k) is at `offset + o·sOuter + k·sK` of a binding of `boundBytes`, with
 * `outer` rows and `last` the last element read. The K split keeps every dispatch's first
 * k a multiple of 4 (see maxKPerDispatch).
 */
export function vec4Problem(
  dtype: MatmulOperandDtype,
  o: {
    offset: number;
    sOuter: number;
    sK: number;
    outer: number;
    last: number;
    boundBytes: number;
  },
): string | undefined {
  const w = vec4Width(dtype);
  if (o.sK !== 1) return `k stride ${o.sK}`;
  if (o.offset % w !== 0) return `offset ${o.offset} not a multiple of ${w}`;
  if (o.outer > 1 && o.sOuter % w !== 0) return `outer stride ${o.sOuter} not a multiple of ${w}`;
  if (o.last >= Math.floor(o.boundBytes / 16) * w) return 'reads past the last whole vec4';
  return undefined;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
