import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../src/ir/types.ts';
import type { WgslHelper } from '../src/ops/record.ts';
import { OPS } from '../src/ops/registry.ts';
import { GRID_X } from './kernel-module.ts';
import { reduction } from './reduce-wgsl.ts';
import { helperSource } from './wgsl-helpers.ts';
import { literal, toWord, wgslType } from './wgsl-values.ts';

/** Values an eager kernel inlines instead of reading a buffer: literals, sizes, positions, scalars. */
export function isInline(n: Node): boolean {
  return (
    n.op === 'const' ||
    n.op === 'size' ||
    n.op === 'index' ||
    (n.op === 'param' && n.dims.length === 0)
  );
}

/**
 * One kernel per IR node, as an eager framework runs a program: every operand is a whole
 * materialized tensor (f32 for floats, i32, bool as u32), one thread per output element.
 * Shapes and scalar values are baked in (the baseline recompiles per shape, which is not
 * timed). Returns the WGSL and the nodes it reads, in binding order (the output is last).
 */
export function eagerKernel(
  fn: IrFunction,
  id: number,
  sizes: ReadonlyMap<Dim, number>,
  scalars: ReadonlyMap<string, number>,
  wg: number,
): { code: string; reads: number[] } {
  const n = fn.nodes[id] as Node;
  const node = (i: number) => fn.nodes[i] as Node;
  const size = (d: Dim) => sizes.get(d) ?? 0;
  const reads: number[] = [];
  const binding = (i: number) => {
    let k = reads.indexOf(i);
    if (k < 0) k = reads.push(i) - 1;
    return `in${k}`;
  };
  const lets: string[] = [];
  // Coordinates of every dim in scope as WGSL u32 expressions.
  const value = (i: number, coord: ReadonlyMap<Dim, string>): string => {
    const x = node(i);
    if (x.op === 'const') return literal(x.attrs.value ?? 0, x.dtype);
    if (x.op === 'size') return `${(x.attrs.axes ?? []).reduce((s, d) => s * size(d), 1)}.0`;
    if (x.op === 'index') return `i32(${coord.get(x.attrs.dim ?? '') ?? '0u'})`;
    if (x.op === 'param' && x.dims.length === 0)
      return literal(scalars.get(x.attrs.name ?? '') ?? 0, x.dtype);
    let idx = '';
    for (const d of x.dims) {
      const c = coord.get(d);
      if (c === undefined)
        throw new InternalError(`eager %${id}: operand %${i} has dim ${d} out of scope`);
      idx = idx ? `(${idx}) * ${size(d)}u + ${c}` : c;
    }
    const v = `${binding(i)}[${idx || '0u'}]`;
    const t = wgslType(x.dtype);
    return t === 'bool' ? `(${v} != 0u)` : v;
  };
  const out = new Map<Dim, string>(n.dims.map((d) => [d, `o_${d}`]));
  n.dims.forEach((d, j) => {
    const after = n.dims.slice(j + 1).reduce((s, x) => s * size(x), 1);
    lets.push(`let o_${d} = (e / ${after}u) % ${size(d)}u;`);
  });
  let result: string;
  let helpers: readonly WgslHelper[] = [];
  const rec = OPS[n.op];
  if (rec.kind === 'reduction') {
    const axes = n.attrs.axes ?? [];
    const r = reduction(rec.monoid, n.dtype);
    helpers = r.helpers;
    const inner = new Map(out);
    const loop: string[] = [];
    axes.forEach((d, j) => {
      const after = axes.slice(j + 1).reduce((s, x) => s * size(x), 1);
      loop.push(`let j_${d} = (j / ${after}u) % ${size(d)}u;`);
      inner.set(d, `j_${d}`);
    });
    const count = axes.reduce((s, d) => s * size(d), 1);
    lets.push(
      `var a = ${r.init};`,
      `for (var j = 0u; j < ${count}u; j = j + 1u) {`,
      ...loop.map((l) => `  ${l}`),
      `  a = ${r.push('a', value(n.inputs[0] ?? -1, inner))};`,
      '}',
    );
    result = r.finish('a');
  } else if (n.op === 'gather') {
    const d = n.attrs.dim ?? '';
    lets.push(`let k = ${value(n.inputs[1] ?? -1, out)};`);
    const at = new Map(out).set(d, `u32(clamp(k, 0i, ${size(d) - 1}i))`);
    result = `select(${literal(0, n.dtype)}, ${value(n.inputs[0] ?? -1, at)}, k >= 0i && k < ${size(d)}i)`;
  } else if (n.op === 'broadcast' || n.op === 'transpose') {
    result = value(n.inputs[0] ?? -1, out);
  } else {
    if (rec.kind !== 'elementwise') throw new InternalError(`eager %${id}: no kernel for ${n.op}`);
    helpers = rec.helpers;
    result = rec.wgsl(
      n.inputs.map((i) => value(i, out)),
      n,
      n.inputs.map(node),
    );
  }
  const count = n.dims.reduce((s, d) => s * size(d), 1);
  const t = wgslType(n.dtype);
  const decls = reads.map(
    (i, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${elem(node(i))}>;`,
  );
  decls.push(
    `@group(0) @binding(${reads.length}) var<storage, read_write> out: array<${elem(n)}>;`,
  );
  const code = [
    helperSource(helpers),
    ...decls,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    `  let e = gid.y * ${GRID_X * wg}u + gid.x;`,
    `  if (e >= ${count}u) { return; }`,
    ...lets.map((l) => `  ${l}`),
    `  out[e] = ${t === 'bool' ? toWord(result, 'bool') : result};`,
    '}',
    '',
  ].join('\n');
  return { code, reads };
}

/** The WGSL element type of a materialized value. */
export function elem(n: Node): 'f32' | 'i32' | 'u32' {
  const t = wgslType(n.dtype);
  return t === 'f32' ? 'f32' : t === 'i32' ? 'i32' : 'u32';
}
