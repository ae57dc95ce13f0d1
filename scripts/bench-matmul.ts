// `npm run bench:matmul -- [--shapes 'M,K,N[/nt|/tn];...'] [--rounds 5] [--tiles tune|default|JSON] [--out docs/bench]`:
// projc's matmul against TF.js's tf.matMul on this machine's WebGPU adapter; writes
// <out>/matmul.md and <out>/matmul.json. See src/bench/matmul/.
import '../src/index.ts';
import { main } from '../src/bench/matmul/main.ts';

process.exitCode = await main(process.argv.slice(2));
