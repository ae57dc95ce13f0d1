// Getting a GPUDevice wherever projc runs: a device the caller already has, the browser's
// `navigator.gpu`, or Dawn's Node bindings (the `webgpu` npm package).
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

/** Raised when no WebGPU adapter or device can be had; the message says what to install. */
export class DeviceUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeviceUnavailableError';
  }
}

/** Raised by `throwIfLost()` once the device is lost (driver reset, OOM, destroy()). */
export class DeviceLostError extends Error {
  readonly reason: GPUDeviceLostReason;
  constructor(info: GPUDeviceLostInfo, adapterInfo: string) {
    super(`the WebGPU device (${adapterInfo}) was lost (${info.reason}): ${info.message}`);
    this.name = 'DeviceLostError';
    this.reason = info.reason;
  }
}

/** The limits the runtime plans with; requested at the adapter's maximum. */
export const COMPUTE_LIMITS = [
  'maxBindGroups',
  'maxBindingsPerBindGroup',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxBufferSize',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;
export type ComputeLimitName = (typeof COMPUTE_LIMITS)[number];
export type DeviceLimits = Readonly<Record<ComputeLimitName, number>>;

/** Features requested when the adapter has them; codegen checks `features` before use. */
export const OPTIONAL_FEATURES: readonly GPUFeatureName[] = [
  'shader-f16',
  'subgroups',
  'timestamp-query',
];

export interface AcquireOptions {
  /** Use this device as-is; `release()` then leaves it alone (the caller owns it). */
  device?: GPUDevice;
  /** Passed to requestAdapter. A `featureLevel` here disables the core→compatibility retry. */
  adapterOptions?: GPURequestAdapterOptions;
  /**
   * Node only: Dawn backend ('vulkan', 'opengl', 'opengles', 'metal', 'd3d12', 'null'...).
   * Default: $PROJC_WEBGPU_BACKEND, else Dawn's default backend, then (Linux) 'opengl'.
   */
  backend?: string;
  /** Node only: extra `create()` flags, e.g. 'enable-dawn-features=dump_shaders'. */
  dawnFlags?: readonly string[];
  /** Features to request when present; default `OPTIONAL_FEATURES`. */
  features?: readonly GPUFeatureName[];
}

export interface AcquiredDevice {
  device: GPUDevice;
  /** One line: device, description, backend and feature level, for logs and errors. */
  adapterInfo: string;
  /** The device's limits (for Dawn and navigator: the adapter's maximum). */
  limits: DeviceLimits;
  /** What the adapter offered (equal to `limits`); undefined for a caller's device. */
  adapterLimits: DeviceLimits | undefined;
  features: ReadonlySet<string>;
  source: 'caller' | 'navigator' | 'dawn';
  /** Resolves when the device is lost; not after `release()`, which is a normal end. */
  lost: Promise<DeviceLostError>;
  /** Throws `DeviceLostError` once the device is lost (and `release()` was not called). */
  throwIfLost(): void;
  /** Destroys a device this function created and unpins the Dawn instance. Idempotent. */
  release(): void;
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

/** Acquires a device; throws `DeviceUnavailableError` when none can be had. */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  if (opts.device) {
    const info = 'adapterInfo' in opts.device ? opts.device.adapterInfo : undefined;
    return wrap(opts.device, info ? describe(info) : 'caller-provided device', 'caller');
  }
  const browserGpu = navigatorGpu();
  if (browserGpu) {
    const adapter = await requestAdapter(browserGpu, opts.adapterOptions, []);
    if (!adapter) {
      throw new DeviceUnavailableError(
        'navigator.gpu returned no WebGPU adapter: this browser or machine has WebGPU disabled',
      );
    }
    const device = await requestDevice(adapter, opts.features);
    return wrap(device, describe(adapter.info, adapter), 'navigator', adapter);
  }
  return acquireDawn(opts);
}

async function acquireDawn(opts: AcquireOptions): Promise<AcquiredDevice> {
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
        ? (await hasVulkanLoader())
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
      (await eglHint(eglPlatformWasSet)) +
      'PROJC_WEBGPU_BACKEND=vulkan|opengl|opengles picks a backend. See docs/webgpu-setup.md.',
  );
}

