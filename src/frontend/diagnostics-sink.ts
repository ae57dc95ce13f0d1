import type { Diagnostic } from '../diagnostics/diagnostic.ts';

/** Collects diagnostics, dropping exact repeats (an inlined fn reports each problem once). */
export class DiagnosticSink {
  readonly list: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private errorsPushed = 0;

  push(d: Diagnostic): void {
    if (d.severity === 'error') this.errorsPushed++;
    const key = `${d.code}|${d.span?.file.path}|${d.span?.start}|${d.span?.end}|${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(d);
  }

  /**
   * Errors pushed, repeats included: a kernel whose only error repeats one already reported
   * (a fn called from two kernels) has still failed.
   */
  get errorCount(): number {
    return this.errorsPushed;
  }
}
