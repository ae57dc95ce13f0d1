import { readFileSync } from 'node:fs';
import type { Cotangent } from '../autodiff/differentiate.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { compileFile } from '../frontend/compile.ts';
import { bindDims } from '../interp/bind.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { completeOptional } from '../interp/optional.ts';
import { typeText } from '../ir/print.ts';
import type { IrFunction } from '../ir/types.ts';
import { isFloat } from '../ir/types.ts';
import { decodeToF64, readSafetensors, type SafetensorsFile } from '../io/safetensors.ts';
import { checkHostSizes } from '../run/host-sizes.ts';
import { loadInputs } from '../run/inputs.ts';
import { randomInputs } from '../run/random-inputs.ts';
import { runCpu, type RunResult } from '../run/run-cpu.ts';
import { rowSetsOf } from '../plan/row-sets.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import { gradList, parseAssignment, parseDims, type CliValues } from './options.ts';
import { formatRun, runJson, type RunMeta } from './run-report.ts';
import { parseBytes, parseChunkRows, parseVocabTile } from './bytes.ts';
import { runWebgpu } from './run-webgpu.ts';
import { parseMatmulTiles } from './matmul-tiles.ts';
import { resultsFile } from './run-output.ts';
import { outputTarget, writeOutputFile } from './output-file.ts';
import { selectKernel } from './select-kernel.ts';
import { UsageError } from './usage.ts';

/** `projc run`: forward (and backward) on the chosen backend, printed or written out. */
export async function runCommand(files: readonly string[], v: CliValues, io: Io): Promise<number> {
  if (files.length !== 1) throw new UsageError('run needs exactly one FILE');
  const path = files[0] ?? '';
  const backend = v.backend ?? 'webgpu';
  if (backend !== 'cpu' && backend !== 'webgpu')
    throw new UsageError(`--backend takes webgpu or cpu, not \`${backend}\``);
  const chunkRows = parseChunkRows(v['chunk-rows']);
  const memoryBudget =
    v['memory-budget'] === undefined
      ? undefined
      : parseBytes('--memory-budget', v['memory-budget']);
  if (v.inputs !== undefined && v.dims !== undefined)
    throw new UsageError('give --inputs or --dims, not both');
  if (v.inputs === undefined && v.dims === undefined)
    throw new UsageError(
      'run needs --inputs IN.safetensors, or --dims N=..,H=.. for seeded random inputs',
    );
  // A path that cannot be written fails now, not after the run.
  if (v.out !== undefined) outputTarget('--out', v.out);
  const c = compileFile(readSource(path));
  if (printDiagnostics(io, c.diagnostics)) return 1;
  const fn = selectKernel(c, path, v.kernel);
  const grad = gradList(v.grad);
  checkGrads(fn, grad);

  const file = v.inputs !== undefined ? readInputs(v.inputs) : undefined;
  const sets = new Map((v.set ?? []).map((s) => parseAssignment('--set', s)));
  const cot = parseCotangents(fn, v.cotangent ?? [], file, v.inputs ?? '');
  const explicit = v.dims !== undefined ? parseDims(v.dims) : new Map<string, number>();
  const random =
    v.dims !== undefined ? randomFor(fn, explicit, v.seed, backend) : new Map<string, Tensor>();
  const loaded = loadInputs(
    fn,
    file,
    v.inputs ?? '',
    sets,
    new Set(cot.tensorNames.values()),
    random,
  );
  printDiagnostics(io, loaded.warnings);
  const sizes = bindDims(fn, loaded.shapes, explicit);
  checkHostSizes(fn, sizes, backend);
  const inputs = loaded.tensors;
  completeOptional(fn, inputs, sizes, grad);
  for (const [result, tensorName] of cot.tensorNames) {
    const t = fileTensor(file, tensorName, v.inputs ?? '', fn, result, sizes);
    inputs.set(`cotangent.${result}`, t);
  }

  // Checked whatever the backend, like every other flag (the cpu backend has no matmul tiles).
  const matmulTiles = parseMatmulTiles(v['matmul-tiles'], 'portable');
  if (grad.length) warnZeroCotangents(fn, cot.map, io);
  let r: RunResult;
  let meta: RunMeta;
  if (backend === 'cpu') {
    if (chunkRows !== undefined || memoryBudget !== undefined)
      printDiagnostics(io, [
        {
          severity: 'warning',
          code: 'P0405',
          message: `${chunkRows !== undefined ? '--chunk-rows' : '--memory-budget'} is ignored by the cpu backend: it holds every value whole, in one chunk`,
          help: [
            'chunking applies to --backend webgpu; its results do not depend on the chunk size',
          ],
        },
      ]);
    if (v.profile)
      printDiagnostics(io, [
        {
          severity: 'warning',
          code: 'P0405',
          message:
            '--profile is ignored by the cpu backend: it times the steps of the webgpu schedule',
        },
      ]);
    r = runCpu({ fn, inputs, sizes, grad, cotangents: cot.map });
    // Every row of every row set, in one chunk.
    const count = (set: readonly string[]) => set.reduce((p, d) => p * (sizes.get(d) ?? 1), 1);
    const sets = rowSetsOf(fn);
    const rows = sets.length ? sets.reduce((s, set) => s + count(set), 0) : 1;
    meta = { backend, chunkRows: rows, chunks: 1, passes: 1 };
  } else {
    const vocabTile = parseVocabTile(v['vocab-tile']);
    const g = await runWebgpu(
      fn,
      inputs,
      sizes,
      grad,
      cot.map,
      {
        ...{ chunkRows, memoryBudget, vocabTile, profile: v.profile },
        matmulTiles,
      },
      io,
    );
    r = g.result;
    meta = g.meta;
  }
  if (v.out !== undefined) await writeOutputFile('--out', v.out, resultsFile(fn, r));
  if (v.json) io.out(JSON.stringify(runJson(fn, r, meta)) + '\n');
  else io.out(formatRun(fn, r, sizes, meta, v.out));
  return 0;
}

