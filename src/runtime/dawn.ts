// Node's device provider: Dawn's bindings (the `webgpu` npm package). Only the Node entry
// (src/index.ts), the CLI and the test setup register it; the browser build never imports
// this file, which is the one place projc touches Dawn, EGL and the file system for a device.
//
// Node specifics, all measured with webgpu@0.6.2 (see docs/webgpu-setup.md):
// - Dawn's default Linux backend is Vulkan only. Without a GPU we fall back to OpenGL over
//   EGL, which Mesa serves with llvmpipe on the CPU. EGL needs EGL_PLATFORM=surfaceless
//   when there is no display. Dawn's OpenGL backend only offers the `compatibility` feature
//   level, whose default device limits are tiny: we request the adapter's own limits.
// - Vulkan on the CPU (lavapipe) works with Mesa 25.0 but Dawn rejects Debian 12's 22.3.
// - The object returned by `create()` must outlive every device made from it: if the GC
//   collects it while a device lives, the process aborts inside Dawn. We pin it here until
//   `release()`. An idle instance does not keep Node's event loop alive.
import { existsSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import {
  DeviceUnavailableError,
  describe,
  registerDeviceProvider,
  requestAdapter,
  requestDevice,
  TROUBLESHOOTING,
  wrap,
  type AcquiredDevice,
  type AcquireOptions,
} from './device.ts';

/** Makes `acquireDevice` (and so `Runtime.create()`) use Dawn when there is no navigator.gpu. */
export function registerDawn(): void {
  registerDeviceProvider(acquireDawn);
}

/** The `webgpu` package's exports that we use. */
interface DawnModule {
  create(flags: string[]): GPU;
  globals: object;
}

// Dawn instances by create() flags, each with its count of live devices: pinned while a
// device lives (see the header comment), shared by the devices made meanwhile (one EGL
// set-up instead of one per device), dropped when its last device is released.
const instances = new Map<string, { gpu: GPU; devices: number }>();
// The backend that worked, so later calls skip the ones that failed (and their warnings).
let workingBackend: string | undefined;

/** The Node provider: Dawn, trying the backends that can work here in turn. */
export async function acquireDawn(opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  const dawn = await loadDawn();
  installGlobals(dawn.globals);
  // Read by Mesa's EGL when the first adapter is requested; harmless with a real GPU.
  const eglPlatformWasSet = process.env['EGL_PLATFORM'] !== undefined;
  process.env['EGL_PLATFORM'] ??= 'surfaceless';
  const explicit = opts.backend ?? (process.env['PROJC_WEBGPU_BACKEND'] || undefined);
  // '' is Dawn's default backend (Vulkan on Linux, Metal on macOS, D3D12 on Windows).
  const backends: string[] = explicit
    ? [explicit]
    : workingBackend !== undefined
      ? [workingBackend]
      : process.platform === 'linux'
        ? hasVulkanLoader()
          ? ['', 'opengl']
          : ['opengl']
        : [''];
  const tried: string[] = [];
  for (const backend of backends) {
    const flags = [...(opts.dawnFlags ?? [])];
    if (backend) flags.push(`backend=${backend}`);
    const key = flags.join('\n');
    // Counted from before the first await, so concurrent calls share one pinned instance.
    const entry = instances.get(key) ?? { gpu: dawn.create(flags), devices: 0 };
    instances.set(key, entry);
    entry.devices++;
    const unpin = () => {
      if (--entry.devices === 0 && instances.get(key) === entry) instances.delete(key);
    };
    let acquired: AcquiredDevice | undefined;
    try {
      const label = backend || 'default';
      const adapter = await requestAdapter(entry.gpu, opts.adapterOptions, tried, label);
      if (!adapter) continue;
      const device = await requestDevice(adapter, opts.features);
      if (!explicit) workingBackend = backend;
      const info = `${describe(adapter.info, adapter)}, dawn backend=${label}`;
      acquired = wrap(device, info, 'dawn', adapter, unpin);
      return acquired;
    } finally {
      if (!acquired) unpin();
    }
  }
  throw new DeviceUnavailableError(
    `no WebGPU adapter found through Dawn (tried ${tried.join('; ')}). ` +
      'Without a GPU, Dawn runs on the CPU through Mesa (OpenGL over EGL, llvmpipe): on ' +
      'Debian/Ubuntu run `bash scripts/setup-webgpu.sh` (apt-get install libegl-dev ' +
      'libegl1 libegl-mesa0 libgl1-mesa-dri) and keep EGL_PLATFORM=surfaceless. ' +
      eglHint(eglPlatformWasSet) +
      'PROJC_WEBGPU_BACKEND=vulkan|opengl|opengles picks a backend. ' +
      `See ${TROUBLESHOOTING.noAdapter} and ${TROUBLESHOOTING.egl}.`,
  );
}

// Why EGL may not have seen EGL_PLATFORM=surfaceless, the usual cause on a CPU-only box.
function eglHint(wasSet: boolean): string {
  const value = process.env['EGL_PLATFORM'];
  if (wasSet && value !== 'surfaceless') return `(EGL_PLATFORM is '${value}' here.) `;
  if (wasSet || isMainThread) return '';
  // A worker thread's process.env is its own copy: setting it never reaches Mesa.
  return (
    '(This is a worker thread, whose process.env changes do not reach native code: set ' +
    "EGL_PLATFORM=surfaceless in the parent process, or use vitest's 'forks' pool.) "
  );
}

async function loadDawn(): Promise<DawnModule> {
  try {
    return await import('webgpu');
  } catch (e) {
    throw new DeviceUnavailableError(
      `cannot load Dawn's Node bindings (the 'webgpu' npm package): ${String(e)}. ` +
        `Install it (\`npm install webgpu\`); see ${TROUBLESHOOTING.noAdapter}.`,
      { cause: e },
    );
  }
}

// Code written against @webgpu/types uses GPUBufferUsage, GPUMapMode... as globals; Dawn
// exports them instead. Only what is missing is installed, never a browser's own.
function installGlobals(globals: object): void {
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Reflect.set(globalThis, name, value);
  }
}

/**
 * Whether the Vulkan loader Dawn's default Linux backend needs is installed. Without it
 * Dawn can only fail (and print a warning), so we go straight to OpenGL.
 */
function hasVulkanLoader(): boolean {
  const dirs = [
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
    ...(process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean),
  ];
  return dirs.some((d) => existsSync(`${d}/libvulkan.so.1`));
}
