import type { GraphBuilder } from '../graph/builder.ts';
import type { DimConstraint, IrParam } from '../ir/types.ts';
import type { KernelDecl } from './ast.ts';
import type { DiagnosticSink } from './diagnostics-sink.ts';
import { didYouMean } from './suggest.ts';

/**
 * The dim constraints of a kernel's parameter list (`S: dim = 2`, `N: dim = M`), checked
 * against the dims its tensor parameters declare. They are enforced when the inputs are
 * bound (`bindDims`), on every backend.
 */
export function dimConstraints(
  k: KernelDecl,
  dims: readonly string[],
  sink: DiagnosticSink,
): DimConstraint[] {
  const out: DimConstraint[] = [];
  const seen = new Map<string, KernelDecl['name']['span']>();
  const known = (name: string, span: KernelDecl['name']['span']): boolean => {
    if (dims.includes(name)) return true;
    sink.push({
      severity: 'error',
      code: 'P0131',
      message: `dim \`${name}\` is constrained, but no tensor parameter has it`,
      span,
      help: didYouMean(name, dims),
      notes: ['a dim gets its size from the tensor parameters that have it'],
    });
    return false;
  };
  for (const d of k.dimParams ?? []) {
    const prev = seen.get(d.name.name);
    if (prev) {
      sink.push({
        severity: 'error',
        code: 'P0132',
        message: `dim \`${d.name.name}\` is declared twice in the parameter list`,
        span: d.name.span,
        labels: [{ span: prev, message: 'first declared here' }],
        help: ['give each dim at most one constraint'],
      });
      continue;
    }
    seen.set(d.name.name, d.name.span);
    if (!known(d.name.name, d.name.span) || !d.equals) continue;
    if (d.equals.kind === 'size') out.push({ dim: d.name.name, equals: d.equals.value });
    else if (known(d.equals.dim.name, d.equals.dim.span)) {
      if (d.equals.dim.name === d.name.name) continue; // `N: dim = N` holds trivially
      out.push({ dim: d.name.name, equals: { dim: d.equals.dim.name } });
    }
  }
  return out;
}

/**
 * The hidden `present(b)` scalar of each optional tensor parameter, declared after the
 * parameters: a bool with default true that the binder sets false when `b` is absent.
 * Returns the map from an optional parameter's node to its presence node, for `present(b)`.
 */
export function presenceParams(
  k: KernelDecl,
  params: IrParam[],
  b: GraphBuilder,
  sink: DiagnosticSink,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of k.params) {
    if (!p.optional) continue;
    if (p.type.dims.length === 0) {
      sink.push({
        severity: 'error',
        code: 'P0133',
        message: `scalar parameter \`${p.name.name}\` cannot be optional`,
        span: p.optional,
        help: [`give it a default instead: \`${p.name.name}: ${p.type.dtype} = 0\``],
        notes: ['`?` marks a tensor parameter the caller may leave out'],
      });
      continue;
    }
    const i = params.findIndex((q) => q.name === p.name.name);
    const q = params[i];
    if (!q || q.node === undefined) continue;
    params[i] = { ...q, optional: true };
    const name = `present(${q.name})`;
    const node = b.param(name, 'bool', []);
    params.push({ name, dtype: 'bool', dims: [], node, default: 1, presenceOf: q.name });
    out.set(q.node, node);
  }
  return out;
}
