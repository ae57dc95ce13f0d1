// A per-step profile of a run: every step of the schedule (each product, row kernel, carry,
// pre-pass and kernel outside the sweeps) submitted and timed alone, its times summed over
// the chunks. With `timestamp-query` a step's time is device time between two marker
// passes; without it (llvmpipe) it is the wall time from its submit to
// `queue.onSubmittedWorkDone`. Timing each step alone leaves the device idle between
// steps, so a profiled run is slower than a plain one: the shares are what it reports.
import { gpuTimer, type TimerKind } from './gpu-timer.ts';
import type { Run } from './run-setup.ts';
import { schedule, streamRecorder, type Recorder } from './schedule.ts';

/** One step of the schedule, summed over the chunks it ran in. */
export interface StepTime {
  /**
   * The module (`sweep1_row1`, `global_12`, `epilogue_out`) or the product (`sweep1 matmul %5
   * ...`); a step of a tile loop ends in `(tile loop over V)`.
   */
  readonly step: string;
  /** Where it runs: staging the inputs, a pre-pass, a sweep's chunks (tile loops included), outside the sweeps. */
  readonly phase: 'inputs' | 'pre-pass' | 'chunk' | 'outside';
  /** Times it ran (once per chunk for a chunk step). */
  readonly calls: number;
  readonly ms: number;
}

export interface RunProfile {
  readonly timer: TimerKind;
  /** Every step, slowest first. */
  readonly steps: readonly StepTime[];
  /** The sum of the steps' times. */
  readonly totalMs: number;
}

/** Submits the staging and then each step of the schedule alone, timing each. */
export async function profileRun(run: Run): Promise<RunProfile> {
  const { device } = run.dev;
  const timer = gpuTimer(device);
  const times = new Map<string, { phase: StepTime['phase']; calls: number; ms: number }>();
  const add = (step: string, phase: StepTime['phase'], ms: number) => {
    const t = times.get(step) ?? { phase, calls: 0, ms: 0 };
    times.set(step, { phase, calls: t.calls + 1, ms: t.ms + ms });
  };
  try {
    await device.queue.onSubmittedWorkDone();
    add('inputs (uploads, copies, conversions)', 'inputs', await timer.end(run.staging));
    const chunkSteps = new Set<string>();
    const preSteps = new Set<string>();
    for (const sw of run.p.sweeps)
      for (const s of sw.chunk) {
        const into = run.p.plan.sweeps[sw.index]?.pre ? preSteps : chunkSteps;
        if (s.kind === 'kernel') into.add(s.module);
        if (s.kind === 'tiles')
          for (const t of s.steps)
            if (t.kind === 'kernel') into.add(`${t.module} (tile loop over ${s.dim})`);
      }
    const base = streamRecorder(run);
    let enc: GPUCommandEncoder | undefined;
    let pending: string | undefined;
    const rec: Recorder = {
      setChunk: base.setChunk,
      encoder: () => (enc ??= timer.begin()),
      endChunk() {},
      stepDone(label) {
        pending = label;
        return true;
      },
    };
    for (const _ of schedule(run, rec)) {
      if (pending === undefined) continue;
      const ms = await timer.end(enc ?? timer.begin());
      run.runner.afterSubmit();
      const phase = preSteps.has(pending)
        ? 'pre-pass'
        : chunkSteps.has(pending) || pending.includes(' matmul ')
          ? 'chunk'
          : 'outside';
      add(pending, phase, ms);
      enc = undefined;
      pending = undefined;
    }
  } finally {
    timer.destroy();
  }
  const steps = [...times].map(([step, t]) => ({ step, ...t })).sort((a, b) => b.ms - a.ms);
  return { timer: timer.kind, steps, totalMs: steps.reduce((s, t) => s + t.ms, 0) };
}

/** The profile as a table, slowest step first, with each step's share of the total. */
export function profileTable(p: RunProfile): string {
  const rows = p.steps.map((s) => [
    s.step,
    s.phase,
    String(s.calls),
    s.ms.toFixed(1),
    (s.ms / s.calls).toFixed(2),
    `${p.totalMs > 0 ? ((100 * s.ms) / p.totalMs).toFixed(1) : '0.0'}%`,
  ]);
  const head = ['step', 'phase', 'calls', 'ms', 'ms/call', 'share'];
  const all = [head, ...rows, ['total', '', '', p.totalMs.toFixed(1), '', '100.0%']];
  const width = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === 0 || i === 1 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [`profile (${p.timer}; each step submitted and timed alone):`, ...all.map(line), ''].join(
    '\n',
  );
}
