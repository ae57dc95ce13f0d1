// A TypeScript user's file, type-checked by package.test.ts against the installed package
// with `tsc --init`'s defaults plus "module": "preserve", "moduleResolution": "bundler".
import { compile, Runtime, type Diagnostic, type TensorInput } from 'projc';
import { compile as compileInBrowser } from 'projc/browser';

const { kernels, diagnostics } = compile(
  'kernel k(X: f32[N, H], W: f32[V, H]) -> f32 { return sum(X @ W.T, N, V) }',
);
const first: Diagnostic | undefined = diagnostics[0];
const kernel = kernels.get('k');
if (!kernel || first) throw new Error('did not compile');
const X: TensorInput = { shape: [2, 3], data: new Float32Array(6) };
const rt = await Runtime.create();
const r = await rt.run(kernel, { X, W: X }, { grad: ['X'] });
const loss: number | undefined = r.outputs.get('out')?.data[0];
const device: GPUDevice = rt.device.device;
console.log(loss, r.stats.chunks, device.label, compileInBrowser('').kernels.size);
