import type { Span } from '../diagnostics/source.ts';
import type { IrFunction } from './types.ts';

/**
 * Carries a function's per-node annotations (source names, source spans) over to new node
 * ids after a pass renumbers nodes; the first annotation to land on a node wins.
 */
export function remapAnnotations(
  fn: IrFunction,
  to: (id: number) => number | undefined,
): { labels: Map<number, string>; spans: Map<number, Span> } {
  const labels = new Map<number, string>();
  const spans = new Map<number, Span>();
  for (const [id, name] of fn.labels ?? []) {
    const t = to(id);
    if (t !== undefined && !labels.has(t)) labels.set(t, name);
  }
  for (const [id, span] of fn.spans ?? []) {
    const t = to(id);
    if (t !== undefined && !spans.has(t)) spans.set(t, span);
  }
  return { labels, spans };
}
