import type { Span } from '../diagnostics/source.ts';
import type { GraphBuilder } from '../graph/builder.ts';

/**
 * What an expression elaborates to. Number literals stay untyped until they meet another
 * operand (spec §4: literals adapt), so `target != -100` compares in i32 and `x * 2` in f32.
 */
export type Value =
  | { readonly kind: 'node'; readonly id: number }
  | { readonly kind: 'literal'; readonly value: number; readonly integer: boolean }
  /** A dim name in expression position: only meaningful as a built-in's dim argument. */
  | { readonly kind: 'dim'; readonly dim: string }
  /** An error already reported; operations on it stay silent. */
  | { readonly kind: 'error' };

export const ERROR: Value = { kind: 'error' };

export interface Arg {
  readonly value: Value;
  readonly span: Span;
}

/**
 * Turns the literal operands of one operation into constants of the class of its first
 * numeric operand: i32 when that is i32 and the literal is an integer, else f32. A bool
 * operand (the condition of `where`) does not count: `where(c, t, 0)` with `t: i32` is i32.
 */
export function materialize(b: GraphBuilder, args: readonly Value[]): (number | undefined)[] {
  const typed = args.find((a) => a.kind === 'node' && b.node(a.id).dtype !== 'bool');
  const dtype = typed?.kind === 'node' ? b.node(typed.id).dtype : 'f32';
  return args.map((a) => {
    if (a.kind === 'node') return a.id;
    if (a.kind !== 'literal') return undefined;
    const asInt = dtype === 'i32' && a.integer;
    return b.constant(a.value, asInt ? 'i32' : 'f32');
  });
}
