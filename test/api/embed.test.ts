// The embedding example (examples/embed/cross-entropy.ts) against the float64 interpreter,
// and the input validation of Runtime.run with the messages a caller sees.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIMS, main, type EmbedResult } from '../../examples/embed/cross-entropy.ts';
import type { Cotangent } from '../../src/autodiff/differentiate.ts';
import { compile, Runtime, UserError, type IrFunction, type Tensor } from '../../src/index.ts';
import { runCpu } from '../../src/run/run-cpu.ts';

/** max |got − want| / max |want| over all elements (shapes must agree). */
function relError(got: Tensor | undefined, want: Tensor | undefined): number {
  expect(got?.shape).toEqual(want?.shape);
  let diff = 0;
  let scale = 0;
  (want?.data ?? []).forEach((w, i) => {
    diff = Math.max(diff, Math.abs((got?.data[i] ?? NaN) - w));
    scale = Math.max(scale, Math.abs(w));
  });
  return scale > 0 ? diff / scale : diff;
}

/** The example's typed arrays as the interpreter's tensors (it rounds bf16 on load, as the upload does). */
function tensors(
  fn: IrFunction,
  values: Readonly<Record<string, ArrayLike<number>>>,
  sizes: ReadonlyMap<string, number>,
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const p of fn.params) {
    const v = values[p.name];
    if (v === undefined) continue;
    const shape = p.dims.map((d) => sizes.get(d) ?? 0);
    out.set(p.name, { dtype: p.dtype, dims: p.dims, shape, data: Float64Array.from(v) });
  }
  return out;
}

const sizes = new Map(Object.entries(DIMS));
let ex: EmbedResult;
const printed: string[] = [];

beforeAll(async () => {
  ex = await main({ log: (l) => void printed.push(l) });
});

describe('examples/embed/cross-entropy.ts', () => {
  it('prints the backward IR, the plan and the WGSL modules', () => {
    const text = printed.join('\n');
    expect(text).toContain('grad.W = %');
    expect(text).toContain('chunk plan of cross_entropy: rows [N], 2 sweeps');
    expect(text).toMatch(/sweep1_row\d+ +dispatch rows/);
    expect(text).toMatch(/^loss = /m);
  });

  it('runs cross_entropy with gradients like the interpreter, in one sweep of 5 chunks after a pre-pass', () => {
    const want = runCpu({
      fn: ex.crossEntropy,
      inputs: tensors(ex.crossEntropy, ex.ceInputs, sizes),
      sizes,
      grad: ['X', 'W'],
      cotangents: new Map(),
    });
    expect(relError(ex.run.outputs.get('out'), want.outputs.get('out'))).toBeLessThan(1e-4);
    expect(relError(ex.run.grads.get('X'), want.grads.get('X'))).toBeLessThan(1e-4);
    expect(relError(ex.run.grads.get('W'), want.grads.get('W'))).toBeLessThan(1e-4);
    // 37 rows in chunks of 8: four full chunks and a ragged one of 5.
    expect(ex.run.stats).toMatchObject({ chunkRows: 8, chunks: 5, sweeps: 1, prePasses: 1 });
    expect(ex.run.stats.peakBytes).toBeGreaterThan(0);
  });

  it('forward + backward of a kernel with per-token results matches the interpreter', () => {
    const inputs = tensors(ex.tokenStats, ex.teInputs, sizes);
    const fwd = runCpu({ fn: ex.tokenStats, inputs, sizes, grad: [], cotangents: new Map() });
    expect(relError(ex.forward.get('logp'), fwd.outputs.get('logp'))).toBeLessThan(1e-4);
    expect(relError(ex.forward.get('ent'), fwd.outputs.get('ent'))).toBeLessThan(1e-4);

    const cotangents = new Map<string, Cotangent>([
      ['logp', { kind: 'tensor' }],
      ['ent', { kind: 'const', value: ex.cotangents.ent }],
    ]);
    inputs.set('cotangent.logp', {
      dtype: 'f32',
      dims: ['B', 'T'],
      shape: [DIMS.B, DIMS.T],
      data: Float64Array.from(ex.cotangents.logp),
    });
    const bwd = runCpu({ fn: ex.tokenStats, inputs, sizes, grad: ['X', 'W'], cotangents });
    expect([...ex.backward.keys()].sort()).toEqual(['W', 'X']);
    expect(relError(ex.backward.get('X'), bwd.grads.get('X'))).toBeLessThan(1e-4);
    expect(relError(ex.backward.get('W'), bwd.grads.get('W'))).toBeLessThan(1e-4);
  });
});

describe('Runtime.run input validation', () => {
  let rt: Runtime;
  const kernel = compile(readFileSync('examples/cross_entropy.proj', 'utf8')).kernels.get(
    'cross_entropy',
  ) as IrFunction;
  const X = { data: new Float32Array(6), shape: [3, 2] };
  const W = { data: new Float32Array(8), shape: [4, 2] };
  const target = { data: new Int32Array(3), shape: [3] };

  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt?.release());

  /** The code and message of the UserError that `run` rejects with. */
  async function failure(
    inputs: Parameters<Runtime['run']>[1],
    opts: Parameters<Runtime['run']>[2] = {},
  ): Promise<string> {
    try {
      await rt.run(kernel, inputs, opts);
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      const d = (e as UserError).diagnostics[0];
      return `${d?.code}: ${d?.message}`;
    }
    throw new Error('run did not fail');
  }

  it('accepts well-formed inputs (the baseline of the cases below)', async () => {
    const r = await rt.run(kernel, { X, W, target, ignore_index: -1 });
    expect(r.outputs.get('out')?.shape).toEqual([]);
  });

  it('names a missing input', async () => {
    expect(await failure({ X, W })).toBe('P0401: no input for parameter `target`');
  });

  it('rejects an input of the wrong shape', async () => {
    expect(await failure({ X: { data: new Float32Array(6), shape: [6] }, W, target })).toBe(
      'P0408: `X` has 1 dims [6], but its declaration has 2: [N, H]',
    );
    expect(await failure({ X: { data: new Float32Array(5), shape: [3, 2] }, W, target })).toBe(
      'P0408: `X` has shape [3, 2] (6 elements) but 5 values',
    );
    expect(await failure({ X: 1, W, target })).toBe(
      'P0408: `X` needs a tensor of 2 dims [N, H], got a number',
    );
    expect(await failure({ X, W, target, ignore_index: { data: [1], shape: [1] } })).toBe(
      'P0408: `ignore_index` has 1 dims [1], but its declaration has 0: []',
    );
  });

  it('rejects inputs that disagree on a dim', async () => {
    expect(await failure({ X, W: { data: new Float32Array(12), shape: [4, 3] }, target })).toBe(
      'P0403: dim `H` is 2 in `X` (dim 1) but 3 in `W` (dim 1)',
    );
  });

  it('rejects an unknown parameter, result or gradient', async () => {
    expect(await failure({ X, W, target, bias: 1 })).toBe(
      'P0406: `cross_entropy` has no parameter `bias`',
    );
    expect(await failure({ X, W, target }, { cotangents: { loss: 1 } })).toBe(
      'P0405: `cross_entropy` has no result `loss`',
    );
    expect(await failure({ X, W, target }, { grad: ['target'] })).toBe(
      'P0301: parameter `target` is i32 and cannot have a gradient',
    );
  });

  it('rejects a memory budget too small for one row', async () => {
    expect(await failure({ X, W, target }, { memoryBudget: 10 })).toMatch(
      /^P0405: the memory budget of 10 bytes is too small for even one row/,
    );
  });
});
