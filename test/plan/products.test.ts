// The planner gives every product its matmul roles and refuses, with P0302, a layout the
// strided matmul cannot read with one stride per role: before any code is generated.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { TestGraph } from '../autodiff/check-grads.ts';
import { exampleKernels } from '../runtime/gpu-helpers.ts';

describe('products in the plan', () => {
  it('a product whose rows are split by another dim is P0302 from planKernel', () => {
    const t = new TestGraph();
    const x = t.param('X', 'f32', ['B', 'H', 'T']);
    const w = t.param('W', 'f32', ['V', 'H']);
    const z = t.b.op('dot', [x, w], { dims: ['B', 'T', 'V'] });
    const out = t.b.op('sum', [t.b.op('logsumexp', [z], { axes: ['V'] })], { axes: ['B', 'T'] });
    const kernel = t.fn({ out });
    let err: unknown;
    try {
      planKernel({ kernel });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect(err instanceof UserError ? err.diagnostics[0]?.code : '').toBe('P0302');
    expect(String(err instanceof UserError ? err.diagnostics[0]?.message : '')).toContain(
      'reads dims [B, T] that are not consecutive in [B, H, T]',
    );
  });

  it("cross_entropy's products: z = X·Wᵀ, dX = dz·W and dW += dzᵀ·X", () => {
    const [fn] = exampleKernels('cross_entropy.proj');
    const { fn: joint, plan } = planKernel({ kernel: fn!, grad: ['X', 'W'] });
    const roles = plan.sweeps.flatMap((sw) =>
      sw.stages.flatMap((st) =>
        st.kind === 'matmul'
          ? [
              {
                a: joint.nodes[st.roles.a]?.attrs.name ?? 'dz',
                b: joint.nodes[st.roles.b]?.attrs.name ?? 'dz',
                m: st.roles.m,
                n: st.roles.n,
                k: st.roles.k,
                acc: st.roles.accumulate,
              },
            ]
          : [],
      ),
    );
    expect(roles).toEqual([
      { a: 'X', b: 'W', m: ['N'], n: ['V'], k: ['H'], acc: false },
      { a: 'dz', b: 'W', m: ['N'], n: ['H'], k: ['V'], acc: false },
      { a: 'dz', b: 'X', m: ['V'], n: ['H'], k: ['N'], acc: true },
    ]);
  });
});
