import { InternalError } from '../diagnostics/diagnostic.ts';
import { OPS } from '../ops/registry.ts';
import type { Emit, OpTypeError, ValueType } from '../ops/record.ts';
import { simplify } from './simplify.ts';
import type { Attrs, DType, Dim, Node, Op } from '../ir/types.ts';

/**
 * Builds a graph node by node. Every node is type-checked by its op record, simplified by
 * local rewrite rules, and hash-consed: building the same op on the same inputs twice
 * returns the first node, which is common-subexpression elimination for free.
 */
export class GraphBuilder implements Emit {
  readonly nodes: Node[] = [];
  private readonly memo = new Map<string, number>();

  node(id: number): Node {
    const n = this.nodes[id];
    if (!n) throw new InternalError(`no node %${id}`);
    return n;
  }

  type(id: number): ValueType {
    const n = this.node(id);
    return { dtype: n.dtype, dims: n.dims };
  }

  /** Builds `op(inputs)` or returns why its operands do not fit (for the front end). */
  tryOp(
    op: Op,
    inputs: readonly number[],
    attrs: Attrs = {},
  ): { ok: true; id: number } | { ok: false; error: OpTypeError } {
    const rec = OPS[op];
    if (inputs.length !== rec.arity)
      throw new InternalError(`${op} takes ${rec.arity} inputs, got ${inputs.length}`);
    const inferred = rec.infer(
      inputs.map((i) => this.type(i)),
      attrs,
    );
    if (!inferred.ok) return inferred;
    const simpler = simplify(this, op, inputs, attrs, inferred.type);
    if (simpler !== undefined) return { ok: true, id: simpler };
    return {
      ok: true,
      id: this.intern(op, inputs, attrs, inferred.type.dtype, inferred.type.dims),
    };
  }

  /** Builds `op(inputs)`; operands that do not fit are a compiler bug here. */
  op(op: Op, inputs: readonly number[], attrs: Attrs = {}): number {
    const r = this.tryOp(op, inputs, attrs);
    if (!r.ok)
      throw new InternalError(
        `ill-typed ${op}(${inputs.map((i) => '%' + i).join(', ')}): ${r.error.message}`,
      );
    return r.id;
  }

  /** A scalar literal. f32 unless said otherwise; bool literals are 0/1. */
  constant(value: number, dtype: DType = 'f32'): number {
    return this.intern('const', [], { value }, dtype, []);
  }

  param(name: string, dtype: DType, dims: readonly Dim[]): number {
    return this.intern('param', [], { name }, dtype, dims);
  }

  /** The node with exactly this content, made if new. */
  intern(
    op: Op,
    inputs: readonly number[],
    attrs: Attrs,
    dtype: DType,
    dims: readonly Dim[],
  ): number {
    const key = nodeKey(op, inputs, attrs, dtype, dims);
    const found = this.memo.get(key);
    if (found !== undefined) return found;
    const id = this.nodes.length;
    this.nodes.push({ id, op, inputs: [...inputs], attrs, dtype, dims: [...dims] });
    this.memo.set(key, id);
    return id;
  }
}

function nodeKey(
  op: Op,
  inputs: readonly number[],
  attrs: Attrs,
  dtype: DType,
  dims: readonly Dim[],
): string {
  // -0 and 0 differ as constants (1/x), so keep the sign in the key; and JSON writes inf,
  // -inf and NaN all as `null`, which made `x * -inf` reuse the constant inf.
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : JSON.stringify(v)}`,
    )
    .join(',');
  return `${op}(${inputs.join(',')}){${a}}:${dtype}[${dims.join(',')}]`;
}
