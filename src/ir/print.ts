import type { Attrs, IrFunction, Node } from './types.ts';

/** `bf16[N, H]`, or `f32` for a scalar. */
export function typeText(n: { dtype: string; dims: readonly string[] }): string {
  return n.dims.length ? `${n.dtype}[${n.dims.join(', ')}]` : n.dtype;
}

/** Numbers print as the shortest text that reads back to the same double (`-0`, `inf`). */
export function numberText(v: number): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

function attrsText(op: Node['op'], a: Attrs): string {
  const parts: string[] = [];
  if (a.axes && op !== 'size') parts.push(`axes=[${a.axes.join(', ')}]`);
  if (a.dim !== undefined) parts.push(`dim=${a.dim}`);
  if (a.offset !== undefined) parts.push(`offset=${a.offset}`);
  if (a.reverse) parts.push('reverse');
  if (a.dims && op === 'dot') parts.push(`dims=[${a.dims.join(', ')}]`);
  return parts.length ? ` {${parts.join(', ')}}` : '';
}

/** One node as `%3 = dot(%0, %1) {dims=[N, V]} : f32[N, V]`. */
export function nodeText(n: Node): string {
  let rhs: string;
  switch (n.op) {
    case 'param':
      rhs = `param ${n.attrs.name ?? '?'}`;
      break;
    case 'const':
      rhs = `const ${numberText(n.attrs.value ?? 0)}`;
      break;
    case 'size':
      rhs = `size(${(n.attrs.axes ?? []).join(', ')})`;
      break;
    case 'cast':
      rhs = `${n.attrs.to ?? '?'}(%${n.inputs[0]})`;
      break;
    default:
      rhs = `${n.op}(${n.inputs.map((i) => '%' + i).join(', ')})${attrsText(n.op, n.attrs)}`;
  }
  return `%${n.id} = ${rhs} : ${typeText(n)}`;
}

/**
 * The stable text form of a function, used by `projc ir` and snapshot tests: a header with
 * the parameters, one line per node (source names as `# comments`), then the results.
 */
export function printFunction(fn: IrFunction): string {
  const params = fn.params
    .map(
      (p) =>
        `${p.name}: ${typeText(p)}${p.optional ? '?' : ''}${p.default !== undefined ? ` = ${numberText(p.default)}` : ''}`,
    )
    .concat(
      (fn.dimConstraints ?? []).map(
        (c) => `${c.dim}: dim = ${typeof c.equals === 'number' ? c.equals : c.equals.dim}`,
      ),
    )
    .join(', ');
  const lines = [`${fn.name}(${params})`];
  const width = Math.max(0, ...fn.nodes.map((n) => nodeText(n).length));
  for (const n of fn.nodes) {
    const label = fn.labels?.get(n.id);
    const text = nodeText(n);
    lines.push(`  ${label ? `${text.padEnd(width)}  # ${label}` : text}`);
  }
  for (const r of fn.results) lines.push(`  ${r.name} = %${r.node}`);
  return lines.join('\n') + '\n';
}
