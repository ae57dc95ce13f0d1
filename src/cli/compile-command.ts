import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generateProgram } from '../../codegen/program.ts';
import { manifest } from '../api/manifest.ts';
import { compileFile } from '../frontend/compile.ts';
import { planKernel } from '../plan/build-plan.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import { gradList, planningCotangents, type CliValues } from './options.ts';
import { selectKernel } from './select-kernel.ts';
import { UsageError } from './usage.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { reason, writeOutputFiles } from './output-file.ts';

/** `projc compile FILE [--kernel K] [--grad X,W] --out DIR`: the WGSL modules and manifest.json. */
export async function compileCommand(
  files: readonly string[],
  v: CliValues,
  io: Io,
): Promise<number> {
  if (files.length !== 1) throw new UsageError('compile needs exactly one FILE');
  if (v.out === undefined) throw new UsageError('compile needs --out DIR');
  const outDir = v.out;
  checkOutDir(outDir);
  const path = files[0] ?? '';
  const c = compileFile(readSource(path));
  if (printDiagnostics(io, c.diagnostics)) return 1;
  const fn = selectKernel(c, path, v.kernel);
  const planned = planKernel({
    kernel: fn,
    grad: gradList(v.grad),
    cotangents: planningCotangents(fn, v.cotangent),
  });
  const program = generateProgram(planned.fn, planned.plan);
  const files_ = new Map<string, string>();
  for (const m of program.modules) files_.set(`${m.name}.wgsl`, m.code);
  // The products' modules, tiled for WebGPU's guaranteed limits (the program's default).
  for (const m of program.matmul.variants) files_.set(`${m.name}.wgsl`, m.code);
  files_.set('manifest.json', JSON.stringify(manifest(program), null, 2) + '\n');
  await writeAll(outDir, files_);
  const written = [...files_.keys()];
  io.err(`wrote ${written.length} files to ${outDir}: ${written.join(', ')}\n`);
  return 0;
}

function dirError(message: string): never {
  throw new UserError({ severity: 'error', code: 'P0505', message });
}

/** `--out DIR` must be a directory or not exist yet (it is then created). */
function checkOutDir(dir: string): void {
  if (dir === '') dirError('--out needs a directory path, got an empty string');
  try {
    if (!statSync(dir).isDirectory())
      dirError(`--out ${dir}: it exists and is not a directory; compile writes a directory`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // Absent: created when the files are written.
  }
}

/** Writes every file into `dir` (made if absent) all or nothing; a dir made for a failed write is removed. */
async function writeAll(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  let made: string | undefined;
  try {
    made = mkdirSync(dir, { recursive: true });
  } catch (e) {
    dirError(`--out ${dir}: cannot create the directory: ${reason(e)}`);
  }
  try {
    await writeOutputFiles(
      '--out',
      new Map([...files].map(([name, text]) => [join(dir, name), text])),
    );
  } catch (e) {
    if (made !== undefined) rmSync(made, { recursive: true, force: true });
    throw e;
  }
}
