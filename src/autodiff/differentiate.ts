import { InternalError, UserError } from '../diagnostics/diagnostic.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { remapAnnotations } from '../ir/annotations.ts';
import { compact } from '../ir/compact.ts';
import { isFloat, type Dim, type IrFunction, type IrParam, type IrResult } from '../ir/types.ts';
import { OPS } from '../ops/registry.ts';
import { fitTo } from './fit-to.ts';

/**
 * The cotangent of one result: a number (broadcast over the result's dims), a tensor the
 * caller passes as the parameter `cotangent.NAME`, or zero.
 */
export type Cotangent = { kind: 'const'; value: number } | { kind: 'tensor' } | { kind: 'zero' };

export interface DifferentiateOptions {
  /** The parameters to differentiate with respect to, in the order of the `grad.X` results. */
  readonly wrt: readonly string[];
  /**
   * Cotangents by result name. A result not listed gets 1 when it is the function's only
   * result and a scalar, else 0 (spec §7).
   */
  readonly cotangents: ReadonlyMap<string, Cotangent>;
}

/**
 * Reverse-mode differentiation. Returns the joint function: the original parameters plus
 * `cotangent.NAME` (f32, the result's dims) for each result with a tensor cotangent; the
 * original results followed by `grad.X` (f32, X's dims) for each name of `wrt`, the
 * vector-Jacobian product Σ_r cotangent_r · ∂result_r/∂X. Forward values are shared with
 * the backward program by hash-consing; dead nodes are removed.
 *
 * A name repeated in `wrt` gives one gradient. Cotangents of integer or bool results are
 * ignored (no gradient flows through them). Throws a UserError when a name of `wrt` is not
 * a floating parameter (P0301) or a cotangent names no result (P0405).
 */
export function differentiate(fn: IrFunction, opts: DifferentiateOptions): IrFunction {
  const wrt = [...new Set(opts.wrt)].map((name) => differentiableParam(fn, name));
  checkCotangentNames(fn, opts.cotangents);

  // Re-intern the forward nodes as they are (no re-simplification), so that gradient nodes
  // equal to forward values become the forward nodes themselves.
  const b = new GraphBuilder();
  const fwd: number[] = [];
  const at = (old: number): number => {
    const id = fwd[old];
    if (id === undefined) throw new InternalError(`node %${old} read before it is defined`);
    return id;
  };
  for (const n of fn.nodes) fwd[n.id] = b.intern(n.op, n.inputs.map(at), n.attrs, n.dtype, n.dims);
  const forwardCount = b.nodes.length;

  // Nodes a gradient can flow through: those that depend, through float values, on a wrt
  // parameter. Contributions to anything else would be dead code.
  const wanted = new Set<number>();
  for (const p of wrt) if (p.node !== undefined) wanted.add(at(p.node));
  for (const n of b.nodes)
    if (isFloat(n.dtype) && n.inputs.some((i) => wanted.has(i))) wanted.add(n.id);

  // Cotangent of each forward node, already fitted to the node's dims.
  const ct = new Map<number, number>();
  const accumulate = (target: number, contribution: number): void => {
    const fitted = fitTo(b, contribution, b.node(target).dims);
    const prev = ct.get(target);
    ct.set(target, prev === undefined ? fitted : b.op('add', [prev, fitted]));
  };

  const cotangentParams: IrParam[] = [];
  for (const r of fn.results) {
    const node = b.node(at(r.node));
    const c = opts.cotangents.get(r.name) ?? defaultCotangent(fn, r);
    let seed: number | undefined;
    if (c.kind === 'tensor') {
      const name = `cotangent.${r.name}`;
      seed = b.param(name, 'f32', node.dims);
      cotangentParams.push({ name, dtype: 'f32', dims: node.dims, node: seed });
    } else if (c.kind === 'const' && c.value !== 0) seed = b.constant(c.value);
    // No gradient flows out of integer or bool results.
    if (seed !== undefined && isFloat(node.dtype) && wanted.has(node.id)) accumulate(node.id, seed);
  }

  for (let id = forwardCount - 1; id >= 0; id--) {
    const g = ct.get(id);
    const n = b.node(id);
    const rule = OPS[n.op].vjp;
    if (g === undefined || rule === 'none' || !isFloat(n.dtype)) continue;
    const thunks = rule(b, n, g);
    n.inputs.forEach((input, k) => {
      const thunk = thunks[k];
      if (thunk && wanted.has(input) && isFloat(b.node(input).dtype)) accumulate(input, thunk());
    });
  }

  const grads: IrResult[] = wrt.map((p) => {
    const g = p.node === undefined ? undefined : ct.get(at(p.node));
    // A parameter nothing flows to has a zero gradient, still with its dims.
    const value = g ?? b.op('broadcast', [b.constant(0)], { dims: p.dims });
    return { name: `grad.${p.name}`, node: b.op('cast', [value], { to: 'f32' }) };
  });

  const { labels, spans } = remapAnnotations(fn, (old) => fwd[old]);
  const dims: Dim[] = [...fn.dims];
  for (const p of cotangentParams) for (const d of p.dims) if (!dims.includes(d)) dims.push(d);
  return compact({
    name: fn.name,
    params: [
      ...fn.params.map((p) => (p.node === undefined ? p : { ...p, node: at(p.node) })),
      ...cotangentParams,
    ],
    results: [...fn.results.map((r) => ({ name: r.name, node: at(r.node) })), ...grads],
    nodes: b.nodes,
    dims,
    labels,
    spans,
  });
}

/** Spec §7: a lone scalar result is the loss (cotangent 1); anything else defaults to 0. */
function defaultCotangent(fn: IrFunction, r: IrResult): Cotangent {
  const only = fn.results.length === 1 && fn.nodes[r.node]?.dims.length === 0;
  return only ? { kind: 'const', value: 1 } : { kind: 'zero' };
}

function differentiableParam(fn: IrFunction, name: string): IrParam {
  const p = fn.params.find((q) => q.name === name);
  if (!p)
    throw new UserError({
      severity: 'error',
      code: 'P0301',
      message: `cannot differentiate with respect to \`${name}\`: \`${fn.name}\` has no parameter of that name`,
      notes: [`its parameters: ${fn.params.map((q) => q.name).join(', ') || '(none)'}`],
    });
  if (!isFloat(p.dtype))
    throw new UserError({
      severity: 'error',
      code: 'P0301',
      message: `parameter \`${name}\` is ${p.dtype} and cannot have a gradient`,
      notes: ['only floating parameters (f32, f16, bf16) have gradients'],
    });
  return p;
}

function checkCotangentNames(fn: IrFunction, cotangents: ReadonlyMap<string, Cotangent>): void {
  for (const name of cotangents.keys())
    if (!fn.results.some((r) => r.name === name))
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `a cotangent is given for \`${name}\`, but \`${fn.name}\` has no result of that name`,
        notes: [`its results: ${fn.results.map((r) => r.name).join(', ')}`],
      });
}
