// Runs before every test file: tests get devices the way the Node entry (src/index.ts)
// and the CLI do, from Dawn, whichever module they import acquireDevice from.
import { registerDawn } from '../src/runtime/dawn.ts';

registerDawn();
