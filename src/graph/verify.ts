import { InternalError } from '../diagnostics/diagnostic.ts';
import { OPS } from '../ops/registry.ts';
import type { IrFunction } from '../ir/types.ts';

/**
 * Checks the invariants every pass must keep: ids are indices, inputs come earlier, arities
 * match the records, stored types equal the records' inference, params are declared.
 * Throws an InternalError naming the first broken node.
 */
export function verify(fn: IrFunction): void {
  const bad = (msg: string): never => {
    throw new InternalError(`IR verification of ${fn.name} failed: ${msg}`);
  };
  const declared = new Map(fn.params.map((p) => [p.name, p]));
  fn.nodes.forEach((n, i) => {
    if (n.id !== i) bad(`node at ${i} has id ${n.id}`);
    const rec = OPS[n.op];
    if (n.inputs.length !== rec.arity) bad(`%${i} ${n.op} has ${n.inputs.length} inputs`);
    for (const j of n.inputs) if (!(j >= 0 && j < i)) bad(`%${i} reads %${j}`);
    if (n.op === 'param') {
      if (n.attrs.name === undefined) bad(`%${i} param without a name`);
      else if (!declared.has(n.attrs.name)) bad(`%${i} reads undeclared ${n.attrs.name}`);
      return;
    }
    if (n.op === 'const') return;
    const args = n.inputs.map((j) => fn.nodes[j] ?? bad(`%${j} missing`));
    const r = rec.infer(args, n.attrs);
    if (!r.ok) return bad(`%${i} ${n.op}: ${r.error.message}`);
    if (r.type.dtype !== n.dtype || r.type.dims.join() !== n.dims.join())
      bad(`%${i} ${n.op} stores ${n.dtype}[${n.dims}] but infers ${r.type.dtype}[${r.type.dims}]`);
  });
  for (const r of fn.results) if (!fn.nodes[r.node]) bad(`result ${r.name} reads %${r.node}`);
}
