// `npm run bench:gpu -- [--smoke] [--out docs/bench/gpu]`: see src/bench/gpu/main.ts and
// docs/bench/gpu/README.md (how to run it on a lent GPU through the device tool).
import '../src/index.ts';
import { parseGpuBenchArgs, runGpuBench } from '../src/bench/gpu/main.ts';

const args = parseGpuBenchArgs(process.argv.slice(2));
// The device script (scripts/bench-gpu-device.sh) names itself as the command.
const command = process.env['PROJC_BENCH_GPU_COMMAND'];
const report = await runGpuBench(args, undefined, command ? { command } : {});
process.exitCode = report.ok ? 0 : 1;
