// `npm run bench:gpu`: projc's matmul and cross-entropy at the shapes that matter on a GPU
// (the CCE paper's N=8192 H=2304 V=256000 and the seed case N=16384 H=4096 V=128256, bf16),
// timed with timestamp queries where the adapter has them. The same pipeline first runs
// at small "smoke" shapes on any adapter and checks its results against the float64
// interpreter and the materialized baseline; the real sizes are skipped, with the reason
// printed, on a CPU adapter (llvmpipe and the like) and under --smoke.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../../api/runtime.ts';
import { compileFile } from '../../frontend/compile.ts';
import type { IrFunction } from '../../ir/types.ts';
import { formatJson } from '../report-json.ts';
import { adapterKind, deviceFacts, knownPeak, type AdapterKind } from './adapter.ts';
import {
  baselineProblem,
  benchCrossEntropy,
  hostProblem,
  type CeCase,
  type CeResult,
} from './ce-bench.ts';
import { benchMatmul, type MatmulCase, type MatmulResult } from './matmul-bench.ts';
import { gpuBenchMarkdown, type Failed, type GpuBenchReport, type Skipped } from './report.ts';
import { gpuTimer } from '../../runtime/gpu-timer.ts';

export const SMOKE_MATMUL: readonly MatmulCase[] = [
  { name: 'smoke-square', M: 64, K: 64, N: 64, dtype: 'f32' },
  { name: 'smoke-wide', M: 128, K: 32, N: 512, dtype: 'f32' },
  { name: 'smoke-wide', M: 128, K: 32, N: 512, dtype: 'bf16' },
];

export const REAL_MATMUL: readonly MatmulCase[] = [
  { name: 'square-1024', M: 1024, K: 1024, N: 1024, dtype: 'f32' },
  { name: 'wide', M: 2048, K: 512, N: 8192, dtype: 'f32' },
  { name: 'square-1024', M: 1024, K: 1024, N: 1024, dtype: 'bf16' },
  { name: 'wide', M: 2048, K: 512, N: 8192, dtype: 'bf16' },
];

/** The real shapes scaled down (N, H, V each divided), so smoke runs the same kinds of sizes. */
export const SMOKE_CE: readonly CeCase[] = [
  { name: 'cce-paper/128', N: 64, H: 36, V: 1000 },
  { name: 'seed/128', N: 128, H: 64, V: 1002 },
];

export const REAL_CE: readonly CeCase[] = [
  // V cut to 32000 (Llama 2's vocabulary) so that the baseline's logits fit: the ratio.
  { name: 'cce-paper-v32000', N: 8192, H: 2304, V: 32000 },
  { name: 'cce-paper', N: 8192, H: 2304, V: 256000 },
  { name: 'seed', N: 16384, H: 4096, V: 128256 },
];

export interface GpuBenchArgs {
  readonly smoke: boolean;
  readonly out: string | undefined;
  readonly repeats: number;
  readonly seed: number;
  readonly timestamps: boolean;
  /** Per cross-entropy shape: timed rounds stop at about this many ms. */
  readonly budgetMs: number;
  readonly kernelFile: string;
  readonly tolerance: number;
  /** The runtime's memory budget for the chunk size (default: its own default budget). */
  readonly memoryBudget: number | undefined;
}

const USAGE = `usage: npm run bench:gpu -- [--smoke] [--out DIR] [--repeats N] [--seed S] [--budget-s S] [--memory-budget 8GiB] [--no-timestamps] [--kernel-file FILE]`;

