/**
 * projc's Node entry: the library of src/browser.ts, with Dawn's Node bindings (the
 * `webgpu` package) as the device `Runtime.create()` falls back on without navigator.gpu.
 *
 * ```ts
 * import { compile, Runtime } from 'projc';
 * const { kernels } = compile(source);
 * const rt = await Runtime.create(); // Dawn: a GPU, or Mesa's llvmpipe on the CPU
 * ```
 */
import { registerDawn } from './runtime/dawn.ts';

export * from './browser.ts';

registerDawn();
