import type { Diagnostic } from '../diagnostics/diagnostic.ts';

/** Collects diagnostics, dropping exact repeats (an inlined fn reports each problem once). */
export class DiagnosticSink {
  readonly list: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  push(d: Diagnostic): void {
    const key = `${d.code}|${d.span?.file.path}|${d.span?.start}|${d.span?.end}|${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(d);
  }

  get errorCount(): number {
    return this.list.filter((d) => d.severity === 'error').length;
  }
}