export function parseGpuBenchArgs(argv: readonly string[]): GpuBenchArgs {
  let smoke = false;
  let out: string | undefined;
  let repeats = 5;
  let seed = 0;
  let timestamps = true;
  let budgetMs = 60_000;
  let kernelFile = 'examples/cross_entropy.proj';
  let memoryBudget: number | undefined;
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0)
      throw new Error(`${flag} needs a number\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') smoke = true;
    else if (a === '--no-timestamps') timestamps = false;
    else if (a === '--out') out = argv[++i];
    else if (a === '--kernel-file') kernelFile = argv[++i] ?? kernelFile;
    else if (a === '--repeats') repeats = Math.max(1, Math.floor(num(a, argv[++i])));
    else if (a === '--seed') seed = Math.floor(num(a, argv[++i]));
    else if (a === '--budget-s') budgetMs = num(a, argv[++i]) * 1000;
    else if (a === '--memory-budget') memoryBudget = bytesArg(a, argv[++i]);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (out === '') throw new Error(`--out needs a directory\n${USAGE}`);
  return {
    smoke,
    out,
    repeats,
    seed,
    timestamps,
    budgetMs,
    kernelFile,
    tolerance: 1e-4,
    memoryBudget,
  };
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};

/** `8GiB`, `512MiB`, `1e9` → bytes (src/bench sits below src/cli, whose parser is the same). */
function bytesArg(flag: string, v: string | undefined): number {
  const m = /^([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)([a-z]*)$/i.exec(v ?? '');
  const unit = UNITS[(m?.[2] ?? 'x').toLowerCase()];
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(n > 0)) throw new Error(`${flag} takes a size like 512MiB or 8GiB, got ${v}\n${USAGE}`);
  return n;
}

function loadKernel(path: string): IrFunction {
  const c = compileFile({ path, text: readFileSync(path, 'utf8') });
  const err = c.diagnostics.find((d) => d.severity === 'error');
  if (err) throw new Error(`${path}: ${err.message}`);
  const fn = c.kernels.get('cross_entropy');
  if (!fn) throw new Error(`${path} has no kernel cross_entropy`);
  return fn;
}

/** Why the real-size cases do not run (a CPU adapter first, then --smoke), or undefined. */
export function realSizeSkipReason(kind: AdapterKind, smoke: boolean): string | undefined {
  if (kind.cpu) return `${kind.reason ?? 'a CPU adapter'}; the real sizes run on a GPU only`;
  return smoke ? '--smoke runs the small shapes only' : undefined;
}

const worst = (errs: Readonly<Record<string, number>>) => Math.max(0, ...Object.values(errs));

/** Runs the benchmark; returns the report (also written under `out`). */
export async function runGpuBench(
  args: GpuBenchArgs,
  log: (line: string) => void = (l) => console.log(l),
  opts: { runtime?: Runtime; command?: string } = {},
): Promise<GpuBenchReport> {
  const t0 = performance.now();
  const kernel = loadKernel(args.kernelFile);
  const rt = opts.runtime ?? (await Runtime.create());
  const dev = rt.device;
  const facts = deviceFacts(dev.device);
  const kind = adapterKind(facts, dev.adapterInfo);
  const peak = kind.cpu ? undefined : knownPeak(facts, dev.adapterInfo);
  const timer = gpuTimer(dev.device, args.timestamps);
  const tiles = rt.program(kernel, ['X', 'W']).matmul.tiles;
  log(`adapter: ${dev.adapterInfo}`);
  log(
    `  ${kind.cpu ? `CPU adapter: ${kind.reason}` : 'a GPU'}; features: ${[...dev.features].join(', ') || 'none'}`,
  );
  log(
    `  timer: ${timer.kind}; f32 peak: ${peak ? `${peak.gflops} GFLOP/s (${peak.name})` : 'unknown'}`,
  );
  const skipped: Skipped[] = [];
  const failed: Failed[] = [];
  const why = realSizeSkipReason(kind, args.smoke);
  const matmulCases = [...SMOKE_MATMUL, ...(why === undefined ? REAL_MATMUL : [])];
  const ceCases = [...SMOKE_CE, ...(why === undefined ? REAL_CE : [])];
  if (why !== undefined) {
    for (const m of REAL_MATMUL) {
      skipped.push({
        name: `${m.name} ${m.dtype}`,
        what: 'matmul',
        reason: why,
      });
      log(`matmul ${m.name} ${m.dtype} ${m.M}×${m.K}×${m.N}: skipped: ${why}`);
    }
    for (const c of REAL_CE) {
      skipped.push({
        name: c.name,
        what: 'cross-entropy',
        reason: why,
      });
      log(`cross-entropy ${c.name} N=${c.N} H=${c.H} V=${c.V}: skipped: ${why}`);
    }
  }
  const matmul: MatmulResult[] = [];
  const crossEntropy: CeResult[] = [];
  try {
    for (const m of matmulCases) {
      log(`matmul ${m.name} ${m.dtype} ${m.M}×${m.K}×${m.N}`);
      try {
        const r = await benchMatmul(dev, timer, m, {
          repeats: args.repeats,
          peakGflops: peak?.gflops,
          tiles,
          seed: args.seed,
        });
        matmul.push(r);
        log(
          `  ${r.time.median.toFixed(3)} ms, ${r.gflops.toPrecision(4)} GFLOP/s${r.fractionOfPeak !== null ? ` (${(100 * r.fractionOfPeak).toFixed(1)}% of peak)` : ''}, max rel. error ${r.maxRelError.toExponential(2)}`,
        );
      } catch (e) {
        failed.push({ name: `${m.name} ${m.dtype}`, what: 'matmul', error: String(e) });
        log(`  FAILED: ${String(e)}`);
      }
    }
    for (const c of ceCases) {
      log(`cross-entropy ${c.name} N=${c.N} H=${c.H} V=${c.V}`);
      const small = c.N * c.V <= 1 << 20;
      // Float64 host copies only where a host reference runs: small shapes, or the baseline.
      const sizes = new Map([
        ['N', c.N],
        ['V', c.V],
      ]);
      const host = hostProblem(
        c,
        freemem(),
        small || baselineProblem(sizes, dev.limits) === undefined,
      );
      if (host !== undefined) {
        skipped.push({ name: c.name, what: 'cross-entropy', reason: host });
        log(`  skipped: ${host}`);
        continue;
      }
      try {
        const r = await benchCrossEntropy(rt, kernel, c, {
          repeats: args.repeats,
          seed: args.seed,
          interpreter: small,
          runtimeRun: small,
          budgetMs: args.budgetMs,
          memoryBudget: args.memoryBudget,
          log,
        });
        crossEntropy.push(r);
        log(
          `  projc ${r.projc.time.median.toFixed(1)} ms per step, ${r.projc.gflops.toPrecision(4)} GFLOP/s, peak ${(r.projc.peakBytes / 2 ** 20).toFixed(1)} MiB, loss ${r.loss.toFixed(6)}`,
        );
      } catch (e) {
        failed.push({ name: c.name, what: 'cross-entropy', error: String(e) });
        log(`  FAILED: ${String(e)}`);
      }
    }
  } finally {
    timer.destroy();
    if (!opts.runtime) rt.release();
  }
  const tol = args.tolerance;
  const ok =
    failed.length === 0 &&
    matmul.every((m) => m.maxRelError <= tol) &&
    crossEntropy.every((c) => Object.entries(c.agreement).every(([, errs]) => worst(errs) <= tol));
  const report: GpuBenchReport = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    command:
      opts.command ??
      `npm run bench:gpu --${args.smoke ? ' --smoke' : ''}${args.out ? ` --out ${args.out}` : ''}`,
    adapter: dev.adapterInfo,
    cpuAdapter: kind.cpu ? (kind.reason ?? 'CPU adapter') : null,
    features: [...dev.features].sort(),
    timer: timer.kind,
    timestampFallbacks: timer.fallbacks(),
    peak: peak ?? null,
    limits: {
      maxBufferSize: dev.limits.maxBufferSize,
      maxStorageBufferBindingSize: dev.limits.maxStorageBufferBindingSize,
    },
    smoke: args.smoke,
    memoryBudget: args.memoryBudget ?? null,
    tolerance: tol,
    matmul,
    crossEntropy,
    skipped,
    failed,
    ok,
    wallMs: performance.now() - t0,
  };
  log(ok ? 'all results agree with their references' : 'FAILED: see the report');
  if (args.out !== undefined) {
    mkdirSync(args.out, { recursive: true });
    writeFileSync(join(args.out, 'results.json'), formatJson(report));
    writeFileSync(join(args.out, 'results.md'), gpuBenchMarkdown(report));
    log(`wrote ${join(args.out, 'results.json')} and results.md`);
  }
  return report;
}
