import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import { typeText } from '../ir/print.ts';
import type { IrFunction } from '../ir/types.ts';
import type { RunResult } from '../run/run-cpu.ts';
import { formatBytes } from '../shell/format-bytes.ts';
import { profileTable, type RunProfile } from '../runtime/profile.ts';

export { formatBytes };

export interface RunMeta {
  readonly backend: string;
  readonly chunkRows: number;
  readonly chunks: number;
  readonly passes: number;
  /** Passes over all the rows at once before the sweeps (webgpu: a count of kept rows...). */
  readonly prePasses?: number;
  /** Why the chunk has this size (webgpu): given, memory budget, default budget, binding limit. */
  readonly chunkReason?: string;
  readonly predictedPeakBytes?: number;
  /** What materializing the logits would take (webgpu). */
  readonly materializedBytes?: number;
  /** One line per sweep (webgpu). */
  readonly plan?: readonly string[];
  /** `--profile` (webgpu): each step of the schedule timed alone. */
  readonly profile?: RunProfile;
}

/** Scalars as numbers (NaN/±inf as strings, which JSON lacks), tensors by shape. */
function jsonValue(t: Tensor): number | string | { shape: number[] } {
  if (t.dims.length) return { shape: [...t.shape] };
  const v = t.data[0] ?? 0;
  return Number.isFinite(v) ? v : String(v);
}

function hasNonFinite(t: Tensor): boolean {
  for (const v of t.data) if (!Number.isFinite(v)) return true;
  return false;
}

/** L2 norm, the usual one-number summary of a gradient. */
export function norm(t: Tensor): number {
  let s = 0;
  for (const v of t.data) s += v * v;
  return Math.sqrt(s);
}

/** The `--json` object of spec §9, plus gradient norms and the values that are not finite. */
export function runJson(fn: IrFunction, r: RunResult, meta: RunMeta): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const [k, t] of r.outputs) outputs[k] = jsonValue(t);
  for (const [k, t] of r.grads) outputs[`grad.${k}`] = jsonValue(t);
  const nonFinite = [
    ...[...r.outputs].filter(([, t]) => hasNonFinite(t)).map(([k]) => k),
    ...[...r.grads].filter(([, t]) => hasNonFinite(t)).map(([k]) => `grad.${k}`),
  ];
  return {
    kernel: fn.name,
    outputs,
    gradNorms: Object.fromEntries([...r.grads].map(([k, t]) => [`grad.${k}`, norm(t)])),
    nonFinite,
    ...meta,
    peakBytes: r.peakBytes,
    ms: Math.round(r.ms * 1000) / 1000,
  };
}

function summary(t: Tensor): string {
  if (!t.dims.length) return String(t.data[0]);
  let lo = Infinity;
  let hi = -Infinity;
  let s = 0;
  for (const v of t.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    s += v;
  }
  const mean = t.data.length ? s / t.data.length : NaN;
  return `${typeText(t)} [${t.shape.join(', ')}]  mean ${fmt(mean)}  min ${fmt(lo)}  max ${fmt(hi)}`;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(6) : String(v));

/** The human-readable report of a run. */
export function formatRun(
  fn: IrFunction,
  r: RunResult,
  sizes: DimSizes,
  meta: RunMeta,
  out?: string,
): string {
  const dims = [...sizes].map(([d, n]) => `${d}=${n}`).join(' ');
  const lines = [`${fn.name}  (${dims}, backend ${meta.backend})`];
  const width = Math.max(
    ...[...r.outputs.keys(), ...[...r.grads.keys()].map((k) => `grad.${k}`)].map((k) => k.length),
  );
  for (const [k, t] of r.outputs) lines.push(`  ${k.padEnd(width)} = ${summary(t)}`);
  for (const [k, t] of r.grads)
    lines.push(`  ${`grad.${k}`.padEnd(width)} : ${summary(t)}  ‖·‖ ${fmt(norm(t))}`);
  lines.push(
    `  ${meta.chunks} chunk${meta.chunks === 1 ? '' : 's'} of ${meta.chunkRows} rows${meta.chunkReason ? ` (${meta.chunkReason})` : ''}, ${meta.passes} pass${meta.passes === 1 ? '' : 'es'}${meta.prePasses ? ` (+${meta.prePasses} pre-pass over all rows)` : ''}, peak ${formatBytes(r.peakBytes)}, ${r.ms.toFixed(1)} ms`,
  );
  for (const line of meta.plan ?? []) lines.push(`  ${line}`);
  if (meta.materializedBytes !== undefined)
    lines.push(
      `  materializing the logits would take ${formatBytes(meta.materializedBytes)}: projc's peak is ${((100 * r.peakBytes) / Math.max(1, meta.materializedBytes)).toFixed(1)}% of that`,
    );
  if (out) lines.push(`  wrote ${out}`);
  if (meta.profile) lines.push(...profileTable(meta.profile).trimEnd().split('\n'));
  return lines.join('\n') + '\n';
}
