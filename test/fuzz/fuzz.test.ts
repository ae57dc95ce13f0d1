// The fuzz targets of issue 13 in CI: a fixed seed and a small budget (about 35 s in all).
// `npm run fuzz -- --minutes N` runs the same targets for longer, from any seed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { cliCase, runCliCase } from './cli-args.ts';
import { describeCase, fuzzCase, runCase } from './programs.ts';

describe('differential fuzz: random well-typed programs on cpu and webgpu', () => {
  let rt: Runtime | undefined;
  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt?.release());

  it('agree within 1e-4 of each tensor’s largest magnitude, forward and backward', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        if (!rt) throw new Error('no runtime');
        runs++;
        const why = await runCase(rt, c);
        if (why) throw new Error(`${why}\n${describeCase(c)}`);
      }),
      {
        seed: 20261203,
        numRuns: 60,
        interruptAfterTimeLimit: 20_000,
        markInterruptAsFailure: false,
      },
    );
    expect(runs).toBeGreaterThan(5);
  }, 60_000);
});

describe('command-line fuzz: random argument vectors through main', () => {
  it('never crash: exit 0, 1 or 2, no exception, no internal error', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(cliCase, async (argv) => {
        runs++;
        const why = await runCliCase(argv);
        if (why) throw new Error(`projc ${argv.map((a) => JSON.stringify(a)).join(' ')}: ${why}`);
      }),
      {
        seed: 20261203,
        numRuns: 400,
        interruptAfterTimeLimit: 15_000,
        markInterruptAsFailure: false,
      },
    );
    expect(runs).toBeGreaterThan(50);
  }, 60_000);
});
