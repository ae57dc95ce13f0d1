// Getting a GPUDevice wherever projc runs: a device the caller already has, the browser's
// `navigator.gpu`, or a platform provider registered by the entry point. Node's provider
// (Dawn's bindings, the `webgpu` npm package) lives in dawn.ts, which only the Node entry
// (src/index.ts) and the CLI wire in: this module imports nothing from Node, so a browser
// bundle of projc (src/browser.ts) never reaches `node:` modules or Dawn.

/**
 * Sections of projc's README (shipped in the package) that explain each failure; error
 * messages end with one. test/docs/readme.test.ts checks that each heading exists.
 */
export const TROUBLESHOOTING = {
  noAdapter: "projc's README.md#no-webgpu-adapter-found",
  egl: "projc's README.md#egl-on-a-machine-without-a-gpu",
  limits: "projc's README.md#device-limits",
} as const;

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

/**
 * Gets a device where there is no `navigator.gpu`: in Node, Dawn (dawn.ts). Registered by
 * the Node entry point so that the browser build never imports it.
 */
export type DeviceProvider = (opts: AcquireOptions) => Promise<AcquiredDevice>;

let provider: DeviceProvider | undefined;

/** Sets the provider `acquireDevice` falls back on without `navigator.gpu` (undefined: none). */
export function registerDeviceProvider(p: DeviceProvider | undefined): void {
  provider = p;
}

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
        'navigator.gpu returned no WebGPU adapter: this browser or machine has WebGPU ' +
          `disabled. See ${TROUBLESHOOTING.noAdapter}`,
      );
    }
    const device = await requestDevice(adapter, opts.features);
    return wrap(device, describe(adapter.info, adapter), 'navigator', adapter);
  }
  if (provider) return provider(opts);
  throw new DeviceUnavailableError(
    'no WebGPU here: there is no navigator.gpu and no device provider. In Node, import ' +
      "`projc` (its Node entry loads Dawn's bindings); elsewhere pass your GPUDevice as " +
      `Runtime.create({ device }). See ${TROUBLESHOOTING.noAdapter}`,
  );
}

// The helpers below are shared with dawn.ts.

/** Tries featureLevel 'core' then 'compatibility' unless the caller chose one. */
export async function requestAdapter(
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

export async function requestDevice(
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

export function wrap(
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

export function describe(info: GPUAdapterInfo, adapter?: GPUAdapter): string {
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
