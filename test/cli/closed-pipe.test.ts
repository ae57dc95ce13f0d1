// `projc ir x.proj | head`: the reader closes the pipe early; the CLI must end quietly
// (exit 0, nothing on stderr) instead of dying on an unhandled EPIPE with a stack trace.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('ends quietly when the reader of stdout goes away', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(['ir', 'examples/cross_entropy.proj']);",
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Close our end before the child writes (it is still loading), as `head -1` does after
  // its line: every write of the child meets a closed pipe.
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(stderr).toBe('');
  expect(code).toBe(0);
}, 60_000);
