import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import type { SourceFile } from '../diagnostics/source.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import { compact } from '../ir/compact.ts';
import type { IrFunction } from '../ir/types.ts';
import type { Decl, FnDecl, Program } from './ast.ts';
import { BUILTINS } from './builtins.ts';
import { DiagnosticSink } from './diagnostics-sink.ts';
import { elaborateKernel } from './elaborate-kernel.ts';
import { parseProgram } from './parse.ts';
import { preludeFns } from './prelude.ts';
import { checkFnNames } from './fn-names.ts';

/** The front end's output for one file: the typed IR of each kernel, and every diagnostic. */
export interface CompiledFile {
  readonly program: Program;
  /** Kernels that elaborated without errors, by name, in source order. */
  readonly kernels: ReadonlyMap<string, IrFunction>;
  /** Errors and warnings, in source order. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Parses and type-checks a file, lowering each kernel to IR (dead code removed). Never
 * throws for any input text: every problem is a diagnostic.
 */
export function compileFile(file: SourceFile): CompiledFile {
  const sink = new DiagnosticSink();
  const parsed = parseProgram(file);
  for (const d of parsed.diagnostics) sink.push(d);
  const program = parsed.program;
  const fns = new Map(preludeFns());
  const seen = new Map<string, Decl>();
  for (const d of program.decls) {
    const prev = seen.get(d.name.name);
    if (prev) {
      sink.push({
        severity: 'error',
        code: 'P0104',
        message: `\`${d.name.name}\` is declared twice`,
        span: d.name.span,
        labels: [{ span: prev.name.span, message: 'first declared here' }],
      });
      continue;
    }
    seen.set(d.name.name, d);
    if (d.kind === 'fn') {
      if (BUILTINS.has(d.name.name))
        sink.push({
          severity: 'error',
          code: 'P0116',
          message: `fn \`${d.name.name}\` would shadow the built-in of that name`,
          span: d.name.span,
          help: ['choose another name'],
        });
      else fns.set(d.name.name, d);
    }
  }
  // A declaration holding a syntax error lost part of its text to recovery: checking it
  // would only report the follow-on damage (names whose assignment was dropped).
  const syntaxErrors = parsed.diagnostics.filter(
    (d) => d.severity === 'error' && d.span?.file === file,
  );
  const broken = new Set(
    program.decls.filter((d) =>
      syntaxErrors.some(
        (e) => e.span && e.span.start >= d.span.start && e.span.start <= d.span.end,
      ),
    ),
  );
  for (const d of program.decls) if (d.kind === 'fn' && !broken.has(d)) checkFnNames(d, fns, sink);
  const kernels = new Map<string, IrFunction>();
  for (const d of program.decls) {
    if (d.kind !== 'kernel' || seen.get(d.name.name) !== d || broken.has(d)) continue;
    const before = sink.errorCount;
    const fn = elaborateKernel(
      d,
      fns,
      sink,
      new Set([...broken].filter((b): b is FnDecl => b.kind === 'fn')),
    );
    // A result can also be lost without an error of its own: a call of a fn broken by a
    // syntax error is silently invalid. Such a kernel is not compiled either.
    const wanted = d.result.kind === 'named' ? d.result.fields.length : 1;
    if (sink.errorCount === before && fn.results.length === wanted)
      kernels.set(fn.name, compact(fn));
  }
  const diagnostics = [...sink.list].sort((a, b) => (a.span?.start ?? 0) - (b.span?.start ?? 0));
  return { program, kernels, diagnostics };
}
