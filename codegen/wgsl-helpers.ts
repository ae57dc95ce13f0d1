import type { WgslHelper } from '../src/ops/record.ts';
import { CORE_HELPERS } from '../src/ops/wgsl-helpers.ts';

/**
 * The WGSL helper functions a module calls, each once, callees first: the core three
 * (NaN and inf literals) and `used` (those of the op records the module renders) with
 * everything they call. The order is the order of first need, so the text is deterministic.
 */
export function helperSource(used: Iterable<WgslHelper>): string {
  const out: WgslHelper[] = [];
  const seen = new Set<string>();
  const add = (h: WgslHelper): void => {
    if (seen.has(h.name)) return;
    seen.add(h.name);
    for (const n of h.needs) add(n);
    out.push(h);
  };
  for (const h of CORE_HELPERS) add(h);
  for (const h of used) add(h);
  return out.map((h) => h.code).join('\n') + '\n';
}
