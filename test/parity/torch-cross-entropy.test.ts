// Parity with real PyTorch: F.cross_entropy(X @ W.T, target, ignore_index, label_smoothing)
// and its autograd gradients, computed in float64 by scripts/fixtures/make_torch_fixtures.py
// from the exact stored inputs. The example kernel runs on the CPU interpreter.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileFile } from '../../src/frontend/compile.ts';
import { bindDims } from '../../src/interp/bind.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { decodeToF64, readSafetensors } from '../../src/io/safetensors.ts';
import { loadInputs } from '../../src/run/inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';

const dir = 'test/fixtures/torch';
const cases = readdirSync(dir).filter(
  (f) => f.startsWith('cross_entropy_') && f.endsWith('.safetensors'),
);
const source = readFileSync('examples/cross_entropy.proj', 'utf8');

/** The example as written (bf16 storage), or with f32 storage for the f32 fixtures. */
function kernelFor(storage: 'BF16' | 'F32') {
  const text = storage === 'F32' ? source.replaceAll('bf16[', 'f32[') : source;
  const c = compileFile({ path: 'examples/cross_entropy.proj', text });
  const k = c.kernels.get('cross_entropy');
  if (!k) throw new Error(c.diagnostics.map((d) => d.message).join('\n'));
  return k;
}

/** max |a − b| / max |b|, and the worst per-element error relative to |b| + 1e-12. */
function relErr(a: Float64Array, b: Float64Array): { norm: number; elem: number } {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  let elem = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] ?? 0) - (b[i] ?? 0));
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
    elem = Math.max(elem, d / (Math.abs(b[i] ?? 0) + 1e-12));
  }
  return { norm: diff / scale, elem };
}

describe('cross-entropy matches PyTorch (float64 reference of the stored inputs)', () => {
  it('has the fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(6));
  for (const name of cases) {
    it(name, () => {
      const path = `${dir}/${name}`;
      const file = readSafetensors(readFileSync(path), path);
      const storage = file.tensors.get('X')?.dtype === 'BF16' ? 'BF16' : 'F32';
      const fn = kernelFor(storage);
      const loaded = loadInputs(fn, file, path, new Map());
      // The fixtures also hold the expected values, which the kernel does not read.
      expect(loaded.warnings[0]?.message).toMatch(/not used by `cross_entropy`: expected\.grad\.W/);
      const sizes = bindDims(fn, loaded.shapes);
      const r = runCpu({
        fn,
        inputs: loaded.tensors,
        sizes,
        grad: ['X', 'W'],
        cotangents: new Map(),
      });
      const want = (k: string) => {
        const t = file.tensors.get(k);
        if (!t) throw new Error(`fixture lacks ${k}`);
        return decodeToF64(t, path);
      };
      const got = (t: Tensor | undefined) => t?.data ?? new Float64Array();
      const out = relErr(got(r.outputs.get('out')), want('expected.out'));
      const gx = relErr(got(r.grads.get('X')), want('expected.grad.X'));
      const gw = relErr(got(r.grads.get('W')), want('expected.grad.W'));
      // 1e-5 relative is the bar; float64 on identical inputs lands near 1e-12.
      expect(out.elem).toBeLessThan(1e-5);
      expect(gx.norm).toBeLessThan(1e-5);
      expect(gw.norm).toBeLessThan(1e-5);
      expect(gx.elem).toBeLessThan(1e-5);
      expect(gw.elem).toBeLessThan(1e-5);
    });
  }
});
