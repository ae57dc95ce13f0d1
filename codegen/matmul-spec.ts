import { UserError } from '../src/diagnostics/diagnostic.ts';
import type { DType, Dim, IrFunction, Node } from '../src/ir/types.ts';
import type { ChunkPlan, PlanBuffer } from '../src/plan/types.ts';
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

/** Stride of `dims` (flattened, consecutive in `layout`) within a row-major tensor of `layout`. */
function strideOf(
  layout: readonly Dim[],
  dims: readonly Dim[],
  node: Node,
  fn: IrFunction,
): SizeExpr {
  const first = layout.indexOf(dims[0] ?? '');
  if (first < 0 || dims.some((d, i) => layout[first + i] !== d))
    throw new UserError({
      severity: 'error',
      code: 'P0302',
      message: `\`${fn.name}\` cannot be run chunked: the product %${node.id} reads dims [${dims.join(', ')}] that are not consecutive in [${layout.join(', ')}]`,
      help: ['declare the row dims first and in the same order in every parameter'],
    });
  return { dims: layout.slice(first + dims.length) };
}

/**
 * The matmul form of a `dot` of the chunk loop: M = the chunk's rows and K = the contracted
 * dim for a row product (z = Xc·Wᵀ, dXc = dz·W); K = the chunk's rows for a carried one
 * (dW += dzᵀ·Xc), accumulated. Chunk buffers are local to the chunk (offset 0); whole
 * buffers are offset to the chunk's first row.
 */
export function matmulSpec(
  fn: IrFunction,
  plan: ChunkPlan,
  id: number,
  root: (name: string) => PlanBuffer,
): MatmulSpec {
  const n = fn.nodes[id] as Node;
  const [x, y] = n.inputs.map((i) => fn.nodes[i] as Node) as [Node, Node];
  const rows = plan.rows;
  const carried = plan.classes.get(id) === 'carried';
  const contracted = [...new Set([...x.dims, ...y.dims])].filter((d) => !n.dims.includes(d));
  const mDims = carried ? [n.dims[0] ?? ''] : rows;
  const nDims = carried ? [n.dims[1] ?? ''] : n.dims.filter((d) => !rows.includes(d));
  const kDims = carried ? rows : contracted;
  const hasAll = (node: Node, dims: readonly Dim[]) => dims.every((d) => node.dims.includes(d));
  const [aNode, bNode] =
    hasAll(x, mDims) && !(nDims.length && hasAll(x, nDims) && !hasAll(x, mDims)) ? [x, y] : [y, x];
  const rowsLocal = (b: PlanBuffer) => isChunkScoped(b);
  const operand = (node: Node, outer: readonly Dim[], kRole: readonly Dim[]): OperandSpec => {
    const b = bufferFor(plan, node.id, root);
    const layout = rowsLocal(b) ? canonical(b.dims, rows) : b.dims;
    const rowsHere = rows.every((r) => node.dims.includes(r));
    const offset: SizeExpr =
      rowsHere && !rowsLocal(b)
        ? { ...strideOf(layout, rows, node, fn), chunkStart: true }
        : { dims: [], factor: 0 };
    return {
      buffer: b.name,
      dtype: b.dtype,
      offset,
      sOuter: strideOf(layout, outer, node, fn),
      sK: strideOf(layout, kRole, node, fn),
    };
  };
  const cBuf = plan.buffers.find((b) => b.node === id && b.role !== 'input');
  if (!cBuf) throw new Error(`product %${id} has no output buffer`);
  const cRoot = root(cBuf.name);
  const cLayout = rowsLocal(cBuf) ? canonical(cBuf.dims, rows) : cBuf.dims;
  const cOffset: SizeExpr =
    !carried && !rowsLocal(cBuf)
      ? { ...strideOf(cLayout, rows, n, fn), chunkStart: true }
      : { dims: [], factor: 0 };
  const chunkRows: SizeExpr = { dims: [], chunkRows: true };
  return {
    node: id,
    M: carried ? { dims: mDims } : chunkRows,
    N: { dims: nDims },
    K: carried ? chunkRows : { dims: kDims },
    a: operand(aNode, mDims, kDims),
    b: operand(bNode, nDims, kDims),
    c: {
      buffer: cRoot.name,
      dtype: 'f32',
      offset: cOffset,
      sOuter: strideOf(cLayout, mDims, n, fn),
      sK: strideOf(cLayout, nDims, n, fn),
    },
    accumulate: carried,
  };
}

/** A chunk buffer stores its rows first, then its inner dim. */
function canonical(dims: readonly Dim[], rows: readonly Dim[]): Dim[] {
  return [...rows, ...dims.filter((d) => !rows.includes(d))];
}

function bufferFor(plan: ChunkPlan, id: number, root: (name: string) => PlanBuffer): PlanBuffer {
  const own = plan.buffers.find((b) => b.node === id && b.home === 'own' && b.role === 'input');
  const any = own ?? plan.buffers.find((b) => b.node === id && b.home !== 'arena');
  if (!any) throw new Error(`operand %${id} of a product has no buffer`);
  const r = root(any.name);
  return { ...any, name: r.name };
}
