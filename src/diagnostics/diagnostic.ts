import type { Code } from './codes.ts';
import type { Span } from './source.ts';

export type Severity = 'error' | 'warning';

/**
 * A problem in the user's program or inputs. `code` is stable (`P0xxx`); the index of
 * codes lives in `codes.ts` and in docs/language.md.
 */
export interface Diagnostic {
  readonly severity: Severity;
  readonly code: Code;
  readonly message: string;
  /** Where the caret goes; absent for problems with no source position (e.g. input files). */
  readonly span?: Span;
  /** Secondary spans, each with a short label (e.g. "declared here"). */
  readonly labels?: readonly { span: Span; message: string }[];
  readonly notes?: readonly string[];
  readonly help?: readonly string[];
}

/**
 * A diagnosed user error thrown across layers that cannot return diagnostics (the CLI,
 * the runtime). Rendered like any diagnostic; exit code 1.
 */
export class UserError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: Diagnostic | readonly Diagnostic[]) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics as Diagnostic];
    super(list.map((d) => d.message).join('; '));
    this.name = 'UserError';
    this.diagnostics = list;
  }
}

/** A bug in projc itself, never the user's fault. Printed as an internal error. */
export class InternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalError';
  }
}

export function assertNever(x: never, what = 'value'): never {
  throw new InternalError(`unexpected ${what}: ${JSON.stringify(x)}`);
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}