/** Seeded random tensors for `--dims`, which must size every dim of the kernel. */
function randomFor(
  fn: IrFunction,
  sizes: ReadonlyMap<string, number>,
  seedText: string | undefined,
  backend: 'cpu' | 'webgpu',
): Map<string, Tensor> {
  const missing = fn.dims.filter((d) => !sizes.has(d));
  if (missing.length)
    throw new UsageError(
      `--dims must size every dim of \`${fn.name}\`; missing ${missing.join(', ')} (e.g. --dims ${fn.dims.map((d) => `${d}=8`).join(',')})`,
    );
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isSafeInteger(seed))
    throw new UsageError(`--seed must be an integer, got \`${seedText}\``);
  checkHostSizes(fn, sizes, backend);
  return randomInputs(fn, sizes, seed);
}

/** Spec §7 gives results other than a lone scalar a zero cotangent: say so when that zeroes everything. */
function warnZeroCotangents(fn: IrFunction, cot: ReadonlyMap<string, Cotangent>, io: Io): void {
  const lone = fn.results.length === 1 && fn.nodes[fn.results[0]?.node ?? -1]?.dims.length === 0;
  const live = [...cot.values()].some(
    (c) => c.kind === 'tensor' || (c.kind === 'const' && c.value !== 0),
  );
  if (lone || live) return;
  printDiagnostics(io, [
    {
      severity: 'warning',
      code: 'P0301',
      message: `every result of \`${fn.name}\` has cotangent 0, so every gradient is 0`,
      notes: ['only a kernel with a single scalar result has the default cotangent 1 (spec §7)'],
      help: [`pass one, e.g. --cotangent ${fn.results[0]?.name ?? 'out'}=1`],
    },
  ]);
}

function checkGrads(fn: IrFunction, grad: readonly string[]): void {
  for (const g of grad) {
    const p = fn.params.find((q) => q.name === g);
    if (!p)
      throw new UserError({
        severity: 'error',
        code: 'P0301',
        message: `--grad ${g}: \`${fn.name}\` has no parameter \`${g}\``,
        notes: [`parameters: ${fn.params.map((q) => q.name).join(', ')}`],
      });
    if (!isFloat(p.dtype))
      throw new UserError({
        severity: 'error',
        code: 'P0301',
        message: `--grad ${g}: parameter \`${g}\` is ${typeText(p)}; only floating parameters have gradients`,
      });
  }
}

function readInputs(path: string): SafetensorsFile {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return readSafetensors(buf, path);
}

/** `--cotangent NAME=V`: a number, or the name of a tensor in the inputs file. */
function parseCotangents(
  fn: IrFunction,
  specs: readonly string[],
  file: SafetensorsFile | undefined,
  path: string,
): { map: Map<string, Cotangent>; tensorNames: Map<string, string> } {
  const map = new Map<string, Cotangent>();
  const tensorNames = new Map<string, string>();
  for (const s of specs) {
    const [name, value] = parseAssignment('--cotangent', s);
    if (!fn.results.some((r) => r.name === name))
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `--cotangent ${name}: \`${fn.name}\` has no result \`${name}\``,
        notes: [`results: ${fn.results.map((r) => r.name).join(', ')}`],
      });
    const num = /^[+-]?inf$/i.test(value)
      ? value.startsWith('-')
        ? -Infinity
        : Infinity
      : Number(value);
    if (value !== '' && !Number.isNaN(num)) map.set(name, { kind: 'const', value: num });
    else {
      if (!file?.tensors.has(value))
        throw new UserError({
          severity: 'error',
          code: 'P0401',
          message: `--cotangent ${name}=${value}: \`${value}\` is neither a number nor a tensor in ${path || 'the inputs (none given)'}`,
        });
      map.set(name, { kind: 'tensor' });
      tensorNames.set(name, value);
    }
  }
  return { map, tensorNames };
}

/** A cotangent tensor from the inputs file, checked against its result's shape. */
function fileTensor(
  file: SafetensorsFile | undefined,
  name: string,
  path: string,
  fn: IrFunction,
  result: string,
  sizes: ReadonlyMap<string, number>,
): Tensor {
  const st = file?.tensors.get(name);
  const node = fn.nodes[fn.results.find((r) => r.name === result)?.node ?? -1];
  if (!st || !node) throw new UsageError(`missing cotangent tensor ${name}`);
  const want = node.dims.map((d) => sizes.get(d) ?? 0);
  if (st.shape.join() !== want.join())
    throw new UserError({
      severity: 'error',
      code: 'P0408',
      message: `cotangent \`${name}\` for result \`${result}\` has shape [${st.shape.join(', ')}], but \`${result}\` is ${typeText(node)} = [${want.join(', ')}]`,
    });
  if (!['F32', 'F64', 'BF16', 'F16'].includes(st.dtype))
    throw new UserError({
      severity: 'error',
      code: 'P0402',
      message: `cotangent \`${name}\` is ${st.dtype}; a cotangent must be a floating tensor`,
    });
  return { dtype: 'f32', dims: node.dims, shape: st.shape, data: decodeToF64(st, path) };
}
