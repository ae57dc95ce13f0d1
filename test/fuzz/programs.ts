// Differential fuzzing of the whole compiler: a grammar-aware generator of well-typed
// kernels (typed by construction: per-row-and-vocab values [N, V], per-row values [N],
// scalars), each run on the float64 CPU interpreter (the oracle) and on WebGPU, forward
// and backward, with random dims, storage dtypes and chunk sizes, and the two compared.
//
// Agreement rule: for every result and gradient, with c the CPU tensor and g the GPU one,
// non-finite elements must match exactly (NaN with NaN, ±inf with the same inf), and the
// finite ones must satisfy |g − c| ≤ 1e-4 · max(1, max |c|) + 1e-5 · M (relative to the
// tensor's largest magnitude, absolute below 1: f32 arithmetic against float64), where M
// is the largest finite magnitude among the float values the result is computed from (its
// ancestors in the interpreted graph, itself included). The second term is f32's honest
// error when large values cancel: `sum(abs(r - mean(r, N)), N)` of rows near −1690 is a
// difference of numbers whose f32 rounding (~1e-4 each) decides a ~6e-4 answer.
import fc from 'fast-check';
import type { Runtime } from '../../src/api/runtime.ts';
import type { TensorInput } from '../../src/api/tensors.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { renderDiagnostic } from '../../src/diagnostics/render.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';
import { differentiate } from '../../src/autodiff/differentiate.ts';
import { interpret } from '../../src/interp/interpret.ts';
import { completeOptional } from '../../src/interp/optional.ts';
import { isFloat, type IrFunction } from '../../src/ir/types.ts';
import type { DimSizes } from '../../src/tensor/tensor.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';

export const TOLERANCE = 1e-4;
/** Tolerance relative to the largest magnitude among a result's intermediate values. */
export const INTERMEDIATE_TOLERANCE = 1e-5;

/** One generated case: a program, its call and its data. */
export interface FuzzCase {
  readonly source: string;
  /** `M`: the rows of a second row set (`Y @ W.T`), when the program has one. */
  readonly dims: { N: number; H: number; V: number; M?: number };
  readonly grad: boolean;
  readonly chunkRows: number | undefined;
  readonly seed: number;
}

const lit = fc.constantFrom('0.5', '2', '1.5', '3', '0.25');

// Unary functions that keep values moderate (a fuzz of overflow would only compare infs).
const UNARY = [
  (x: string) => `tanh(${x})`,
  (x: string) => `sigmoid(${x})`,
  (x: string) => `softplus(${x})`,
  (x: string) => `abs(${x})`,
  (x: string) => `relu(${x})`,
  (x: string) => `-(${x})`,
  (x: string) => `exp(-abs(${x}))`,
  (x: string) => `log(1 + abs(${x}))`,
  (x: string) => `sqrt(abs(${x}) + 0.1)`,
  (x: string) => `clamp(${x}, -2, 2)`,
  (x: string) => `log1p(abs(${x}))`,
  (x: string) => `(${x}) ** 2`,
];

const unaryOf = (a: fc.Arbitrary<string>) =>
  fc.tuple(fc.integer({ min: 0, max: UNARY.length - 1 }), a).map(([i, x]) => UNARY[i]?.(x) ?? x);

const binaryOf = (a: fc.Arbitrary<string>, b: fc.Arbitrary<string>) =>
  fc
    .tuple(a, fc.constantFrom('+', '-', '*', '/', 'maximum', 'minimum'), b)
    .map(([x, op, y]) =>
      op === '/'
        ? `(${x}) / (1 + abs(${y}))`
        : op === 'maximum' || op === 'minimum'
          ? `${op}(${x}, ${y})`
          : `(${x}) ${op} (${y})`,
    );

// A condition compares with a constant: comparing two expressions equal up to rounding
// (`x > x - logsumexp(softmax-ish)`) would take either branch on f32 and f64, a difference
// of rounding, not of the compiler.
const whereOf = (c: fc.Arbitrary<string>, a: fc.Arbitrary<string>) =>
  fc
    .tuple(c, fc.constantFrom('>', '<', '>='), fc.constantFrom('0.3', '-0.7', '1.1'), a, a)
    .map(([p, cmp, q, x, y]) => `where((${p}) ${cmp} ${q}, ${x}, ${y})`);

