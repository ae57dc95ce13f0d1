// Shared by the training examples: agreement measures, a progress line, option parsing,
// and writing files under docs/training/ (Markdown and JSON formatted with the repo's
// prettier settings, so `npm run format:check` passes on what the examples write).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFromNumbers, writeSafetensors } from '../../src/io/safetensors.ts';
import { PARAM_NAMES, paramShapes, type ModelConfig, type Params } from './model.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

// ---- agreement ---------------------------------------------------------------------------

/**
 * What "agree" means for the LM run (asserted by the script and the tests), by storage of
 * X and W in the kernel. bf16 gets ten times more: rounding X to bf16 is a step function,
 * so once the two runs' hidden states differ by ~1e-6, some elements round to neighbouring
 * bf16 values (2⁻⁸ apart) in one run and not in the other, and the runs drift apart faster
 * than in f32 (docs/training/README.md).
 */
export const LM_TOLERANCES = {
  f32: { loss: 1e-4, params: 1e-3 },
  bf16: { loss: 1e-3, params: 1e-2 },
} as const;

/**
 * For GRPO: rtol on the per-step loss with an atol for the steps where the loss is ~0 (the
 * first step on each generation: −mean(A) + β·KL with Σ A = 0 per group), and on parameters.
 */
export const GRPO_TOLERANCE = { loss: 1e-4, lossAtol: 1e-6, params: 1e-3 } as const;

// ---- relative differences -----------------------------------------------------------------------------

/** |a − b| / |b| (0 when both are 0). */
export function relDiff(a: number, b: number): number {
  const d = Math.abs(a - b);
  return d === 0 ? 0 : d / Math.abs(b);
}

/** Largest relative difference of two series, step by step, and where it is. */
export function seriesAgreement(
  a: readonly number[],
  b: readonly number[],
): { max: number; at: number } {
  let max = 0;
  let at = 0;
  b.forEach((y, i) => {
    const r = relDiff(a[i] ?? NaN, y);
    if (!(r <= max)) {
      max = r;
      at = i;
    }
  });
  return { max, at };
}

export interface ParamAgreement {
  /** max over tensors of ‖a − b‖₂ / ‖b‖₂. */
  readonly normRel: number;
  /** max over tensors of max|a − b| / max|b|. */
  readonly maxAbsRel: number;
  /** The tensor where ‖a − b‖/‖b‖ is largest. */
  readonly worst: string;
  readonly perTensor: Record<string, number>;
}

/** How close two parameter sets are, tensor by tensor. */
export function paramAgreement(a: Params, b: Params): ParamAgreement {
  let normRel = 0;
  let maxAbsRel = 0;
  let worst = '';
  const perTensor: Record<string, number> = {};
  for (const k of PARAM_NAMES) {
    const x = a[k];
    const y = b[k];
    let d2 = 0;
    let n2 = 0;
    let dMax = 0;
    let yMax = 0;
    for (let i = 0; i < y.length; i++) {
      const d = (x[i] as number) - (y[i] as number);
      d2 += d * d;
      n2 += (y[i] as number) ** 2;
      dMax = Math.max(dMax, Math.abs(d));
      yMax = Math.max(yMax, Math.abs(y[i] as number));
    }
    const r = n2 > 0 ? Math.sqrt(d2 / n2) : Math.sqrt(d2);
    perTensor[k] = r;
    if (!(r <= normRel)) {
      normRel = r;
      worst = k;
    }
    maxAbsRel = Math.max(maxAbsRel, yMax > 0 ? dMax / yMax : dMax);
  }
  return { normRel, maxAbsRel, worst, perTensor };
}

// ---- progress ------------------------------------------------------------------------------

/**
 * A progress bar redrawn in place on a TTY, plain lines (every `every` steps and the last)
 * otherwise. `log` replaces the output (the tests collect it).
 */
export function progress(
  total: number,
  label: string,
  log?: (line: string) => void,
): (done: number, info: string) => void {
  const tty = !log && process.stdout.isTTY === true;
  const every = Math.max(1, Math.round(total / 20));
  const t0 = performance.now();
  return (done, info) => {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    if (tty) {
      const width = 24;
      const fill = Math.round((done / total) * width);
      const bar = `${'█'.repeat(fill)}${'·'.repeat(width - fill)}`;
      process.stdout.write(`\r${label} ${bar} ${done}/${total} ${s}s ${info}\x1b[K`);
      if (done === total) process.stdout.write('\n');
    } else if (done % every === 0 || done === total || done === 1) {
      (log ?? console.log)(`${label} step ${done}/${total} ${s}s ${info}`);
    }
  };
}

// ---- options -------------------------------------------------------------------------------

/** `--name value` / `--name=value` pairs into a map; `--flag` alone is 'true'. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--'))
      out.set(a.slice(2), argv[++i] as string);
    else out.set(a.slice(2), 'true');
  }
  return out;
}

/** Overrides the numeric fields of `base` from `--field value` options; unknown names throw. */
export function withOptions<T extends object>(
  base: T,
  args: ReadonlyMap<string, string>,
  extra: readonly string[] = [],
): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of args) {
    const key = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (extra.includes(k)) continue;
    if (!(key in out)) throw new Error(`unknown option --${k}`);
    const cur = out[key];
    out[key] = typeof cur === 'number' ? Number(v) : v;
    if (typeof cur === 'number' && !Number.isFinite(out[key]))
      throw new Error(`--${k}: not a number: ${v}`);
  }
  return out as T;
}

// ---- files ---------------------------------------------------------------------------------

/** Formats with prettier when it is installed (a dev dependency), else writes as is. */
export async function writeFormatted(path: string, text: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  let out = text;
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(path)) ?? {};
    out = await prettier.format(text, { ...options, filepath: path });
  } catch {
    // no prettier: the file is still valid, only not formatted
  }
  writeFileSync(path, out);
}

export function writePlain(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Writes parameters as an f32 safetensors file (`projc run --inputs` reads the format). */
export function saveParams(path: string, cfg: ModelConfig, p: Params): void {
  const shapes = paramShapes(cfg);
  const tensors = PARAM_NAMES.map((k) => encodeFromNumbers(p[k], 'F32', shapes[k], k));
  writePlain(path, '');
  writeFileSync(path, writeSafetensors(tensors));
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const DEFAULT_OUT = join(REPO, 'docs/training');

/** Bytes as KiB/MiB with the exact count. */
export function bytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

/** Seconds with one decimal. */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
