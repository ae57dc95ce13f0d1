import type { Program } from '../../codegen/program.ts';
import { nodeText } from '../ir/print.ts';

/**
 * The manifest of `projc compile`: everything another runtime needs to run the program
 * besides the WGSL files: the uniform and arena layout, each module's bindings and
 * dispatch, every buffer with its dims and dtype, and the schedule. Sizes are SizeExprs:
 * products of dim sizes, times the chunk's first row or row count when flagged.
 */
export function manifest(p: Program): Record<string, unknown> {
  return {
    format: 'projc-manifest/1',
    kernel: p.fn.name,
    params: p.fn.params.map((q) => ({
      name: q.name,
      dtype: q.dtype,
      dims: q.dims,
      ...(q.default !== undefined ? { default: q.default } : {}),
    })),
    results: p.fn.results.map((r) => ({
      name: r.name,
      dtype: p.fn.nodes[r.node]?.dtype,
      dims: p.fn.nodes[r.node]?.dims,
      buffer: p.plan.buffers.find((b) => b.result === r.name && b.home === 'own')?.name,
    })),
    rows: p.plan.rows,
    uniform: p.layout.uniform,
    arena: p.layout.slots,
    buffers: p.plan.buffers.map((b) => ({
      name: b.name,
      home: b.home,
      role: b.role,
      dtype: b.dtype,
      dims: b.dims,
      storage:
        b.home === 'own' && b.role === 'input' && (b.dtype === 'bf16' || b.dtype === 'f16')
          ? `${b.dtype} packed two per u32`
          : b.home === 'arena'
            ? 'u32 words'
            : 'f32/i32/u32 per element',
      ...(b.aliasOf ? { aliasOf: b.aliasOf } : {}),
      ...(b.home === 'chunk' ? { rowsPerChunk: true } : {}),
      value: nodeText(p.fn.nodes[b.node]!),
    })),
    modules: p.modules.map((m) => ({
      name: m.name,
      file: `${m.name}.wgsl`,
      workgroupSize: m.workgroupSize,
      bindings: m.bindings,
      dispatch: m.dispatch,
    })),
    schedule: {
      before: p.before,
      sweeps: p.sweeps.map((s) => ({
        index: s.index,
        forEachChunk: s.chunk.map((c) =>
          c.kind === 'kernel' ? { kernel: c.module } : { matmul: c.spec },
        ),
        after: s.after,
      })),
      epilogue: p.epilogue,
    },
    matmulKernel:
      'matmul_<a>_<b>_<acc|set>.wgsl: C[m,n] (+)= sum_k A[offA + m*sAm + k*sAk] * B[offB + k*sBk + n*sBn], C at offC + m*sCm + n*sCn',
  };
}