/** Expressions by type: `nv` is f32[N, V], `n` is f32[N]. */
const exprs = fc.letrec<{ nv: string; n: string }>((tie) => ({
  nv: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.constantFrom('z', 'z', 'z * 0.5'),
    unaryOf(tie('nv')),
    binaryOf(tie('nv'), fc.oneof(tie('nv'), tie('n'), lit)),
    whereOf(tie('nv'), tie('nv')),
    // Row statistics broadcast back over V: softmax-like shapes.
    tie('nv').map((x) => `(${x}) - logsumexp(${x}, V)`),
    tie('nv').map((x) => `softmax(${x}, V)`),
  ),
  n: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc
      .tuple(fc.constantFrom('logsumexp', 'max', 'min', 'sum', 'mean'), tie('nv'))
      .map(([r, x]) => `${r}(${x}, V)`),
    tie('nv').map((x) => `gather(${x}, t, V)`),
    tie('nv').map((x) => `entropy(${x}, V)`),
    unaryOf(tie('n')),
    binaryOf(tie('n'), fc.oneof(tie('n'), lit)),
    whereOf(tie('n'), tie('n')),
  ),
}));

/** The final reduction over the rows; some read a row reduction back (another sweep). */
const FINAL = [
  (r: string) => `sum(${r}, N)`,
  (r: string) => `mean(${r}, N)`,
  (r: string) => `max(${r}, N)`,
  (r: string) => `sum(where(t != 0, ${r}, 0), N) / maximum(count(t != 0, N), 1)`,
  (r: string) => `sum(abs(${r} - mean(${r}, N)), N)`,
  (r: string) => `logsumexp(${r}, N) + sum(${r}, N) * 0.5`,
];

/** A row expression over the first set, rewritten for the second (`zy`, `u`, `M`). */
const overY = (r: string) =>
  r.replace(/\bz\b/g, 'zy').replace(/\bt\b/g, 'u').replace(/\bN\b/g, 'M');

/** How the two row sets' results meet: only through scalars (spec §8, each set a loop). */
const COMBINE = [
  (a: string, b: string) => `(${a}) + (${b})`,
  (a: string, b: string) => `(${a}) * sigmoid(${b})`,
];

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    row: exprs.n,
    final: fc.integer({ min: 0, max: FINAL.length - 1 }),
    // One program in three has a second row set Y [M, H] through the same W.
    sets: fc.integer({ min: 0, max: 2 }).map((k) => (k === 0 ? 2 : 1)),
    rowY: exprs.n,
    finalY: fc.integer({ min: 0, max: FINAL.length - 1 }),
    combine: fc.integer({ min: 0, max: COMBINE.length - 1 }),
    M: fc.integer({ min: 1, max: 7 }),
    xType: fc.constantFrom('f32', 'bf16', 'f16'),
    wType: fc.constantFrom('f32', 'bf16'),
    N: fc.integer({ min: 1, max: 9 }),
    H: fc.integer({ min: 1, max: 6 }),
    V: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 250, max: 300 })),
    grad: fc.boolean(),
    chunk: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map((c) => {
    const x = (FINAL[c.final] ?? FINAL[0])?.('r') ?? 'sum(r, N)';
    const y = overY((FINAL[c.finalY] ?? FINAL[0])?.('ry') ?? 'sum(ry, N)');
    const two = c.sets === 2;
    return {
      source: [
        two
          ? `kernel k(X: ${c.xType}[N, H], Y: ${c.xType}[M, H], W: ${c.wType}[V, H], t: i32[N], u: i32[M]) -> f32 {`
          : `kernel k(X: ${c.xType}[N, H], W: ${c.wType}[V, H], t: i32[N]) -> f32 {`,
        '  z = X @ W.T',
        ...(two ? ['  zy = Y @ W.T'] : []),
        `  r = ${c.row}`,
        ...(two ? [`  ry = ${overY(c.rowY)}`] : []),
        `  return ${two ? (COMBINE[c.combine] ?? COMBINE[0])?.(x, y) : x}`,
        '}',
        '',
      ].join('\n'),
      dims: two ? { N: c.N, H: c.H, V: c.V, M: c.M } : { N: c.N, H: c.H, V: c.V },
      grad: c.grad,
      chunkRows: c.chunk,
      seed: c.seed,
    };
  });

/** Why one element disagrees, or undefined. */
function elementMismatch(
  c: number,
  g: number,
  scale: number,
  intermediate: number,
): string | undefined {
  if (!Number.isFinite(c) || !Number.isFinite(g)) {
    if (Object.is(c, g) || (Number.isNaN(c) && Number.isNaN(g))) return undefined;
    return `cpu ${c}, webgpu ${g}`;
  }
  const tol = TOLERANCE * Math.max(1, scale) + INTERMEDIATE_TOLERANCE * intermediate;
  return Math.abs(g - c) <= tol ? undefined : `cpu ${c}, webgpu ${g} (|Δ| > ${tol})`;
}

