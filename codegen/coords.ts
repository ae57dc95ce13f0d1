import type { Dim } from '../src/ir/types.ts';

/**
 * WGSL `let`s unflattening a row-major index over `dims`: coordinate of dim k =
 * (flat / Π sizes after k) % size(k). `size` gives a dim's size as a WGSL u32 expression.
 */
export function unflatten(
  flat: string,
  dims: readonly Dim[],
  size: (d: Dim) => string,
  prefix: string,
): { dim: Dim; name: string; line: string }[] {
  return dims.map((dim, j) => {
    const after = dims.slice(j + 1).map(size);
    const name = `${prefix}${dim}`;
    const div = after.length ? ` / (${after.join(' * ')})` : '';
    return { dim, name, line: `let ${name} = (${flat}${div}) % ${size(dim)};` };
  });
}
