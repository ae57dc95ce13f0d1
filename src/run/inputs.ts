import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import { scalarTensor, type Tensor } from '../tensor/tensor.ts';
import { typeText } from '../ir/print.ts';
import type { DType, IrFunction, IrParam } from '../ir/types.ts';
import {
  decodeToF64,
  type SafetensorsFile,
  type StDtype,
  type StTensor,
} from '../io/safetensors.ts';

/** The safetensors dtypes a parameter of each declared dtype accepts (spec §9). */
const ACCEPTS: Record<DType, readonly StDtype[]> = {
  f32: ['F32'],
  bf16: ['BF16'],
  f16: ['F16'],
  // PyTorch indices are int64: accepted and range-checked into i32.
  i32: ['I32', 'I64'],
  bool: ['BOOL'],
};

export interface LoadedInputs {
  /** Every parameter with a value, as float64 tensors (scalars 0-dim). */
  readonly tensors: Map<string, Tensor>;
  /** Shapes of the tensor parameters, for binding dims. */
  readonly shapes: Map<string, readonly number[]>;
  /** Warnings (unused tensors). */
  readonly warnings: Diagnostic[];
}

function fail(
  code: Diagnostic['code'],
  message: string,
  help: string[] = [],
  notes: string[] = [],
): never {
  throw new UserError({ severity: 'error', code, message, help, notes });
}

/**
 * Reads the parameters of `fn` from a safetensors file, `--set` values and defaults
 * (in that order of precedence for scalars: `--set`, a 0-dim tensor in the file, the
 * default). Checks each tensor's dtype against the declaration; `reserved` names (tensors
 * used as cotangents) are not reported as unused; `provided` tensors (e.g. random inputs)
 * stand in for the file's.
 */
export function loadInputs(
  fn: IrFunction,
  file: SafetensorsFile | undefined,
  path: string,
  sets: ReadonlyMap<string, string>,
  reserved: ReadonlySet<string> = new Set(),
  provided: ReadonlyMap<string, Tensor> = new Map(),
): LoadedInputs {
  const tensors = new Map<string, Tensor>();
  const shapes = new Map<string, readonly number[]>();
  for (const name of sets.keys())
    if (!fn.params.some((p) => p.name === name && p.dims.length === 0))
      fail(
        'P0405',
        `--set ${name}: \`${fn.name}\` has no scalar parameter \`${name}\``,
        [],
        [
          `scalar parameters: ${
            fn.params
              .filter((p) => !p.dims.length)
              .map((p) => p.name)
              .join(', ') || 'none'
          }`,
        ],
      );
  for (const p of fn.params) {
    const set = sets.get(p.name);
    const st = file?.tensors.get(p.name);
    if (p.dims.length === 0) {
      const v =
        set !== undefined ? parseScalar(p, set) : st ? scalarFromFile(p, st, path) : p.default;
      if (v === undefined)
        fail('P0401', `no value for scalar parameter \`${p.name}: ${p.dtype}\``, [
          `pass it with --set ${p.name}=VALUE or as a 0-dim tensor in the inputs file`,
        ]);
      tensors.set(p.name, scalarTensor(p.dtype, v));
      continue;
    }
    const given = provided.get(p.name);
    if (given) {
      shapes.set(p.name, given.shape);
      tensors.set(p.name, given);
      continue;
    }
    if (!st && p.optional) continue; // absent: completeOptional makes it zeros
    if (!st)
      fail(
        'P0401',
        `the inputs file ${path} has no tensor \`${p.name}\` (declared ${typeText(p)})`,
        [],
        [`tensors in the file: ${[...(file?.tensors.keys() ?? [])].join(', ') || 'none'}`],
      );
    checkDtype(p, st, path);
    shapes.set(p.name, st.shape);
    tensors.set(p.name, {
      dtype: p.dtype,
      dims: p.dims,
      shape: st.shape,
      data: decodeToF64(st, path),
    });
  }
  const used = new Set([...fn.params.map((p) => p.name), ...reserved]);
  const unused = [...(file?.tensors.keys() ?? [])].filter((n) => !used.has(n));
  const warnings: Diagnostic[] = unused.length
    ? [
        {
          severity: 'warning',
          code: 'P0406',
          message: `${unused.length} tensor${unused.length === 1 ? '' : 's'} in ${path} not used by \`${fn.name}\`: ${unused.join(', ')}`,
        },
      ]
    : [];
  return { tensors, shapes, warnings };
}

function checkDtype(p: IrParam, st: StTensor, path: string): void {
  if (ACCEPTS[p.dtype].includes(st.dtype)) return;
  fail(
    'P0402',
    `tensor \`${p.name}\` in ${path} is ${st.dtype}, but the parameter is declared ${typeText(p)}`,
    [
      `declare it as \`${p.name}: ${stToDeclared(st.dtype)}[${p.dims.join(', ')}]\`, or save it as ${ACCEPTS[p.dtype].join(' or ')}`,
    ],
  );
}

function stToDeclared(d: StDtype): string {
  const m: Partial<Record<StDtype, string>> = {
    F32: 'f32',
    BF16: 'bf16',
    F16: 'f16',
    I32: 'i32',
    I64: 'i32',
    BOOL: 'bool',
  };
  return m[d] ?? 'f32';
}

function scalarFromFile(p: IrParam, st: StTensor, path: string): number {
  if (st.shape.length !== 0)
    fail(
      'P0408',
      `scalar parameter \`${p.name}\` needs a 0-dim tensor, but ${path} holds shape [${st.shape.join(', ')}]`,
    );
  checkDtype(p, st, path);
  return decodeToF64(st, path)[0] ?? 0;
}

/** `--set` values: numbers for f32 (incl. `inf`, `-inf`, `nan`), integers for i32, true/false for bool. */
export function parseScalar(p: IrParam, text: string): number {
  if (p.dtype === 'bool') {
    if (text === 'true' || text === '1') return 1;
    if (text === 'false' || text === '0') return 0;
    fail('P0405', `--set ${p.name}: expected true or false, got \`${text}\``);
  }
  const v = /^[+-]?inf$/i.test(text)
    ? text.startsWith('-')
      ? -Infinity
      : Infinity
    : /^nan$/i.test(text)
      ? NaN
      : Number(text);
  if (text.trim() === '' || (Number.isNaN(v) && !/^nan$/i.test(text)))
    fail('P0405', `--set ${p.name}: \`${text}\` is not a number`);
  if (p.dtype === 'i32' && (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31))
    fail('P0407', `--set ${p.name}: ${text} is not an i32 (an integer in [-2^31, 2^31))`);
  return v;
}
