// Issue 13, "Stack traces" and "Data loss" of `run --out` / `compile --out`: every
// file-system error is a P0505 diagnostic with exit 1, nothing is left behind, symlinks
// are written through, non-regular files are never replaced, signals clean up.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputTarget } from '../../src/cli/output-file.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { projc, projcWithFileLimit, scratch } from './helpers.ts';

const CE = 'examples/cross_entropy.proj';
const RUN = ['run', CE, '--dims', 'N=4,H=4,V=8', '--backend', 'cpu'];
const fresh = () => mkdtempSync(join(scratch, 'out-'));

/** The P0505 failure: exit 1, a diagnostic, no stack trace. */
function expectP0505(r: { code: number; err: string }, text: string): void {
  expect(r.err).toContain(`error[P0505]: ${text}`);
  expect(r.err).not.toMatch(/\n\s+at |P0901/);
  expect(r.code).toBe(1);
}

describe('Stack traces: run --out into a missing dir, a directory, an empty path', () => {
  it('a missing directory', async () => {
    const d = fresh();
    expectP0505(
      await projc(...RUN, '--out', join(d, 'no', 'x.st')),
      `--out ${join(d, 'no', 'x.st')}: directory ${join(d, 'no')} does not exist`,
    );
    expect(readdirSync(d)).toEqual([]);
  });

  it('a directory', async () => {
    const d = fresh();
    expectP0505(await projc(...RUN, '--out', d), `--out ${d}: is a directory`);
    expect(statSync(d).isDirectory()).toBe(true);
  });

  it("''", async () => {
    expectP0505(await projc(...RUN, '--out', ''), '--out needs a path, got an empty string');
  });
});

describe('Stack traces: a full disk leaves no out.tmp-PID litter', () => {
  // A file-size limit makes the write fail part-way (EFBIG), as a full disk does (ENOSPC).
  it('run --out fails with P0505, keeps the old file and leaves no temporary file', () => {
    const d = fresh();
    const out = join(d, 'out.st');
    writeFileSync(out, 'old');
    const r = projcWithFileLimit(8, [
      'run',
      CE,
      '--dims',
      'N=512,H=64,V=8',
      '--backend',
      'cpu',
      '--grad',
      'X,W',
      '--out',
      out,
    ]);
    expect(r.stderr).toContain(`error[P0505]: --out ${out}: cannot write it: file too large`);
    expect(r.status).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('old');
    expect(readdirSync(d)).toEqual(['out.st']);
  }, 30_000);

  it('compile --out removes the directory it made', () => {
    const d = fresh();
    const r = projcWithFileLimit(4, ['compile', CE, '--grad', 'X,W', '--out', `${d}/new/dir`]);
    expect(r.stderr).toContain('error[P0505]:');
    expect(r.stderr).toContain('file too large');
    expect(r.status).toBe(1);
    expect(readdirSync(d)).toEqual([]);
  }, 30_000);
});

describe('Stack traces: compile --out onto an existing file (EEXIST)', () => {
  it('is a diagnostic, and the file is kept', async () => {
    const d = fresh();
    const f = join(d, 'file');
    writeFileSync(f, 'mine');
    expectP0505(
      await projc('compile', CE, '--out', f),
      `--out ${f}: it exists and is not a directory`,
    );
    expect(readFileSync(f, 'utf8')).toBe('mine');
    expectP0505(await projc('compile', CE, '--out', ''), '--out needs a directory path');
  });

  it('still writes into a new or an existing directory', async () => {
    const d = fresh();
    expect((await projc('compile', CE, '--out', join(d, 'a', 'b'))).code).toBe(0);
    expect(readdirSync(join(d, 'a', 'b'))).toContain('manifest.json');
    const again = await projc('compile', CE, '--out', join(d, 'a', 'b'));
    expect(again.code).toBe(0);
    expect(readdirSync(join(d, 'a', 'b')).filter((f) => f.includes('projc-tmp'))).toEqual([]);
  });
});

describe('Data loss: --out renames its temp file over whatever is at the path', () => {
  it('writes through a symlink: the target is replaced, the link kept', async () => {
    const d = fresh();
    writeFileSync(join(d, 'real.st'), 'old');
    symlinkSync('real.st', join(d, 'link.st'));
    const r = await projc(...RUN, '--out', join(d, 'link.st'));
    expect(r.code).toBe(0);
    expect(lstatSync(join(d, 'link.st')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(d, 'link.st'))).toBe('real.st');
    const st = readSafetensors(readFileSync(join(d, 'real.st')), 'real.st');
    expect([...st.tensors.keys()]).toEqual(['out']);
    expect(readdirSync(d).sort()).toEqual(['link.st', 'real.st']);
  });

  it('refuses a dangling symlink', async () => {
    const d = fresh();
    symlinkSync('nowhere/x.st', join(d, 'link.st'));
    expectP0505(
      await projc(...RUN, '--out', join(d, 'link.st')),
      `--out ${join(d, 'link.st')}: cannot follow the symlink`,
    );
  });

  it('never replaces a device node or a fifo', async () => {
    // /dev/null is only looked at, through the check alone, which writes nothing: a CLI run
    // onto it with a regressed check would replace it (as root), as the old code did.
    const before = statSync('/dev/null');
    expect(() => outputTarget('--out', '/dev/null')).toThrow(
      '--out /dev/null: is a device; --out writes a regular file',
    );
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.ino).toBe(before.ino);
    // The whole command on a fifo, which a regression could only turn into a file here.
    const d = fresh();
    const fifo = join(d, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expectP0505(await projc(...RUN, '--out', fifo), `--out ${fifo}: is a fifo`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // Checked before the run, not after it: the command fails at once.
    expect(readdirSync(d)).toEqual(['fifo']);
  });

  it('removes the temporary file on SIGTERM and dies of the signal', () => {
    const d = fresh();
    const out = join(d, 'out.st');
    const script = `
      const { writeOutputFile } = await import('./src/cli/output-file.ts');
      const p = writeOutputFile('--out', process.argv[1], new Uint8Array(256 << 20));
      setImmediate(() => process.kill(process.pid, 'SIGTERM'));
      await p;
      console.log('finished without the signal');`;
    const r = spawnSync('node', ['--import', 'tsx', '-e', script, out], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGTERM');
    expect(r.stdout).toBe('');
    expect(readdirSync(d)).toEqual([]);
  }, 30_000);

  it('removes a stale temporary file of a killed (SIGKILL) process at the next write', async () => {
    const d = fresh();
    // No process has a pid this large (Linux caps pids at 2^22).
    writeFileSync(join(d, '.out.st.projc-tmp-99999999'), 'partial');
    writeFileSync(join(d, '.other.st.projc-tmp-99999999'), 'not ours');
    expect((await projc(...RUN, '--out', join(d, 'out.st'))).code).toBe(0);
    expect(readdirSync(d).sort()).toEqual(['.other.st.projc-tmp-99999999', 'out.st']);
    expect(existsSync(join(d, 'out.st'))).toBe(true);
  });

  it('keeps the mode of a replaced file', async () => {
    const d = fresh();
    const out = join(d, 'out.st');
    writeFileSync(out, 'old', { mode: 0o640 });
    expect((await projc(...RUN, '--out', out)).code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o640);
  });
});
