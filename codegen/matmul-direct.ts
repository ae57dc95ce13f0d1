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
// vec4 operand (MatmulConfig.vecA/vecB, k stride 1) each of its rows (columns) is one vec4
// load per 4 k steps (f32) or 8 (bf16, f16).
import type { MatmulBody, MatmulShape, VecOperand } from './matmul-body.ts';

export function directBody(s: MatmulShape): MatmulBody {
  const { rows, cols, threadsX, threadsY, tileK } = s;
  // With vec4 operands an iteration is whole groups of G k steps, G the widest vec4 (4 f32
  // or 8 16-bit elements), so that every vec4 load starts at a multiple of its width.
  const widths = [s.vecA?.width ?? 0, s.vecB?.width ?? 0];
  const group = Math.max(...widths);
  const vec = group > 0;
  const perIteration = vec ? group * Math.ceil(tileK / group) : tileK;
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
  // G k steps from k + g: a vec4 operand loads G / width vec4s of each row (column) (k
  // stride 1: element ra_i + k is vec4 (ra_i + k) / width), the others load per step.
  const vecGroup = (g: number) => {
    const loads: string[] = [];
    const vecLoads = (
      v: VecOperand | undefined,
      name: string,
      base: string,
      idx: readonly number[],
    ) => {
      if (!v) return;
      const shift = v.width === 4 ? 2 : 3;
      for (let t = 0; t < group / v.width; t++)
        for (const i of idx)
          loads.push(
            `let ${name}v${i}_${t} = ${name}[(${base}${i} + k + ${g + t * v.width}u) >> ${shift}u];`,
          );
    };
    vecLoads(s.vecA, 'a', 'ra', rows);
    vecLoads(s.vecB, 'b', 'cb', cols);
    const steps = Array.from({ length: group }, (_, d) => {
      const k = `(k + ${g + d}u)`;
      const elem = (v: VecOperand, name: string, i: number) =>
        v.element(`${name}v${i}_${Math.floor(d / v.width)}`, d % v.width);
      const lines = [
        ...rows.map(
          (i) => `let a${i} = ${s.vecA ? elem(s.vecA, 'a', i) : s.loadA(`ra${i} + ${k} * p.sAk`)};`,
        ),
        ...cols.map(
          (j) => `let b${j} = ${s.vecB ? elem(s.vecB, 'b', j) : s.loadB(`cb${j} + ${k} * p.sBk`)};`,
        ),
        ...fmas,
      ];
      return `      {\n${lines.map((l) => `        ${l}`).join('\n')}\n      }`;
    });
    return `    {\n${loads.map((l) => `      ${l}`).join('\n')}\n${steps.join('\n')}\n    }`;
  };
  const unrolled = vec
    ? Array.from({ length: perIteration / group }, (_, g) => vecGroup(group * g)).join('\n')
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
