import {
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../diagnostics/diagnostic.ts';

/**
 * Output files (`run --out`, `compile --out`) are written whole or not at all:
 *
 * - each goes to a temporary file in the directory of its target, named
 *   `.NAME.projc-tmp-PID`, then is renamed over the target, so a failed or interrupted run
 *   never leaves a partial output;
 * - a symlink is written through: its target is replaced and the link kept;
 * - anything at the path that is not a regular file (a directory, a device such as
 *   /dev/null, a fifo, a socket) is refused, never replaced;
 * - every failure is a P0505 diagnostic, and the temporary files are removed;
 * - SIGINT, SIGTERM and SIGHUP during the write remove the temporary files, then end the
 *   process by the same signal. SIGKILL cannot be handled: it may leave a temporary file,
 *   which the next write to the same target removes once its process is gone.
 */

const TMP_MARK = '.projc-tmp-';

/** The temporary files in flight, removed on a signal. */
const inFlight = new Set<string>();

function fail(message: string, notes: string[] = []): never {
  throw new UserError({ severity: 'error', code: 'P0505', message, notes });
}

/** An fs error's message without its `CODE: ` prefix and path suffix, its code after it. */
export function reason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const msg = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '[^']*'( -> '[^']*')?$/, '');
  return code && !msg.startsWith(code) ? `${msg} (${code})` : msg;
}

function lstat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFIFO()) return 'a fifo';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Where the bytes for `path` go: the path itself, or the file a symlink at it points to
 * (links followed to the end). Checks that the target is a regular file or absent and
 * that its directory exists.
 */
export function outputTarget(flag: string, path: string): string {
  if (path === '') fail(`${flag} needs a path, got an empty string`);
  let target = path;
  const link = lstat(path);
  if (link?.isSymbolicLink()) {
    try {
      target = realpathSync(path);
    } catch (e) {
      fail(`${flag} ${path}: cannot follow the symlink: ${reason(e)}`);
    }
  }
  const at = lstat(target);
  if (at && !at.isFile())
    fail(
      `${flag} ${path}: ${target === path ? '' : `${target} `}is ${kindOf(at)}; ${flag} writes a regular file`,
      ['projc never replaces a directory, a device or a fifo'],
    );
  const dir = dirname(target);
  let d: Stats;
  try {
    d = statSync(dir);
  } catch (e) {
    fail(`${flag} ${path}: directory ${dir} does not exist`, [reason(e)]);
  }
  if (!d.isDirectory()) fail(`${flag} ${path}: ${dir} is not a directory`);
  return target;
}

/** Removes temporary files left in `dir` for `name` by processes that no longer exist. */
function removeStale(dir: string, name: string): void {
  const prefix = `.${name}${TMP_MARK}`;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length));
    if (!Number.isSafeInteger(pid) || pid === process.pid || alive(pid)) continue;
    try {
      unlinkSync(join(dir, e));
    } catch {
      // Another writer removed it first, or it is not ours to remove: leave it.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return !(e instanceof Error && 'code' in e && e.code === 'ESRCH');
  }
}

function removeQuietly(path: string): void {
  inFlight.delete(path);
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** On a signal: remove the temporary files, then die of the same signal. */
function onSignal(sig: NodeJS.Signals): void {
  for (const p of [...inFlight]) removeQuietly(p);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

function guardSignals(on: boolean): void {
  for (const s of SIGNALS) {
    process.removeListener(s, onSignal);
    if (on) process.on(s, onSignal);
  }
}

/** Writes `bytes` to a fresh temporary file next to `target`; returns its path. */
async function writeTemp(flag: string, path: string, target: string, bytes: Uint8Array) {
  const dir = dirname(target);
  const name = basename(target);
  removeStale(dir, name);
  const tmp = join(dir, `.${name}${TMP_MARK}${process.pid}`);
  removeQuietly(tmp);
  inFlight.add(tmp);
  let fd: number | undefined;
  try {
    // Exclusive: never write through something another process put at the temporary name.
    fd = openSync(tmp, 'wx', (lstat(target)?.mode ?? 0o666) & 0o7777);
    // In pieces, yielding between them so a signal can be handled mid-way.
    const piece = 1 << 22;
    for (let off = 0; off < bytes.length;) {
      off += writeSync(fd, bytes, off, Math.min(piece, bytes.length - off));
      if (off < bytes.length) await new Promise((r) => setImmediate(r));
    }
    closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    removeQuietly(tmp);
    fail(`${flag} ${path}: cannot write ${target === path ? 'it' : target}: ${reason(e)}`);
  }
  return tmp;
}

/**
 * Writes a set of files (path → bytes) so that either all of them are replaced or none is:
 * every temporary file is written before the first rename.
 */
export async function writeOutputFiles(
  flag: string,
  files: ReadonlyMap<string, Uint8Array | string>,
): Promise<void> {
  guardSignals(true);
  const temps: [string, string][] = [];
  try {
    const targets = [...files.keys()].map((p) => [p, outputTarget(flag, p)] as const);
    for (const [p, target] of targets) {
      const data = files.get(p) ?? '';
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      temps.push([await writeTemp(flag, p, target, bytes), target]);
    }
    for (const [tmp, target] of temps) {
      try {
        renameSync(tmp, target);
        inFlight.delete(tmp);
      } catch (e) {
        fail(`${flag} ${target}: cannot replace it: ${reason(e)}`);
      }
    }
  } finally {
    for (const [tmp] of temps) if (inFlight.has(tmp)) removeQuietly(tmp);
    if (inFlight.size === 0) guardSignals(false);
  }
}

/** One output file, written whole or not at all (see the top of this file). */
export async function writeOutputFile(
  flag: string,
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  await writeOutputFiles(flag, new Map([[path, bytes]]));
}