/** The first disagreement between two results, or undefined. */
export function compareTensors(
  name: string,
  c: Tensor,
  g: Tensor | undefined,
  intermediate = 0,
): string | undefined {
  if (!g) return `${name}: missing on webgpu`;
  if (c.shape.join() !== g.shape.join())
    return `${name}: shape [${c.shape.join()}] on cpu, [${g.shape.join()}] on webgpu`;
  let scale = 0;
  for (const x of c.data) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < c.data.length; i++) {
    const why = elementMismatch(c.data[i] ?? NaN, g.data[i] ?? NaN, scale, intermediate);
    if (why) return `${name}[${i}]: ${why}`;
  }
  return undefined;
}

/**
 * For each result of `fn` (differentiated w.r.t. `grad`), the largest finite magnitude among
 * the float values it is computed from, on the interpreter: the M of the agreement rule.
 */
export function intermediateMagnitudes(
  kernel: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  grad: readonly string[],
): Map<string, number> {
  const fn = grad.length
    ? differentiate(kernel, { wrt: [...grad], cotangents: new Map() })
    : kernel;
  const all = new Map(inputs);
  completeOptional(kernel, all, sizes, [...grad]);
  const every = { ...fn, results: fn.nodes.map((n) => ({ name: `%${n.id}`, node: n.id })) };
  const values = interpret(every, all, sizes);
  const own = fn.nodes.map((n) => {
    let m = 0;
    if (isFloat(n.dtype))
      for (const x of values.get(`%${n.id}`)?.data ?? [])
        if (Number.isFinite(x)) m = Math.max(m, Math.abs(x));
    return m;
  });
  // Nodes are in topological order: the maximum over ancestors is one forward pass.
  const upTo: number[] = [];
  for (const n of fn.nodes)
    upTo[n.id] = Math.max(own[n.id] ?? 0, ...n.inputs.map((i) => upTo[i] ?? 0));
  return new Map(fn.results.map((r) => [r.name, upTo[r.node] ?? 0]));
}

/**
 * Runs one case on both backends. Returns undefined when they agree, else a description
 * of the first disagreement (or of the failure: a generated program must compile).
 */
export async function runCase(rt: Runtime, c: FuzzCase): Promise<string | undefined> {
  const compiled = compileFile({ path: 'fuzz.proj', text: c.source });
  const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) return `does not compile:\n${errors.map(renderDiagnostic).join('\n')}`;
  const fn = compiled.kernels.get('k');
  if (!fn) return 'no kernel';
  const sizes = new Map(Object.entries(c.dims));
  const inputs = randomInputs(fn, sizes, c.seed);
  const grad = c.grad ? (c.dims.M === undefined ? ['X', 'W'] : ['X', 'Y', 'W']) : [];
  const cpu = runCpu({ fn, inputs, sizes, grad, cotangents: new Map() });
  const api: Record<string, TensorInput> = {};
  for (const [k, t] of inputs) api[k] = { data: t.data, shape: t.shape };
  const gpu = await rt.run(fn, api, {
    grad,
    ...(c.chunkRows !== undefined ? { chunkRows: c.chunkRows } : {}),
  });
  const m = intermediateMagnitudes(fn, inputs, sizes, grad);
  for (const [name, t] of cpu.outputs) {
    const why = compareTensors(name, t, gpu.outputs.get(name), m.get(name));
    if (why) return why;
  }
  for (const [name, t] of cpu.grads) {
    const why = compareTensors(`grad.${name}`, t, gpu.grads.get(name), m.get(`grad.${name}`));
    if (why) return why;
  }
  return undefined;
}

/** A failing case as text to paste into a file and rerun. */
export function describeCase(c: FuzzCase): string {
  const d = `N=${c.dims.N},H=${c.dims.H},V=${c.dims.V}${c.dims.M === undefined ? '' : `,M=${c.dims.M}`}`;
  const grad = c.dims.M === undefined ? 'X,W' : 'X,Y,W';
  return `${c.source}# projc run fuzz.proj --dims ${d} --seed ${c.seed}${c.grad ? ` --grad ${grad}` : ''}${c.chunkRows ? ` --chunk-rows ${c.chunkRows}` : ''}`;
}
