// TF.js's WebGPU backend in Node, on Dawn (the `webgpu` package): what it took.
//
// - tfjs-backend-webgpu registers itself only when `navigator.gpu` exists when it is
//   imported, and asks it for an adapter with `{ powerPreference }` alone. Node 20 has no
//   `navigator`, so we define one whose `gpu` is Dawn's `create([...])` GPU.
// - Without a GPU, Dawn runs on Mesa's llvmpipe through its OpenGL backend, which offers
//   only the `compatibility` feature level: a plain requestAdapter() finds no adapter, so
//   requestAdapter is wrapped to pass `featureLevel: 'compatibility'`.
// - tfjs requests a few limits at the adapter's maximum and leaves the rest at the
//   (compatibility) defaults, e.g. 4 storage buffers per stage, too few for projc's row
//   kernels on the same device: requestDevice is wrapped to request every compute limit
//   at the adapter's maximum.
// - Dawn's WebGPU classes (GPUBuffer, GPUBufferUsage...) must be globals: tfjs uses
//   `instanceof GPUBuffer` and the flag constants by name.
// - The GPU object must stay reachable while its devices live (device.ts says why).
import { COMPUTE_LIMITS } from '../runtime/device.ts';

let pinned: GPU | undefined;

/** The wrappers around a GPU that make tfjs get a compatibility adapter with full limits. */
export function compatibilityGpu(
  gpu: GPU,
): Pick<GPU, 'requestAdapter' | 'getPreferredCanvasFormat' | 'wgslLanguageFeatures'> {
  return {
    async requestAdapter(options?: GPURequestAdapterOptions) {
      const adapter = await gpu.requestAdapter({ ...options, featureLevel: 'compatibility' });
      if (!adapter) return null;
      const requestDevice = adapter.requestDevice.bind(adapter);
      const limits: Record<string, number> = {};
      for (const k of COMPUTE_LIMITS) limits[k] = adapter.limits[k];
      // Dawn's adapter objects take an own property over their prototype's method.
      adapter.requestDevice = (d?: GPUDeviceDescriptor) =>
        requestDevice({ ...d, requiredLimits: { ...limits, ...d?.requiredLimits } });
      return adapter;
    },
    getPreferredCanvasFormat: () => 'rgba8unorm',
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
  };
}

/**
 * Makes `navigator.gpu` Dawn's GPU (Node only), so that importing
 * `@tensorflow/tfjs-backend-webgpu` afterwards registers its 'webgpu' backend. Call it
 * before that import; a second call does nothing.
 */
export async function installDawnNavigator(
  backend = process.env['PROJC_WEBGPU_BACKEND'] ?? 'opengl',
): Promise<void> {
  if (pinned) return;
  process.env['EGL_PLATFORM'] ??= 'surfaceless';
  const dawn = await import('webgpu');
  Object.assign(globalThis, dawn.globals);
  pinned = dawn.create([`backend=${backend}`]);
  const gpu = compatibilityGpu(pinned);
  const nav: unknown = Reflect.get(globalThis, 'navigator');
  if (typeof nav === 'object' && nav !== null)
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu },
      configurable: true,
      writable: true,
    });
}
