// The case the browser test runs twice, in Chromium on navigator.gpu (page/main.ts) and in
// Node on Dawn (browser.test.ts): examples/cross_entropy.proj with gradients w.r.t. X and W
// on the same seeded inputs, chunked so that several sweeps' chunks run.
import type { Runtime } from '../../../src/browser.ts';
import { compile } from '../../../src/browser.ts';
import { randomInputs } from '../../../src/run/random-inputs.ts';

export const SIZES = { N: 96, H: 32, V: 384 } as const;
export const SEED = 7;
export const CHUNK_ROWS = 32;

export interface CaseResult {
  readonly loss: number;
  readonly gradX: number[];
  readonly gradW: number[];
  readonly chunks: number;
  readonly adapter: string;
}

export async function runCrossEntropy(rt: Runtime, source: string): Promise<CaseResult> {
  const { kernels, diagnostics } = compile(source, 'examples/cross_entropy.proj');
  const kernel = kernels.get('cross_entropy');
  if (!kernel) throw new Error(`cross_entropy did not compile: ${diagnostics[0]?.message}`);
  const inputs = randomInputs(kernel, new Map(Object.entries(SIZES)), SEED);
  const r = await rt.run(kernel, Object.fromEntries(inputs), {
    grad: ['X', 'W'],
    chunkRows: CHUNK_ROWS,
  });
  const grad = (name: string) => Array.from(r.grads.get(name)?.data ?? []);
  return {
    loss: r.outputs.get('out')?.data[0] ?? NaN,
    gradX: grad('X'),
    gradW: grad('W'),
    chunks: r.stats.chunks,
    adapter: rt.device.adapterInfo,
  };
}