// Why EGL may not have seen EGL_PLATFORM=surfaceless, the usual cause on a CPU-only box.
async function eglHint(wasSet: boolean): Promise<string> {
  const value = process.env['EGL_PLATFORM'];
  if (wasSet && value !== 'surfaceless') return `(EGL_PLATFORM is '${value}' here.) `;
  const { isMainThread } = await import('node:worker_threads');
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
        'Run `npm ci`; see docs/webgpu-setup.md.',
      { cause: e },
    );
  }
}

/** Tries featureLevel 'core' then 'compatibility' unless the caller chose one. */
async function requestAdapter(
  gpu: GPU,
  options: GPURequestAdapterOptions | undefined,
  tried: string[],
  label = 'navigator.gpu',
): Promise<GPUAdapter | null> {
  const levels = options?.featureLevel ? [options.featureLevel] : ['core', 'compatibility'];
  for (const featureLevel of levels) {
    try {
      const adapter = await gpu.requestAdapter({ ...options, featureLevel });
      if (adapter) return adapter;
      tried.push(`${label}/${featureLevel}: none`);
    } catch (e) {
      // Dawn throws for a backend name it does not know.
      tried.push(`${label}/${featureLevel}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return null;
}

async function requestDevice(
  adapter: GPUAdapter,
  features: readonly GPUFeatureName[] = OPTIONAL_FEATURES,
): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of COMPUTE_LIMITS) {
    const value = adapter.limits[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const requiredFeatures = features.filter((f) => adapter.features.has(f));
  try {
    return await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'projc' });
  } catch (e) {
    throw new DeviceUnavailableError(
      `the WebGPU adapter (${describe(adapter.info, adapter)}) refused a device: ${String(e)}`,
      { cause: e },
    );
  }
}

function wrap(
  device: GPUDevice,
  adapterInfo: string,
  source: AcquiredDevice['source'],
  adapter?: GPUAdapter,
  unpin: () => void = () => {},
): AcquiredDevice {
  let released = false;
  let lostError: DeviceLostError | undefined;
  const lost = new Promise<DeviceLostError>((resolve) => {
    void device.lost.then((info) => {
      if (released) return;
      lostError = new DeviceLostError(info, adapterInfo);
      resolve(lostError);
    });
  });
  return {
    device,
    adapterInfo,
    limits: readLimits(device.limits),
    adapterLimits: adapter ? readLimits(adapter.limits) : undefined,
    features: new Set(device.features),
    source,
    lost,
    throwIfLost() {
      if (lostError) throw lostError;
    },
    release() {
      if (released) return;
      released = true;
      if (source === 'caller') return;
      device.destroy();
      unpin();
    },
  };
}

function readLimits(l: GPUSupportedLimits): DeviceLimits {
  return Object.freeze({
    maxBindGroups: l.maxBindGroups,
    maxBindingsPerBindGroup: l.maxBindingsPerBindGroup,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxUniformBuffersPerShaderStage: l.maxUniformBuffersPerShaderStage,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxUniformBufferBindingSize: l.maxUniformBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupSizeZ: l.maxComputeWorkgroupSizeZ,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  });
}

function describe(info: GPUAdapterInfo, adapter?: GPUAdapter): string {
  const parts = [info.vendor, info.architecture, info.device].filter((s) => s !== '');
  const head = parts.length > 0 ? parts.join(' ') : 'unknown adapter';
  const level = adapter
    ? adapter.features.has('core-features-and-limits')
      ? 'core'
      : 'compat'
    : '';
  const tail = [info.description, level].filter((s) => s !== '').join(', ');
  return tail === '' ? head : `${head} (${tail})`;
}

function navigatorGpu(): GPU | undefined {
  const nav: unknown = Reflect.get(globalThis, 'navigator');
  if (typeof nav !== 'object' || nav === null || !('gpu' in nav)) return undefined;
  const gpu: unknown = nav.gpu;
  return isGpu(gpu) ? gpu : undefined;
}

function isGpu(x: unknown): x is GPU {
  return typeof x === 'object' && x !== null && 'requestAdapter' in x;
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
async function hasVulkanLoader(): Promise<boolean> {
  // Node only (this module also serves browsers, so node:fs is loaded on demand).
  const { existsSync } = await import('node:fs');
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
