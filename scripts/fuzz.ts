// The differential and command-line fuzzers, for a while: `npm run fuzz -- --minutes 10`
// (`--seed S` to start elsewhere). Prints the number of programs and argument vectors
// tried, every disagreement (with a program to rerun) and every crash; exits 1 if any.
// CI runs the same targets briefly with a fixed seed (test/fuzz/fuzz.test.ts).
import fc from 'fast-check';
import { Runtime } from '../src/index.ts'; // the Node entry: devices come from Dawn
import { cliCase, runCliCase } from '../test/fuzz/cli-args.ts';
import {
  describeCase,
  fuzzCase,
  INTERMEDIATE_TOLERANCE,
  runCase,
  TOLERANCE,
} from '../test/fuzz/programs.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const minutes = Number(arg('minutes') ?? '1');
const seed0 = Number(arg('seed') ?? Date.now() % 2 ** 31);
const deadline = Date.now() + minutes * 60_000;

const rt = await Runtime.create();
let programs = 0;
let disagreements = 0;
let crashes = 0;
let argvs = 0;
let batch = 0;
while (Date.now() < deadline) {
  const seed = seed0 + batch++;
  // Programs: one batch of 10 per seed, then 50 argument vectors.
  for (const c of fc.sample(fuzzCase, { numRuns: 10, seed })) {
    if (Date.now() >= deadline) break;
    programs++;
    try {
      const why = await runCase(rt, c);
      if (why) {
        disagreements++;
        console.log(`DISAGREEMENT (seed ${seed}): ${why}\n${describeCase(c)}\n`);
      }
    } catch (e) {
      crashes++;
      console.log(
        `CRASH (seed ${seed}): ${e instanceof Error ? e.stack : String(e)}\n${describeCase(c)}\n`,
      );
    }
  }
  for (const argv of fc.sample(cliCase, { numRuns: 50, seed })) {
    if (Date.now() >= deadline) break;
    argvs++;
    const why = await runCliCase(argv);
    if (why) {
      crashes++;
      console.log(
        `CLI CRASH (seed ${seed}): projc ${argv.map((a) => JSON.stringify(a)).join(' ')}\n${why}\n`,
      );
    }
  }
}
rt.release();
console.log(
  `fuzz: ${programs} programs on cpu and webgpu (tolerance ${TOLERANCE} relative to each tensor's largest magnitude, absolute below 1, plus ${INTERMEDIATE_TOLERANCE} of its largest intermediate value), ${disagreements} disagreements; ${argvs} argument vectors; ${crashes} crashes; seeds ${seed0}..${seed0 + batch - 1}`,
);
process.exitCode = disagreements || crashes ? 1 : 0;
