import type { Tensor } from '../tensor/tensor.ts';
import type { IrFunction } from '../ir/types.ts';
import {
  encodeFromNumbers,
  writeSafetensors,
  type StDtype,
  type StTensor,
} from '../io/safetensors.ts';
import type { RunResult } from '../run/run-cpu.ts';

function stDtype(t: Tensor): StDtype {
  if (t.dtype === 'i32') return 'I32';
  if (t.dtype === 'bool') return 'BOOL';
  return 'F32';
}

/**
 * The `--out` file (spec §9): each result by name (0-dim for scalars; floats as F32), and
 * each gradient as `grad.NAME` (F32).
 */
export function resultsFile(fn: IrFunction, r: RunResult): Uint8Array {
  const tensors: StTensor[] = [];
  for (const res of fn.results) {
    const t = r.outputs.get(res.name);
    if (t) tensors.push(encodeFromNumbers(t.data, stDtype(t), [...t.shape], res.name));
  }
  for (const [k, t] of r.grads)
    tensors.push(encodeFromNumbers(t.data, 'F32', [...t.shape], `grad.${k}`));
  return writeSafetensors(tensors, { producer: 'projc', kernel: fn.name });
}
