// Progress of a benchmark on stderr: a bar redrawn in place on a terminal, a plain line per
// shape otherwise (logs, CI, tests).
import type { Io } from '../shell/io.ts';
import type { BenchProgress } from './bench-run.ts';

export interface ProgressSink extends BenchProgress {
  /** Ends the bar (a newline on a terminal) and reports the total time. */
  finish(): void;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** `totalUnits`: the work of the whole benchmark, in the units `run` reports. */
export function benchProgress(
  io: Io,
  tty: boolean,
  totalUnits: number,
  now: () => number = () => performance.now(),
): ProgressSink {
  const t0 = now();
  let done = 0;
  let shapeText = '';
  let shapeStart = t0;
  let header = '';
  let drawn = false;
  const draw = (what: string) => {
    const f = Math.min(1, done / Math.max(1, totalUnits));
    const w = 24;
    const k = Math.round(f * w);
    const elapsed = now() - t0;
    const eta = f > 0 ? duration((elapsed / f) * (1 - f)) : '?';
    io.err(
      `\r\x1b[2K[${'#'.repeat(k)}${'.'.repeat(w - k)}] ${(100 * f).toFixed(0).padStart(3)}% ${[header, what].filter(Boolean).join(' · ')} · ${duration(elapsed)} elapsed, ~${eta} left`,
    );
    drawn = true;
  };
  const endShape = () => {
    if (!tty && shapeText) io.err(`  done in ${duration(now() - shapeStart)}\n`);
  };
  return {
    shape(index, count, text) {
      endShape();
      shapeText = text;
      shapeStart = now();
      header = `shape ${index + 1}/${count} ${text}`;
      if (tty) draw('');
      else io.err(`bench: ${header}\n`);
    },
    run(units, what, ms) {
      done += units;
      if (tty) draw(`${what} ${ms.toFixed(0)} ms`);
    },
    finish() {
      endShape();
      shapeText = '';
      if (tty && drawn) io.err('\n');
      io.err(`bench: measured in ${duration(now() - t0)}\n`);
    },
  };
}
