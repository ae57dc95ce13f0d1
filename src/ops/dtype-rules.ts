import { isFloat, type DType, type Dim } from '../ir/types.ts';
import { fail, ok, type InferResult, type ValueType } from './record.ts';

/** The value dtype of arithmetic on a dtype: every float storage dtype computes in f32. */
export function arithDtype(d: DType): DType {
  return isFloat(d) ? 'f32' : d;
}

/** Dims of an elementwise result: the first operand's dims, then each later operand's new ones. */
export function broadcastDims(args: readonly ValueType[]): Dim[] {
  const out: Dim[] = [];
  for (const a of args) for (const d of a.dims) if (!out.includes(d)) out.push(d);
  return out;
}

export type Domain =
  /** f32 only (i32 is an error with a cast hint). */
  | 'float'
  /** f32 with f32 or i32 with i32. */
  | 'numeric'
  /** bool only. */
  | 'bool'
  /** any, but all operands of one class. */
  | 'any';

function cls(d: DType): 'float' | 'i32' | 'bool' {
  return isFloat(d) ? 'float' : d === 'i32' ? 'i32' : 'bool';
}

/**
 * Checks that the operands `args` (all of them, or those listed in `which`) fit `domain`
 * and agree in class; returns the common class's value dtype.
 */
export function checkOperands(
  name: string,
  args: readonly ValueType[],
  domain: Domain,
  which: readonly number[] = args.map((_, i) => i),
): { ok: true; dtype: DType } | { ok: false; result: InferResult } {
  const first = which[0] ?? 0;
  let common: 'float' | 'i32' | 'bool' | undefined;
  for (const i of which) {
    const a = args[i];
    if (!a) continue;
    const c = cls(a.dtype);
    if (domain === 'bool' && c !== 'bool')
      return {
        ok: false,
        result: fail('P0203', `\`${name}\` needs bool operands, found ${a.dtype}`, {
          arg: i,
          help: ['compare to make a bool, e.g. `x != 0`'],
        }),
      };
    if (domain !== 'bool' && domain !== 'any' && c === 'bool')
      return {
        ok: false,
        result: fail('P0202', `\`${name}\` cannot take a bool operand`, {
          arg: i,
          help: ['use `f32(b)` to turn a bool into 0.0/1.0'],
        }),
      };
    if (domain === 'float' && c === 'i32')
      return {
        ok: false,
        result: fail('P0211', `\`${name}\` is not defined for i32`, {
          arg: i,
          help: ['cast first: `f32(x)`'],
        }),
      };
    if (common === undefined) common = c;
    else if (common !== c)
      return {
        ok: false,
        result: fail('P0201', `\`${name}\` mixes ${args[first]?.dtype} and ${a.dtype} operands`, {
          arg: i,
          help: ['cast one side, e.g. `f32(x)`'],
        }),
      };
  }
  const dtype = common === 'float' ? 'f32' : common === 'i32' ? 'i32' : 'bool';
  return { ok: true, dtype };
}

/** The common elementwise rule: operands checked for `domain`, result dims broadcast by name. */
export function elementwiseInfer(
  name: string,
  domain: Domain,
  result: 'same' | 'bool',
): (args: readonly ValueType[]) => InferResult {
  return (args) => {
    const c = checkOperands(name, args, domain);
    if (!c.ok) return c.result;
    return ok(result === 'bool' ? 'bool' : c.dtype, broadcastDims(args));
  };
}
