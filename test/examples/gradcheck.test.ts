// Every example kernel's derived gradients against central finite differences in float64,
// with a random cotangent on every result (so kernels with several or non-scalar results
// are checked in full), on small ragged shapes.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Cotangent } from '../../src/autodiff/differentiate.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { isFloat } from '../../src/ir/types.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { checkGrads, mismatches } from '../autodiff/check-grads.ts';

const SIZES: Record<string, number> = { N: 5, B: 2, T: 3, H: 4, V: 7 };
const examples = readdirSync('examples').filter((f) => f.endsWith('.proj'));

describe('example gradients match finite differences', () => {
  for (const file of examples) {
    const c = compileFile({ path: file, text: readFileSync(`examples/${file}`, 'utf8') });
    for (const fn of c.kernels.values()) {
      it(`${file}: ${fn.name}`, () => {
        const sizes = new Map(fn.dims.map((d) => [d, SIZES[d] ?? 3]));
        // The signature's constraints (simcse's `M: dim = N`) hold in the sizes too.
        for (const c of fn.dimConstraints ?? [])
          sizes.set(
            c.dim,
            typeof c.equals === 'number' ? c.equals : (sizes.get(c.equals.dim) ?? 3),
          );
        const inputs = randomInputs(fn, sizes, 11);
        // A target equal to the default ignore_index and one out of range exercise every branch.
        for (const p of fn.params.filter((q) => q.dtype === 'i32' && q.dims.length > 0)) {
          const t = inputs.get(p.name);
          if (t) t.data.set([-100, 999]);
        }
        const wrt = fn.params
          .filter((p) => isFloat(p.dtype) && p.dims.length > 0)
          .map((p) => p.name);
        const cot = new Map<string, Cotangent>(fn.results.map((r) => [r.name, { kind: 'tensor' }]));
        const check = checkGrads(fn, inputs, sizes, wrt, cot);
        expect(mismatches(check, 1e-5, 1e-7)).toEqual([]);
      });
    }
  }
});
