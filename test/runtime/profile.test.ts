// The per-step profile (`execute(..., { profile: true })`, `projc run --profile`): every
// step of the schedule is reported with the number of times it ran, and the results are
// those of a plain run. No time is asserted (the machine is shared).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProgram, type Program } from '../../codegen/program.ts';
import { main } from '../../src/cli/main.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { execute } from '../../src/runtime/execute.ts';
import { profileTable } from '../../src/runtime/profile.ts';

let dev: AcquiredDevice;
beforeAll(async () => {
  dev = await acquireDevice();
});
afterAll(() => dev.release());

function program(
  file: string,
  kernel: string,
  vocabTile?: number,
): { p: Program; k: ReturnType<typeof load> } {
  const k = load(file, kernel);
  const { fn, plan } = planKernel({
    kernel: k,
    grad: ['X', 'W'],
    ...(vocabTile !== undefined ? { schedule: { vocabTile } } : {}),
  });
  return { p: generateProgram(fn, plan), k };
}

function load(file: string, kernel: string) {
  const k = compileFile({ path: file, text: readFileSync(file, 'utf8') }).kernels.get(kernel);
  if (!k) throw new Error(`no kernel ${kernel}`);
  return k;
}

/** Every step the schedule runs, with how often: chunk steps once per chunk, pre-passes once. */
function expectedCalls(p: Program, chunks: number): Map<string, number> {
  const want = new Map<string, number>();
  const add = (k: string, n: number) => want.set(k, (want.get(k) ?? 0) + n);
  for (const n of [...p.before, ...p.epilogue]) add(n, 1);
  for (const sw of p.sweeps) {
    const times = p.plan.sweeps[sw.index]?.pre ? 1 : chunks;
    for (const s of sw.chunk) {
      if (s.kind === 'kernel') add(s.module, times);
      else if (s.kind === 'matmul') add(`sweep${sw.index} matmul %${s.spec.node}`, times);
      else
        for (const t of s.steps) {
          const loop = ` (tile loop over ${s.dim})`;
          const tiles = Math.ceil(64 / s.width);
          // A pass after the first skips the projections of the tile the last one left.
          const skip = t.kind === 'matmul' && t.forward && s.reusesTile ? 1 : 0;
          if (t.kind === 'kernel') add(`${t.module}${loop}`, times * tiles);
          else if (t.kind === 'matmul')
            add(`sweep${sw.index} matmul %${t.spec.node}${loop}`, times * (tiles - skip));
        }
    }
    for (const n of sw.after) add(n, 1);
  }
  return want;
}

describe('per-step profile', () => {
  for (const [file, kernel, tile] of [
    ['examples/cross_entropy.proj', 'cross_entropy', undefined],
    // A computed weight: global kernels before the sweep, and an epilogue.
    ['examples/cosface.proj', 'cosface', undefined],
    // Rows × vocabulary tiles of 16: the steps of the tile loop, once per tile.
    ['examples/cross_entropy.proj', 'cross_entropy', 16],
  ] as const)
    it(`reports every step of ${kernel}${tile ? ' tiled' : ''}, each as often as it ran`, async () => {
      const { p, k } = program(file, kernel, tile);
      expect(p.sweeps.some((sw) => sw.chunk.some((s) => s.kind === 'tiles'))).toBe(
        tile !== undefined,
      );
      const sizes = new Map([
        ['N', 20],
        ['H', 8],
        ['V', 64],
      ]);
      const inputs = randomInputs(k, sizes, 1);
      const plain = await execute(dev, p, inputs, sizes, { chunkRows: 6 });
      const prof = await execute(dev, p, inputs, sizes, { chunkRows: 6, profile: true });
      expect(plain.profile).toBeUndefined();
      const profile = prof.profile;
      if (!profile) throw new Error('no profile');
      expect(prof.chunk.chunks).toBe(4);
      expect(profile.timer).toBe(
        dev.features.has('timestamp-query') ? 'timestamp-query' : 'wall (onSubmittedWorkDone)',
      );
      // Products are named by their node with dims and operands after it.
      const got = new Map(
        profile.steps
          .filter((s) => s.phase !== 'inputs')
          .map((s) => [
            s.step.replace(/^(sweep\d+ matmul %\d+) [^(]*/, '$1').replace(/(%\d+)(\()/, '$1 $2'),
            s.calls,
          ]),
      );
      expect(got).toEqual(expectedCalls(p, 4));
      expect(profile.steps.filter((s) => s.phase === 'inputs').map((s) => s.calls)).toEqual([1]);
      for (const s of profile.steps) expect(s.ms).toBeGreaterThanOrEqual(0);
      // Slowest first; the total is their sum.
      const ms = profile.steps.map((s) => s.ms);
      expect(ms).toEqual([...ms].sort((a, b) => b - a));
      expect(profile.totalMs).toBeCloseTo(
        ms.reduce((a, b) => a + b, 0),
        6,
      );
      // Timing the steps alone changes nothing in the results.
      for (const [name, t] of plain.values) expect(prof.values.get(name)?.data).toEqual(t.data);
      const table = profileTable(profile);
      for (const s of profile.steps) expect(table).toContain(s.step);
    });

  it('`projc run --profile` prints the table, and `--json` carries it', async () => {
    const argv = ['run', 'examples/cross_entropy.proj', '--grad', 'X,W'];
    const dims = ['--dims', 'N=12,H=8,V=64', '--chunk-rows', '5', '--profile'];
    let out = '';
    expect(await main([...argv, ...dims], { out: (t) => (out += t), err: () => undefined })).toBe(
      0,
    );
    expect(out).toMatch(/profile \((wall|timestamp).*\n\s*step\s+phase\s+calls\s+ms\s+ms\/call/);
    expect(out).toMatch(/sweep1 matmul %\d+ \[N, V\] = in\.X · in\.W\s+chunk\s+3\s/);
    let json = '';
    expect(
      await main([...argv, ...dims, '--json'], { out: (t) => (json += t), err: () => undefined }),
    ).toBe(0);
    const r = JSON.parse(json);
    expect(r.profile.steps.length).toBeGreaterThan(4);
    expect(r.profile.steps.find((s: { step: string }) => s.step === 'sweep1_row1')?.calls).toBe(3);
    let err = '';
    await main([...argv, ...dims, '--backend', 'cpu'], {
      out: () => undefined,
      err: (t) => (err += t),
    });
    expect(err).toMatch(/--profile is ignored by the cpu backend/);
  });
});
