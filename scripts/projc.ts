// The `projc` command straight from the sources, for working on the compiler without
// rebuilding dist/: `npx tsx scripts/projc.ts check examples/cross_entropy.proj`.
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
