// The body of the direct matmul (MatmulTiles.staging 'direct', see ./matmul.ts): no
// workgroup memory and no barriers; each thread reads the A elements of its rows and the B
// elements of its columns straight from storage at every k and multiply-adds its
// (TM/TY)×(TN/TX) outputs. Per k a thread makes TM/TY + TN/TX loads for (TM/TY)·(TN/TX)
// multiply-adds, so large register blocks pay for the loads; on a CPU adapter the
// neighbouring threads' loads hit the same cache lines.
//
// A row past M (a column past N) reads row M − 1 (column N − 1) instead: its outputs are
// never stored, and no read leaves the range the caller described. The K loop runs tileK
// k steps per iteration (unrolled), then the K mod tileK left over one at a time. With a
// vec4 operand (MatmulConfig.vecA/vecB, f32 with k stride 1) an iteration is 4·⌈tileK/4⌉ k
// steps, and each of its rows (columns) is one vec4 load per 4 of them.
import type { MatmulBody, MatmulShape } from './matmul-body.ts';

export function directBody(s: MatmulShape): MatmulBody {
  const { rows, cols, threadsX, threadsY, tileK } = s;
  const vec = s.vecA || s.vecB;
  const perIteration = vec ? 4 * Math.ceil(tileK / 4) : tileK;
  // One k step: A(m_i, k) at ra_i + k·sAk, B(k, n_j) at cb_j + k·sBk.
  const step = (k: string, pad: string) =>
    [
      ...rows.map((i) => `let a${i} = ${s.loadA(`ra${i} + ${k} * p.sAk`)};`),
      ...cols.map((j) => `let b${j} = ${s.loadB(`cb${j} + ${k} * p.sBk`)};`),
      ...rows.flatMap((i) =>
        cols.map((j) => `${s.acc(i, j)} = fma(a${i}, b${j}, ${s.acc(i, j)});`),
      ),
    ]
      .map((l) => pad + l)
      .join('\n');
  const fmas = rows.flatMap((i) =>
    cols.map((j) => `${s.acc(i, j)} = fma(a${i}, b${j}, ${s.acc(i, j)});`),
  );
  // 4 k steps from k + g: the vec4 operands load once (k stride 1: element ra_i + k), the
  // others per step.
  const vecGroup = (g: number) => {
    const k0 = `k + ${g}u`;
    const loads = [
      ...(s.vecA ? rows.map((i) => `let av${i} = a[(ra${i} + ${k0}) >> 2u];`) : []),
      ...(s.vecB ? cols.map((j) => `let bv${j} = b[(cb${j} + ${k0}) >> 2u];`) : []),
    ];
    const steps = ['x', 'y', 'z', 'w'].map((q, d) => {
      const k = `(k + ${g + d}u)`;
      const lines = [
        ...rows.map(
          (i) => `let a${i} = ${s.vecA ? `av${i}.${q}` : s.loadA(`ra${i} + ${k} * p.sAk`)};`,
        ),
        ...cols.map(
          (j) => `let b${j} = ${s.vecB ? `bv${j}.${q}` : s.loadB(`cb${j} + ${k} * p.sBk`)};`,
        ),
        ...fmas,
      ];
      return `      {\n${lines.map((l) => `        ${l}`).join('\n')}\n      }`;
    });
    return `    {\n${loads.map((l) => `      ${l}`).join('\n')}\n${steps.join('\n')}\n    }`;
  };
  const unrolled = vec
    ? Array.from({ length: perIteration / 4 }, (_, g) => vecGroup(4 * g)).join('\n')
    : Array.from(
        { length: tileK },
        (_, kk) => `    {\n${step(`(k + ${kk}u)`, '      ')}\n    }`,
      ).join('\n');
  const main = `  let lastM = p.M - 1u;
  let lastN = p.N - 1u;
${rows.map((i) => `  let ra${i} = p.offA + min(m0 + lid.y + ${i * threadsY}u, lastM) * p.sAm;`).join('\n')}
${cols.map((j) => `  let cb${j} = p.offB + min(n0 + lid.x + ${j * threadsX}u, lastN) * p.sBn;`).join('\n')}
  let kFull = p.K - p.K % ${perIteration}u;
  var k = 0u;
  while (k < kFull) {
${unrolled}
    k += ${perIteration}u;
  }
  while (k < p.K) {
${step('k', '    ')}
    k++;
  }`;
  return { decls: '', main };
}
