// The caller's inputs and cotangents checked against a kernel's declaration.
import type { Cotangent } from '../autodiff/differentiate.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim, IrFunction } from '../ir/types.ts';
import type { InputSource } from '../runtime/input-sources.ts';
import { toSource, type TensorInput } from './tensors.ts';

/** A tensor cotangent must have its result's shape under the bound dims. */
export function checkCotangentShapes(
  kernel: IrFunction,
  extra: ReadonlyMap<string, InputSource>,
  sizes: ReadonlyMap<string, number>,
): void {
  for (const [name, t] of extra) {
    const r = kernel.results.find((x) => `cotangent.${x.name}` === name);
    const node = r && kernel.nodes[r.node];
    const want = (node?.dims ?? []).map((d) => sizes.get(d) ?? 0);
    const shape = t.kind === 'scalar' ? [] : t.shape;
    if (shape.join() !== want.join())
      throw new UserError({
        severity: 'error',
        code: 'P0408',
        message: `the cotangent of \`${r?.name}\` has shape [${shape.join(', ')}], but the result is [${want.join(', ')}] (${node?.dims.join(', ')})`,
      });
  }
}

/** The kernel's parameters from the caller's tensors; scalars may be numbers or absent (defaults). */
export function bindInputs(
  kernel: IrFunction,
  inputs: Readonly<Record<string, TensorInput>>,
  bound: ReadonlySet<string> = new Set(),
): Map<string, InputSource> {
  const out = new Map<string, InputSource>();
  // Unknown names first: a misspelt `x` should be named, not reported as a missing `X`.
  for (const name of Object.keys(inputs))
    if (!kernel.params.some((p) => p.name === name))
      throw new UserError({
        severity: 'error',
        code: 'P0406',
        message: `\`${kernel.name}\` has no parameter \`${name}\``,
        notes: [`parameters: ${kernel.params.map((p) => p.name).join(', ')}`],
      });
  for (const p of kernel.params) {
    const v = inputs[p.name];
    if (v === undefined) {
      if ((p.dims.length === 0 && p.default !== undefined) || p.optional || bound.has(p.name))
        continue;
      throw new UserError({
        severity: 'error',
        code: 'P0401',
        message: `no input for parameter \`${p.name}\``,
      });
    }
    out.set(p.name, toSource(p.name, p.dtype, p.dims, v));
  }
  return out;
}

export function shapesOf(
  kernel: IrFunction,
  tensors: ReadonlyMap<string, { readonly shape: readonly number[] } | InputSource>,
): Map<string, readonly number[]> {
  const m = new Map<string, readonly number[]>();
  for (const p of kernel.params) {
    const t = tensors.get(p.name);
    if (t && p.dims.length && 'shape' in t) m.set(p.name, t.shape);
  }
  return m;
}

export function cotangentInputs(
  kernel: IrFunction,
  cotangents: Readonly<Record<string, number | TensorInput>>,
): { cot: Map<string, Cotangent>; extra: Map<string, InputSource> } {
  const cot = new Map<string, Cotangent>();
  const extra = new Map<string, InputSource>();
  for (const [name, v] of Object.entries(cotangents)) {
    const r = kernel.results.find((x) => x.name === name);
    const node = r && kernel.nodes[r.node];
    if (!node)
      throw new UserError({
        severity: 'error',
        code: 'P0405',
        message: `\`${kernel.name}\` has no result \`${name}\``,
      });
    if (typeof v === 'number') cot.set(name, { kind: 'const', value: v });
    else {
      cot.set(name, { kind: 'tensor' });
      extra.set(`cotangent.${name}`, toSource(`cotangent.${name}`, 'f32', node.dims, v));
    }
  }
  return { cot, extra };
}

/**
 * Completes the inputs of a kernel with optional tensor parameters (`b: f32[V]?`), after
 * `bindDims`, as src/interp/optional.ts does for the interpreter: an absent one becomes
 * zeros of its bound shape and its hidden `present(b)` flag false; a given (or bound) one
 * sets the flag true. A gradient asked of an absent optional tensor is P0431.
 */
export function completeOptional(
  fn: IrFunction,
  sources: Map<string, InputSource>,
  sizes: ReadonlyMap<Dim, number>,
  grad: readonly string[] = [],
  bound: ReadonlySet<string> = new Set(),
): void {
  for (const p of fn.params) {
    if (p.presenceOf === undefined) continue;
    const of = fn.params.find((q) => q.name === p.presenceOf);
    if (!of) continue;
    // A flag already false: inputs completed before (saved for a later backward).
    const flag = sources.get(p.name);
    const given = sources.has(of.name) || bound.has(of.name);
    const present = given && !(flag?.kind === 'scalar' && flag.value === 0);
    sources.set(p.name, { kind: 'scalar', value: present ? 1 : 0 });
    if (present) continue;
    if (grad.includes(of.name))
      throw new UserError({
        severity: 'error',
        code: 'P0431',
        message: `no gradient for \`${of.name}\`: the optional tensor was not given`,
        help: [`give \`${of.name}\`, or leave it out of the gradients`],
      });
    if (given) continue;
    const shape = of.dims.map((d) => sizes.get(d) ?? 0);
    const n = shape.reduce((a, b) => a * b, 1);
    sources.set(of.name, {
      kind: 'host',
      shape,
      data: of.dtype === 'i32' || of.dtype === 'bool' ? new Int32Array(n) : new Float32Array(n),
    });
  }
}
