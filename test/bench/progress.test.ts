// The benchmark's progress: a bar redrawn in place on a terminal, plain lines otherwise.
import { describe, expect, it } from 'vitest';
import { benchProgress } from '../../src/bench/bench-progress.ts';

function drive(tty: boolean): string[] {
  const lines: string[] = [];
  let t = 0;
  const p = benchProgress(
    { out: () => {}, err: (s) => lines.push(s) },
    tty,
    100,
    () => (t += 1000),
  );
  p.shape(0, 2, 'N=64 V=128');
  p.run(30, 'baseline', 12.3);
  p.run(30, 'projc 64 rows', 10.1);
  p.shape(1, 2, 'N=128 V=128');
  p.run(40, 'baseline', 20);
  p.finish();
  return lines;
}

describe('benchProgress', () => {
  it('draws a bar with the share done, the run and an estimate of the time left', () => {
    const lines = drive(true);
    expect(lines[2]).toBe(
      '\r\x1b[2K[##############..........]  60% shape 1/2 N=64 V=128 · projc 64 rows 10 ms · 4s elapsed, ~3s left',
    );
    expect(lines.at(-2)).toBe('\n');
    expect(lines.at(-1)).toBe('bench: measured in 8s\n');
  });

  it('writes one line per shape when stderr is not a terminal', () => {
    expect(drive(false)).toEqual([
      'bench: shape 1/2 N=64 V=128\n',
      '  done in 1s\n',
      'bench: shape 2/2 N=128 V=128\n',
      '  done in 1s\n',
      'bench: measured in 5s\n',
    ]);
  });
});
