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
// Workgroup (x, y) computes the TM×TN output tile (baseTileM + y, baseTileN + x); the base
// lets the runtime split a grid wider than maxComputeWorkgroupsPerDimension. Each K step
// stages a TM×TK tile of A and a TK×TN tile of B in workgroup memory (as f32, k-major), and
// each of the TX×TY threads accumulates (TM/TY)×(TN/TX) outputs in registers: rows
// ty + i·TY and columns tx + j·TX, so neighbouring threads read neighbouring words.
// Staged elements past M, N or K are zeros: past K they add nothing, past M or N they feed
// only outputs that are never stored, and no read leaves the range the caller described.
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
}

/** Everything that selects one matmul module; all else is a runtime uniform. */
export interface MatmulConfig {
  aDtype: MatmulOperandDtype;
  bDtype: MatmulOperandDtype;
  /** true: C += A·B (C is read); false: C = A·B. */
  accumulate: boolean;
  tiles: MatmulTiles;
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
  return (t.tileM * t.tileK + t.tileK * t.tileN) * 4;
}

/** Why `t` is not a valid tile configuration, or does not fit `limits`; undefined if fine. */
export function matmulTilesProblem(t: MatmulTiles, limits?: MatmulTileLimits): string | undefined {
  for (const [name, v] of Object.entries(t)) {
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

/** A stable key naming the module `matmulWgsl(c)` emits (for caches and labels). */
export function matmulKey(c: MatmulConfig): string {
  const t = c.tiles;
  const op = c.accumulate ? 'acc' : 'set';
  return `matmul_${c.aDtype}_${c.bDtype}_${op}_${t.tileM}x${t.tileN}x${t.tileK}_${t.threadsX}x${t.threadsY}`;
}

/**
 * WGSL for one matmul variant: entry point `main`, bindings @group(0) 0 = a (read), 1 = b
 * (read), 2 = c (f32, read_write), 3 = the uniform struct of `MATMUL_UNIFORM_FIELDS`.
 * Dispatch ⌈N/tileN⌉ × ⌈M/tileM⌉ workgroups (or pieces of that grid, via baseTileN/M).
 */
export function matmulWgsl(c: MatmulConfig): string {
  const problem = matmulTilesProblem(c.tiles);
  if (problem) throw new Error(`invalid matmul tiles: ${problem}`);
  const { tileM, tileN, tileK, threadsX, threadsY } = c.tiles;
  const rm = tileM / threadsY;
  const rn = tileN / threadsX;
  const rows = range(rm);
  const cols = range(rn);
  const acc = (i: number, j: number) => `acc_${i}_${j}`;
  return `// ${matmulKey(c)}: C(m, n) ${c.accumulate ? '+=' : '='} sum_k A(m, k) * B(k, n), f32 accumulation.
struct Params {
${MATMUL_UNIFORM_FIELDS.map((f) => `  ${f}: u32,`).join('\n')}
}

@group(0) @binding(0) var<storage, read> a: ${wgslArrayType(c.aDtype)};
@group(0) @binding(1) var<storage, read> b: ${wgslArrayType(c.bDtype)};
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TM = ${tileM}u;
const TN = ${tileN}u;
const TK = ${tileK}u;
const TX = ${threadsX}u;
const TY = ${threadsY}u;

// Staged tiles, k-major: tileA[kk * TM + r] = A(m0 + r, k0 + kk), tileB[kk * TN + j] = B(k0 + kk, n0 + j).
var<workgroup> tileA: array<f32, ${tileM * tileK}>;
var<workgroup> tileB: array<f32, ${tileK * tileN}>;

fn loadA(m: u32, k: u32) -> f32 {
  let i = p.offA + m * p.sAm + k * p.sAk;
  return ${loadExpr('a', c.aDtype, 'i')};
}

fn loadB(k: u32, n: u32) -> f32 {
  let i = p.offB + k * p.sBk + n * p.sBn;
  return ${loadExpr('b', c.bDtype, 'i')};
}

@compute @workgroup_size(${threadsX}, ${threadsY})
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = (p.baseTileM + wg.y) * TM;
  let n0 = (p.baseTileN + wg.x) * TN;
  // Staging walks k fastest when k is the contiguous index of an operand, else m (or n),
  // so that neighbouring threads read neighbouring elements in either layout.
  let aKFast = p.sAk == 1u;
  let bKFast = p.sBk == 1u;
${rows.flatMap((i) => cols.map((j) => `  var ${acc(i, j)} = 0.0;`)).join('\n')}
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var t = li; t < TM * TK; t += TX * TY) {
      let r = select(t % TM, t / TK, aKFast);
      let kk = select(t / TM, t % TK, aKFast);
      var v = 0.0;
      if (m0 + r < p.M && k0 + kk < p.K) {
        v = loadA(m0 + r, k0 + kk);
      }
      tileA[kk * TM + r] = v;
    }
    for (var t = li; t < TK * TN; t += TX * TY) {
      let j = select(t % TN, t / TK, bKFast);
      let kk = select(t / TN, t % TK, bKFast);
      var v = 0.0;
      if (k0 + kk < p.K && n0 + j < p.N) {
        v = loadB(k0 + kk, n0 + j);
      }
      tileB[kk * TN + j] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
${rows.map((i) => `      let a${i} = tileA[kk * TM + lid.y + ${i * threadsY}u];`).join('\n')}
${cols.map((j) => `      let b${j} = tileB[kk * TN + lid.x + ${j * threadsX}u];`).join('\n')}
${rows.flatMap((i) => cols.map((j) => `      ${acc(i, j)} = fma(a${i}, b${j}, ${acc(i, j)});`)).join('\n')}
    }
    workgroupBarrier();
  }
${rows
  .flatMap((i) =>
    cols.map(
      (j) => `  store(m0 + lid.y + ${i * threadsY}u, n0 + lid.x + ${j * threadsX}u, ${acc(i, j)});`,
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

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
