// `npm run bench:gpu -- [--smoke] [--out docs/bench/gpu]`: see src/bench/gpu/main.ts and
// docs/bench/gpu/README.md (how to run it on a lent GPU through the device tool).
import '../src/index.ts';
import { parseGpuBenchArgs, runGpuBench } from '../src/bench/gpu/main.ts';

const args = parseGpuBenchArgs(process.argv.slice(2));
const report = await runGpuBench(args);
process.exitCode = report.ok ? 0 : 1;
