// What a new user writes after `npm install projc`: plain Node, no TypeScript loader.
// Copied into an empty project by package.test.ts, which reads the JSON it prints.
import { compile, Runtime } from 'projc';

const source = `
kernel cross_entropy(X: f32[N, H], W: f32[V, H], target: i32[N]) -> f32 {
  z = X @ W.T
  return mean(logsumexp(z, V) - gather(z, target, V), N)
}`;
const { kernels, diagnostics } = compile(source);
const kernel = kernels.get('cross_entropy');
if (!kernel) throw new Error(`did not compile: ${diagnostics[0]?.message}`);

const [N, H, V] = [24, 8, 40];
const X = Float32Array.from({ length: N * H }, (_, i) => Math.sin(i * 0.7));
const W = Float32Array.from({ length: V * H }, (_, i) => Math.cos(i * 0.3));
const target = Int32Array.from({ length: N }, (_, i) => (i * 7) % V);

// The reference, in float64: mean over rows of logsumexp(z) - z[target], z = X W^T.
let reference = 0;
for (let n = 0; n < N; n++) {
  const z = Array.from({ length: V }, (_, v) => {
    let s = 0;
    for (let h = 0; h < H; h++) s += X[n * H + h] * W[v * H + h];
    return s;
  });
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
  reference += (lse - z[target[n]]) / N;
}

const rt = await Runtime.create();
const r = await rt.run(
  kernel,
  {
    X: { data: X, shape: [N, H] },
    W: { data: W, shape: [V, H] },
    target: { data: target, shape: [N] },
  },
  { grad: ['X', 'W'], chunkRows: 8 },
);
const gradW = r.grads.get('W');
console.log(
  JSON.stringify({
    loss: r.outputs.get('out')?.data[0],
    reference,
    gradWShape: gradW?.shape,
    gradWFinite: Array.from(gradW?.data ?? []).every(Number.isFinite),
    chunks: r.stats.chunks,
    adapter: rt.device.adapterInfo,
  }),
);
rt.release();
