import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { DType, Dim, IrFunction, Node } from '../src/ir/types.ts';
import { storageLayout } from '../src/plan/products.ts';
import type { ChunkPlan, PlanBuffer, Stage } from '../src/plan/types.ts';
import { isChunkScoped, type SizeExpr } from './layout.ts';

/**
 * One operand of a product in the chunk loop: element (m or n, k) of it lives at
 * `offset + outer·sOuter + k·sK` of `buffer` (sizes as data, evaluated per chunk).
 */
export interface OperandSpec {
  readonly buffer: string;
  readonly dtype: DType;
  readonly offset: SizeExpr;
  readonly sOuter: SizeExpr;
  readonly sK: SizeExpr;
}

/** A product of the chunk loop as the generic strided matmul `C[m, n] (+)= Σ_k A(m, k)·B(k, n)`. */
export interface MatmulSpec {
  readonly node: number;
  readonly M: SizeExpr;
  readonly N: SizeExpr;
  readonly K: SizeExpr;
  readonly a: OperandSpec;
  readonly b: OperandSpec;
  /** C's `sOuter` strides m, its `sK` strides n. */
  readonly c: OperandSpec;
  /** dW-like products add each chunk's contribution to C. */
  readonly accumulate: boolean;
}

/**
 * Stride of `dims` (flattened, consecutive in `layout`) within a row-major tensor of
 * `layout`. The planner has checked that they are consecutive (P0302).
 */
function strideOf(layout: readonly Dim[], dims: readonly Dim[], node: Node): SizeExpr {
  const first = layout.indexOf(dims[0] ?? '');
  if (first < 0 || dims.some((d, i) => layout[first + i] !== d))
    throw new InternalError(
      `product %${node.id}: dims [${dims.join(', ')}] not consecutive in [${layout.join(', ')}]`,
    );
  return { dims: layout.slice(first + dims.length) };
}

/**
 * The matmul form of a product of the chunk loop, from the roles the planner gave it (see
 * `ProductRoles`). Chunk buffers are local to the chunk (offset 0); whole buffers are offset
 * to the chunk's first row.
 */
export function matmulSpec(
  fn: IrFunction,
  plan: ChunkPlan,
  stage: Extract<Stage, { kind: 'matmul' }>,
  root: (name: string) => PlanBuffer,
): MatmulSpec {
  const id = stage.node;
  const { roles } = stage;
  const n = fn.nodes[id] as Node;
  const rows = plan.rows;
  const carried = roles.accumulate;
  const rowsLocal = (b: PlanBuffer) => isChunkScoped(b);
  const operand = (node: Node, outer: readonly Dim[], kRole: readonly Dim[]): OperandSpec => {
    const b = bufferFor(plan, node.id, root);
    const layout = storageLayout(b, rowsLocal(b), rows);
    const rowsHere = rows.every((r) => node.dims.includes(r));
    const offset: SizeExpr =
      rowsHere && !rowsLocal(b)
        ? { ...strideOf(layout, rows, node), chunkStart: true }
        : { dims: [], factor: 0 };
    return {
      buffer: b.name,
      dtype: b.dtype,
      offset,
      sOuter: strideOf(layout, outer, node),
      sK: strideOf(layout, kRole, node),
    };
  };
  const cBuf = plan.buffers.find((b) => b.node === id && b.role !== 'input');
  if (!cBuf) throw new InternalError(`product %${id} has no output buffer`);
  const cRoot = root(cBuf.name);
  const cLayout = storageLayout(cBuf, rowsLocal(cBuf), rows);
  const cOffset: SizeExpr =
    !carried && !rowsLocal(cBuf)
      ? { ...strideOf(cLayout, rows, n), chunkStart: true }
      : { dims: [], factor: 0 };
  const chunkRows: SizeExpr = { dims: [], chunkRows: true };
  const node = (i: number) => fn.nodes[i] as Node;
  return {
    node: id,
    M: carried ? { dims: roles.m } : chunkRows,
    N: { dims: roles.n },
    K: carried ? chunkRows : { dims: roles.k },
    a: operand(node(roles.a), roles.m, roles.k),
    b: operand(node(roles.b), roles.n, roles.k),
    c: {
      buffer: cRoot.name,
      dtype: 'f32',
      offset: cOffset,
      sOuter: strideOf(cLayout, roles.m, n),
      sK: strideOf(cLayout, roles.n, n),
    },
    accumulate: carried,
  };
}

function bufferFor(plan: ChunkPlan, id: number, root: (name: string) => PlanBuffer): PlanBuffer {
  const own = plan.buffers.find((b) => b.node === id && b.home === 'own' && b.role === 'input');
  const any = own ?? plan.buffers.find((b) => b.node === id && b.home !== 'arena');
  if (!any) throw new InternalError(`operand %${id} of a product has no buffer`);
  const r = root(any.name);
  return { ...any, name: r.name };
}
