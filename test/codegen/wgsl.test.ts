// Every module generated for every example and call shape compiles on the runtime's own
// WGSL compiler and builds a pipeline within the device's limits; snapshots pin the WGSL
// of cross_entropy and the chunk plan of each example.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProgram, type Program } from '../../codegen/program.ts';
import { manifest } from '../../src/api/manifest.ts';
import type { Cotangent } from '../../src/autodiff/differentiate.ts';
import { isFloat, type IrFunction } from '../../src/ir/types.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { printPlan } from '../../src/plan/print-plan.ts';
import { checkWgsl } from '../../src/runtime/compile-check.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { exampleFiles, exampleKernels, floatTensorParams } from '../runtime/gpu-helpers.ts';

let gpu: AcquiredDevice;

beforeAll(async () => {
  gpu = await acquireDevice();
});

afterAll(() => gpu?.release());

interface CallShape {
  readonly name: string;
  /** The `grad` lists of the call shape: one program each. */
  readonly grads: (fn: IrFunction) => string[][];
  readonly cotangents?: (fn: IrFunction) => Map<string, Cotangent>;
  readonly gradientsOnly?: boolean;
}

/** A tensor cotangent for every floating result. */
function tensorCotangents(fn: IrFunction): Map<string, Cotangent> {
  return new Map(
    fn.results
      .filter((r) => isFloat(fn.nodes[r.node]?.dtype ?? 'bool'))
      .map((r) => [r.name, { kind: 'tensor' } as const]),
  );
}

const all = (fn: IrFunction) => [floatTensorParams(fn)];
const CALLS: readonly CallShape[] = [
  { name: 'forward', grads: () => [[]] },
  { name: 'grad of all float params', grads: all },
  { name: 'grad of each float param alone', grads: (fn) => floatTensorParams(fn).map((p) => [p]) },
  { name: 'grad of all, tensor cotangents', grads: all, cotangents: tensorCotangents },
  {
    name: 'backward only, tensor cotangents',
    grads: all,
    cotangents: tensorCotangents,
    gradientsOnly: true,
  },
];

function plansOf(fn: IrFunction, call: CallShape) {
  return call.grads(fn).map((grad) =>
    planKernel({
      kernel: fn,
      grad,
      cotangents: call.cotangents?.(fn) ?? new Map(),
      gradientsOnly: call.gradientsOnly ?? false,
    }),
  );
}

function programsOf(fn: IrFunction, call: CallShape): Program[] {
  return plansOf(fn, call).map((planned) => generateProgram(planned.fn, planned.plan));
}

for (const file of exampleFiles()) {
  // The f32/f16 variants (bf16[ → f32[ / f16[) of cross_entropy only: the others take
  // the same code paths, and each pipeline costs tens of ms on llvmpipe.
  const storages =
    file === 'cross_entropy.proj' ? ([undefined, 'f32', 'f16'] as const) : [undefined];
  for (const storage of storages) {
    for (const fn of exampleKernels(file, storage)) {
      describe(`${file} ${fn.name} (${storage ?? 'as written'})`, () => {
        it.each(CALLS)('$name: every module compiles and makes a pipeline', async (call) => {
          for (const p of programsOf(fn, call)) {
            expect(p.modules.length).toBeGreaterThan(0);
            const names = new Set(p.modules.map((m) => m.name));
            expect(names.size).toBe(p.modules.length);
            // The schedule only names modules that exist.
            const used = [
              ...p.before,
              ...p.sweeps.flatMap((s) => [
                ...s.chunk.flatMap((c) => (c.kind === 'kernel' ? [c.module] : [])),
                ...s.after,
              ]),
              ...p.epilogue,
            ];
            for (const u of used) expect(names.has(u), u).toBe(true);
            for (const m of p.modules) {
              expect(m.workgroupSize).toBeLessThanOrEqual(
                gpu.limits.maxComputeInvocationsPerWorkgroup,
              );
              const r = await checkWgsl(gpu.device, m.code, `${fn.name}/${call.name}/${m.name}`, {
                computeEntryPoints: ['main'],
              });
              expect(r, m.name).toEqual({ ok: true, messages: [] });
            }
          }
        });
      });
    }
  }
}

describe('determinism', () => {
  // Scope names once came from a process-wide counter: the second generation of the same
  // program differed (v2_0 vs v2_8) and the snapshot only passed in one test order.
  it.each(exampleFiles())('%s: the same program generated twice is byte-identical', (file) => {
    for (const fn of exampleKernels(file)) {
      for (const call of CALLS) {
        // Every module, the matmul variants and the manifest (the whole Program as data).
        const text = () =>
          programsOf(fn, call).map((p) => [
            ...p.modules.map((m) => m.code),
            ...p.matmul.variants.map((m) => m.code),
            JSON.stringify(manifest(p)),
          ]);
        expect(text()).toEqual(text());
      }
    }
  });
});

describe('snapshots', () => {
  const ce = exampleKernels('cross_entropy.proj')[0]!;

  it.each([CALLS[0]!, CALLS[1]!])('cross_entropy WGSL, $name', (call) => {
    const [p] = programsOf(ce, call);
    const text = p!.modules
      .map((m) => {
        const head = `// ${m.name}: workgroup ${m.workgroupSize}, dispatch ${JSON.stringify(m.dispatch)}`;
        const binds = m.bindings.map((b) => `// binding ${b.binding}: ${b.buffer} (${b.access})`);
        return [head, ...binds, m.code].join('\n');
      })
      .join('\n\n');
    expect(text).toMatchSnapshot();
  });

  it.each(exampleFiles())('chunk plans of %s', (file) => {
    for (const fn of exampleKernels(file)) {
      const text = CALLS.filter((c) => !c.name.includes('alone'))
        .map((call) => {
          const [planned] = plansOf(fn, call);
          return `== ${call.name}\n${printPlan(planned!.fn, planned!.plan)}`;
        })
        .join('\n');
      expect(text).toMatchSnapshot(fn.name);
    }
  });
});
