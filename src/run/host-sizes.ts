import { totalmem } from 'node:os';
import { UserError } from '../diagnostics/diagnostic.ts';
import { typeText } from '../ir/print.ts';
import type { Dim, IrFunction } from '../ir/types.ts';

/** The most elements a host typed array holds (V8 on 64-bit: 2^32). */
export const MAX_HOST_ELEMENTS = 2 ** 32;

/**
 * Checks that the host arrays a run makes can exist: every tensor input (both backends hold
 * inputs as float64 on the host), and with `everyNode` (the CPU interpreter materializes
 * each value whole) every value of the kernel. Past a typed array's length, or past this
 * machine's memory, it is a P0506 naming the tensor and its dims, where the allocation
 * would otherwise fail as `Invalid typed array length`.
 */
export function checkHostSizes(
  fn: IrFunction,
  sizes: ReadonlyMap<Dim, number>,
  backend: 'cpu' | 'webgpu',
): void {
  const memory = totalmem();
  const check = (what: string, dims: readonly Dim[], type: string) => {
    const numel = dims.reduce((s, d) => s * (sizes.get(d) ?? 1), 1);
    const bytes = numel * 8;
    if (numel <= MAX_HOST_ELEMENTS && bytes <= memory) return;
    const shape = dims.map((d) => `${d}=${sizes.get(d) ?? '?'}`).join(', ');
    throw new UserError({
      severity: 'error',
      code: 'P0506',
      message: `${what} ${type} would have ${numel} elements (${shape}): more than ${
        numel > MAX_HOST_ELEMENTS
          ? `a host array holds (${MAX_HOST_ELEMENTS})`
          : `this machine's memory holds as float64 (${memory} bytes)`
      }`,
      notes: [
        backend === 'cpu'
          ? 'the cpu backend holds every value of the kernel whole, as float64'
          : 'inputs are held on the host as float64 before they are uploaded',
      ],
      help: ['use smaller dims'],
    });
  };
  for (const p of fn.params) if (p.dims.length) check(`input \`${p.name}\``, p.dims, typeText(p));
  if (backend !== 'cpu') return;
  for (const n of fn.nodes) {
    if (n.dims.length === 0 || n.op === 'param') continue;
    const label = fn.labels?.get(n.id);
    check(
      label ? `value \`${label}\` (%${n.id} ${n.op})` : `value %${n.id} ${n.op}`,
      n.dims,
      typeText(n),
    );
  }
}
