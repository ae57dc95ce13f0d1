import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { matmulWgsl, defaultMatmulTiles, type MatmulOperandDtype } from '../../codegen/matmul.ts';
import { generateProgram } from '../../codegen/program.ts';
import { manifest } from '../api/manifest.ts';
import { compileFile } from '../frontend/compile.ts';
import { planKernel } from '../plan/build-plan.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import { gradList, planningCotangents, type CliValues } from './options.ts';
import { selectKernel } from './select-kernel.ts';
import { UsageError } from './usage.ts';

/** Tiles written by `projc compile` for a device with WebGPU's default limits. */
const PORTABLE_LIMITS = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupStorageSize: 16384,
};

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
  const tiles = defaultMatmulTiles(PORTABLE_LIMITS);
  const variants = new Set<string>();
  for (const sw of program.sweeps)
    for (const s of sw.chunk) {
      if (s.kind !== 'matmul') continue;
      const a = operand(s.spec.a.dtype);
      const b = operand(s.spec.b.dtype);
      const name = `matmul_${a}_${b}_${s.spec.accumulate ? 'acc' : 'set'}`;
      if (variants.has(name)) continue;
      variants.add(name);
      writeFileSync(
        join(v.out, `${name}.wgsl`),
        matmulWgsl({ aDtype: a, bDtype: b, accumulate: s.spec.accumulate, tiles }),
      );
      written.push(`${name}.wgsl`);
    }
  writeFileSync(
    join(v.out, 'manifest.json'),
    JSON.stringify({ ...manifest(program), matmulTiles: tiles }, null, 2) + '\n',
  );
  written.push('manifest.json');
  io.err(`wrote ${written.length} files to ${v.out}: ${written.join(', ')}\n`);
  return 0;
}

function operand(d: string): MatmulOperandDtype {
  return d === 'bf16' || d === 'f16' ? d : 'f32';
}
