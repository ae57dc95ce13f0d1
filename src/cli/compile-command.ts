import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateProgram } from '../../codegen/program.ts';
import { manifest } from '../api/manifest.ts';
import { compileFile } from '../frontend/compile.ts';
import { planKernel } from '../plan/build-plan.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import { gradList, planningCotangents, type CliValues } from './options.ts';
import { selectKernel } from './select-kernel.ts';
import { UsageError } from './usage.ts';

/** `projc compile FILE [--kernel K] [--grad X,W] --out DIR`: the WGSL modules and manifest.json. */
export function compileCommand(files: readonly string[], v: CliValues, io: Io): number {
  if (files.length !== 1) throw new UsageError('compile needs exactly one FILE');
  if (v.out === undefined) throw new UsageError('compile needs --out DIR');
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
  mkdirSync(v.out, { recursive: true });
  const written: string[] = [];
  for (const m of program.modules) {
    writeFileSync(join(v.out, `${m.name}.wgsl`), m.code);
    written.push(`${m.name}.wgsl`);
  }
  // The products' modules, tiled for WebGPU's guaranteed limits (the program's default).
  for (const m of program.matmul.variants) {
    writeFileSync(join(v.out, `${m.name}.wgsl`), m.code);
    written.push(`${m.name}.wgsl`);
  }
  writeFileSync(join(v.out, 'manifest.json'), JSON.stringify(manifest(program), null, 2) + '\n');
  written.push('manifest.json');
  io.err(`wrote ${written.length} files to ${v.out}: ${written.join(', ')}\n`);
  return 0;
}
