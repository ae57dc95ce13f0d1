// The body of the workgroup-staged matmul (MatmulTiles.staging 'workgroup', see ./matmul.ts):
// each K step stages a TM×TK tile of A and a TK×TN tile of B in workgroup memory (as f32,
// k-major), then every thread multiply-adds its outputs from the staged tiles. Staged
// elements past M, N or K are zeros: past K they add nothing, past M or N they feed only
// outputs that are never stored, and no read leaves the range the caller described.
import type { MatmulBody, MatmulShape } from './matmul-body.ts';

export function stagedBody(s: MatmulShape): MatmulBody {
  const { rows, cols, threadsX, threadsY } = s;
  const decls = `
// Staged tiles, k-major: tileA[kk * TM + r] = A(m0 + r, k0 + kk), tileB[kk * TN + j] = B(k0 + kk, n0 + j).
var<workgroup> tileA: array<f32, TM * TK>;
var<workgroup> tileB: array<f32, TK * TN>;

fn loadA(m: u32, k: u32) -> f32 {
  let i = p.offA + m * p.sAm + k * p.sAk;
  return ${s.loadA('i')};
}

fn loadB(k: u32, n: u32) -> f32 {
  let i = p.offB + k * p.sBk + n * p.sBn;
  return ${s.loadB('i')};
}
`;
  const main = `  // Staging walks k fastest when k is the contiguous index of an operand, else m (or n),
  // so that neighbouring threads read neighbouring elements in either layout.
  let aKFast = p.sAk == 1u;
  let bKFast = p.sBk == 1u;
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
${rows.flatMap((i) => cols.map((j) => `      ${s.acc(i, j)} = fma(a${i}, b${j}, ${s.acc(i, j)});`)).join('\n')}
    }
    workgroupBarrier();
  }`;
  return { decls, main };
}
