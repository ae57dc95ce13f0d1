// What kind of adapter the GPU benchmark runs on: a CPU rasterizer (Mesa's llvmpipe or
// lavapipe, SwiftShader, a fallback adapter), on which the real-size shapes are skipped,
// or a GPU, whose f32 peak is looked up in a small table of known parts.

/** The adapter fields the benchmark reads (a subset of GPUAdapterInfo, all optional). */
export interface AdapterFacts {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

export interface AdapterKind {
  /** True for software rasterizers and fallback adapters. */
  readonly cpu: boolean;
  /** Why it counts as a CPU adapter (undefined on a GPU). */
  readonly reason?: string;
}

const CPU_NAMES = ['llvmpipe', 'lavapipe', 'swiftshader', 'softpipe', 'warp'];

/** The adapter's text fields and projc's one-line description, lower-cased and joined. */
function text(facts: AdapterFacts, described: string): string {
  return [facts.vendor, facts.architecture, facts.device, facts.description, described]
    .filter((s): s is string => typeof s === 'string' && s !== '')
    .join(' ')
    .toLowerCase();
}

export function adapterKind(facts: AdapterFacts, described: string): AdapterKind {
  if (facts.isFallbackAdapter === true)
    return { cpu: true, reason: 'the adapter is a fallback adapter (isFallbackAdapter)' };
  const t = text(facts, described);
  const name = CPU_NAMES.find((n) => t.includes(n));
  return name === undefined
    ? { cpu: false }
    : { cpu: true, reason: `the adapter is a CPU rasterizer (${name}), not a GPU` };
}

/**
 * Dense f32 peaks without tensor cores (FMA = 2 FLOP), from the vendors' data sheets:
 * the GFLOP/s a CUDA-core (or shader-core) matmul like projc's WGSL kernel can approach.
 * A name matches when the adapter's text contains every word of the key.
 */
export const KNOWN_F32_PEAKS: readonly { readonly name: string; readonly gflops: number }[] = [
  { name: 'h200', gflops: 67_000 },
  { name: 'h100 pcie', gflops: 51_200 },
  { name: 'h100', gflops: 67_000 },
  { name: 'a100', gflops: 19_500 },
  { name: 'l40s', gflops: 91_600 },
  { name: 'l4', gflops: 30_300 },
  { name: 'a10g', gflops: 31_200 },
  { name: 't4', gflops: 8_100 },
  { name: 'rtx 4090', gflops: 82_600 },
  { name: 'rtx 3090', gflops: 35_600 },
  { name: 'mi300x', gflops: 81_700 },
];

/** The f32 peak of a known adapter, else undefined ('unknown' in the report). */
export function knownPeak(
  facts: AdapterFacts,
  described: string,
): { name: string; gflops: number } | undefined {
  const t = text(facts, described);
  return KNOWN_F32_PEAKS.find((p) => p.name.split(' ').every((w) => hasWord(t, w)));
}

function hasWord(t: string, w: string): boolean {
  return new RegExp(`(^|[^a-z0-9])${w}([^a-z0-9]|$)`).test(t);
}

/** GPUDevice.adapterInfo where the implementation has it (Dawn, Chrome), else {}. */
export function deviceFacts(device: GPUDevice): AdapterFacts {
  const info: unknown = Reflect.get(device, 'adapterInfo');
  if (typeof info !== 'object' || info === null) return {};
  const str = (k: string): string | undefined => {
    const v: unknown = Reflect.get(info, k);
    return typeof v === 'string' ? v : undefined;
  };
  const fallback: unknown = Reflect.get(info, 'isFallbackAdapter');
  const facts: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  } = {};
  for (const k of ['vendor', 'architecture', 'device', 'description'] as const) {
    const v = str(k);
    if (v !== undefined) facts[k] = v;
  }
  if (typeof fallback === 'boolean') facts.isFallbackAdapter = fallback;
  return facts;
}
