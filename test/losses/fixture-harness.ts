// Shared by the loss-library tests: run an example on a PyTorch fixture through the CPU
// interpreter and the WebGPU runtime, and compare with the fixture's references.
//
// Fixture convention (scripts/fixtures/README.md): a safetensors file holding
// - the kernel's inputs by parameter name (scalars as 0-dim tensors),
// - `cotangent.<result>` tensors for results that get a tensor cotangent,
// - `expected.<result>` and `expected.grad.<param>` (F64): PyTorch in float64 on the exact
//   stored inputs, and `torch.<...>` (F32): PyTorch natively in the stored dtype,
// - metadata `example` (path), `kernel`, `grad` (comma-separated), `cotangents`
//   (JSON {result: number | "tensor"}) and optionally `storage` ("f32" to run the example
//   with f32 storage instead of its declared bf16).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Cotangent } from '../../src/autodiff/differentiate.ts';
import { Runtime } from '../../src/api/runtime.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { bindDims } from '../../src/interp/bind.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { decodeToF64, readSafetensors, type SafetensorsFile } from '../../src/io/safetensors.ts';
import { loadInputs } from '../../src/run/inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';

export interface Fixture {
  readonly path: string;
  readonly file: SafetensorsFile;
  readonly kernel: IrFunction;
  readonly grad: string[];
  readonly cotangents: Map<string, Cotangent>;
  /** Parameters and `cotangent.*` tensors, as the interpreter takes them. */
  readonly inputs: Map<string, Tensor>;
  readonly sizes: Map<string, number>;
}

export function loadFixture(path: string): Fixture {
  const file = readSafetensors(readFileSync(path), path);
  const meta = file.metadata;
  const example = meta['example'];
  const name = meta['kernel'];
  if (!example || !name) throw new Error(`${path}: metadata lacks example/kernel`);
  let text = readFileSync(example, 'utf8');
  if (meta['storage'] === 'f32') text = text.replaceAll('bf16[', 'f32[');
  const c = compileFile({ path: example, text });
  const kernel = c.kernels.get(name);
  if (!kernel)
    throw new Error(
      `${example}: no kernel ${name}: ${c.diagnostics.map((d) => d.message).join('; ')}`,
    );
  const grad = (meta['grad'] ?? '').split(',').filter(Boolean);
  const cotangents = new Map<string, Cotangent>();
  const reserved = new Set<string>();
  for (const [r, v] of Object.entries(
    JSON.parse(meta['cotangents'] ?? '{}') as Record<string, number | string>,
  )) {
    if (typeof v === 'number') cotangents.set(r, { kind: 'const', value: v });
    else {
      cotangents.set(r, { kind: 'tensor' });
      reserved.add(`cotangent.${r}`);
    }
  }
  const loaded = loadInputs(kernel, file, path, new Map(), reserved);
  const inputs = loaded.tensors;
  for (const name of reserved) {
    const t = file.tensors.get(name);
    const res = kernel.results.find((r) => `cotangent.${r.name}` === name);
    const node = res && kernel.nodes[res.node];
    if (!t || !node) throw new Error(`${path}: no ${name}`);
    inputs.set(name, { dtype: 'f32', dims: node.dims, shape: t.shape, data: decodeToF64(t, path) });
  }
  return { path, file, kernel, grad, cotangents, inputs, sizes: bindDims(kernel, loaded.shapes) };
}

/** Every result and gradient (`grad.X`) by name. */
export type Values = Map<string, Float64Array>;

export function runInterpreter(f: Fixture): Values {
  const r = runCpu({
    fn: f.kernel,
    inputs: f.inputs,
    sizes: f.sizes,
    grad: f.grad,
    cotangents: f.cotangents,
  });
  return new Map([
    ...[...r.outputs].map(([k, t]) => [k, t.data] as const),
    ...[...r.grads].map(([k, t]) => [`grad.${k}`, t.data] as const),
  ]);
}

