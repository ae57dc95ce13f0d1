import { InternalError, UserError } from '../diagnostics/diagnostic.ts';
import { BufferLimitError } from '../runtime/buffers.ts';
import { registerDawn } from '../runtime/dawn.ts';
import { DeviceLostError, DeviceUnavailableError } from '../runtime/device.ts';
import { endQuietlyWhenStdoutCloses, printDiagnostics, processIo, type Io } from './io.ts';
import { parseCli } from './parse-cli.ts';
import { USAGE, UsageError } from './usage.ts';

/**
 * The `projc` command. Returns the exit code: 0 success, 1 diagnosed error, 2 usage,
 * 3 internal error. Never lets a stack trace reach the user for their own mistakes.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  registerDawn(); // Node: devices come from Dawn, loaded only when a command needs one
  if (io === processIo) endQuietlyWhenStdoutCloses();
  try {
    const args = parseCli(argv);
    const [command, ...files] = args.positionals;
    if (args.values.help || command === 'help') {
      io.out(USAGE);
      return 0;
    }
    // Each command's modules load on demand: `check` starts without the runtime or bench.
    switch (command) {
      case 'check':
        return (await import('./check.ts')).checkCommand(files, io);
      case 'ir':
        return (await import('./ir-command.ts')).irCommand(files, args.values, io);
      case 'run':
        return await (await import('./run-command.ts')).runCommand(files, args.values, io);
      case 'plan':
        return (await import('./plan-command.ts')).planCommand(files, args.values, io);
      case 'compile':
        return await (await import('./compile-command.ts')).compileCommand(files, args.values, io);
      case 'bench':
        return await (await import('./bench-command.ts')).benchCommand(files, args.values, io);
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command \`${command}\``);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (
      e instanceof DeviceUnavailableError ||
      e instanceof DeviceLostError ||
      e instanceof BufferLimitError
    ) {
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    if (e instanceof UserError) {
      printDiagnostics(io, e.diagnostics);
      return 1;
    }
    // Host memory ran out although every tensor passed checkHostSizes (several large ones
    // at once): a resource limit, not a bug.
    if (e instanceof RangeError && /Array buffer allocation failed/.test(e.message)) {
      io.err(
        `error[P0506]: out of host memory: ${e.message}\n  = help: use smaller dims, or the webgpu backend\n`,
      );
      return 1;
    }
    const what =
      e instanceof InternalError
        ? e.message
        : e instanceof Error
          ? (e.stack ?? e.message)
          : String(e);
    io.err(
      `error[P0901]: internal compiler error: ${what}\n  = note: this is a bug in projc, not in your program; please report it\n`,
    );
    return 3;
  }
}
