import type { Op } from '../ir/types.ts';
import {
  add,
  and,
  div,
  eq,
  ge,
  gt,
  le,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  or,
  pow,
  sub,
} from './binary.ts';
import type { Monoid, OpRecord } from './record.ts';
import { logsumexp, max, min, prod, sum } from './reduce.ts';
import { broadcast, constant, dot, gather, index, param, size, transpose } from './structural.ts';
import { clamp, where } from './ternary.ts';
import { cos, sin } from './trig.ts';
import { cumsum, shift } from './scan.ts';
import {
  abs,
  cast,
  detach,
  exp,
  expm1,
  log,
  log1p,
  neg,
  not,
  relu,
  rsqrt,
  sigmoid,
  softplus,
  sqrt,
  tanh,
} from './unary.ts';

/**
 * THE op registry: one record per primitive. The `Record<Op, ...>` type makes a missing
 * record a compile error, so adding an op to `Op` forces its record here.
 */
export const OPS: Readonly<Record<Op, OpRecord>> = {
  param,
  const: constant,
  size,
  index,
  neg,
  exp,
  log,
  log1p,
  expm1,
  sqrt,
  rsqrt,
  abs,
  tanh,
  sigmoid,
  softplus,
  relu,
  cos,
  sin,
  not,
  detach,
  cast,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  and,
  or,
  where,
  clamp,
  sum,
  max,
  min,
  logsumexp,
  prod,
  gather,
  shift,
  cumsum,
  dot,
  broadcast,
  transpose,
};

export function opRecord(op: Op): OpRecord {
  return OPS[op];
}

/** The monoid of a reduction op; undefined for every other family. */
export function monoidOf(op: Op): Monoid | undefined {
  const r = OPS[op];
  return r.kind === 'reduction' ? r.monoid : undefined;
}