export async function runWebgpu(rt: Runtime, f: Fixture, chunkRows?: number): Promise<Values> {
  const inputs: Record<string, { data: Float64Array; shape: readonly number[] } | number> = {};
  for (const p of f.kernel.params) {
    // The hidden `present(b)` flag is the binder's to set: an absent `b` stays absent.
    if (p.presenceOf !== undefined) continue;
    const t = f.inputs.get(p.name);
    if (t) inputs[p.name] = p.dims.length ? { data: t.data, shape: t.shape } : (t.data[0] ?? 0);
  }
  const cotangents: Record<string, number | { data: Float64Array; shape: readonly number[] }> = {};
  for (const [r, c] of f.cotangents) {
    const t = f.inputs.get(`cotangent.${r}`);
    cotangents[r] =
      c.kind === 'const' ? c.value : { data: t?.data ?? new Float64Array(), shape: t?.shape ?? [] };
  }
  const out = await rt.run(f.kernel, inputs, {
    grad: f.grad,
    cotangents,
    ...(chunkRows ? { chunkRows } : {}),
  });
  return new Map([
    ...[...out.outputs].map(([k, t]) => [k, t.data] as const),
    ...[...out.grads].map(([k, t]) => [`grad.${k}`, t.data] as const),
  ]);
}

/** A fixture tensor as float64. */
export function reference(f: Fixture, name: string): Float64Array {
  const t = f.file.tensors.get(name);
  if (!t) throw new Error(`${f.path}: no ${name}`);
  return decodeToF64(t, f.path);
}

/** The names compared: every result and requested gradient. */
export function compared(f: Fixture): string[] {
  return [...f.kernel.results.map((r) => r.name), ...f.grad.map((g) => `grad.${g}`)];
}

/** Worst |a − e| − (atol + rtol·|e|) over the elements: ≤ 0 means within tolerance (Liger's check). */
export function excess(a: Float64Array, e: Float64Array, atol: number, rtol: number): number {
  expect(a.length).toBe(e.length);
  let worst = -Infinity;
  for (let i = 0; i < e.length; i++) {
    const x = a[i] ?? NaN;
    const y = e[i] ?? NaN;
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    worst = Math.max(worst, Math.abs(x - y) - (atol + rtol * Math.abs(y)));
  }
  return e.length ? worst : 0;
}

/** The largest |a − e|. */
export function maxAbs(a: Float64Array, e: Float64Array): number {
  let m = 0;
  for (let i = 0; i < e.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (e[i] ?? NaN)));
  return m;
}

/**
 * The loss library's bar: f32 inputs within Liger's tolerances (1e-5 abs, 5e-4 rel) of the
 * float64 reference; bf16 inputs no worse than PyTorch in bf16 on the same inputs (and
 * within the f32 bar where PyTorch's own error is smaller than it).
 */
export function expectMatchesTorch(f: Fixture, got: Values, label: string): void {
  for (const name of compared(f)) {
    const a = got.get(name);
    expect(a, `${label}: ${name} missing`).toBeDefined();
    const e = reference(f, `expected.${name}`);
    const within = excess(a ?? new Float64Array(), e, 1e-5, 5e-4);
    if (within <= 0) continue;
    const native = f.file.tensors.has(`torch.${name}`)
      ? maxAbs(reference(f, `torch.${name}`), e)
      : 0;
    expect(
      maxAbs(a ?? new Float64Array(), e),
      `${label}: ${name} is worse than PyTorch in its own dtype`,
    ).toBeLessThanOrEqual(native);
  }
}

/** The largest |error| against float64 per fixture, run and compared value, printed after the tests. */
export class ErrorLog {
  private readonly rows = new Map<string, Record<string, string>>();

  record(file: string, run: string, f: Fixture, got: Values): void {
    const row = this.rows.get(file) ?? {};
    for (const name of compared(f)) {
      const e = reference(f, `expected.${name}`);
      row[`${run} ${name}`] = maxAbs(got.get(name) ?? new Float64Array(), e).toExponential(2);
      if (f.file.tensors.has(`torch.${name}`))
        row[`torch ${name}`] = maxAbs(reference(f, `torch.${name}`), e).toExponential(2);
    }
    this.rows.set(file, row);
  }

  print(label: string): void {
    const lines = [...this.rows].map(([f, r]) => `  ${f}: ${JSON.stringify(r)}`);
    console.log(`[${label}] max |error| vs float64:\n${lines.join('\n')}`);
  }
}

/** The fixtures of a directory, sorted by name, each loaded once on first use. */
export function fixtureDir(dir: string): { files: string[]; fixture(file: string): Fixture } {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  const loaded = new Map<string, Fixture>();
  return {
    files,
    fixture(file) {
      let f = loaded.get(file);
      if (!f) loaded.set(file, (f = loadFixture(join(dir, file))));
      return f;
    },
  };
}
