import type { Dim, Node } from '../src/ir/types.ts';
import { literal } from './wgsl-values.ts';

/** What a scan needs of the emitting scope (emit-values.ts's `Scope`). */
export interface ScanScope {
  readonly lines: string[];
  readonly tag: string;
  size(d: Dim): string;
  coord(d: Dim): string;
  value(id: number): string;
  isolated(d: Dim, c: string, operand: number): ScanScope;
}

/**
 * `shift` and `cumsum` read their operand at other positions along their dim (other rows,
 * when it is a row dim). The planner admits only operands computed elementwise from
 * parameters (src/plan/scan-operands.ts), so they are recomputed there in a scope of their
 * own: every coordinate as here but the scanned one, nothing cached from this scope, and
 * nothing read from chunk storage (which holds only this chunk's rows).
 */
export function emitScan(scope: ScanScope, n: Node): string {
  const d = n.attrs.dim ?? '';
  const operand = n.inputs[0] ?? -1;
  const size = `i32(${scope.size(d)})`;
  if (n.op === 'shift') {
    const pos = `(i32(${scope.coord(d)}) + ${n.attrs.offset ?? 0}i)`;
    const at = scope.isolated(d, `u32(clamp(${pos}, 0i, ${size} - 1i))`, operand);
    const x = at.value(operand);
    scope.lines.push(...at.lines);
    const fill = scope.value(n.inputs[1] ?? -1);
    return `select(${fill}, ${x}, ${pos} >= 0i && ${pos} < ${size})`;
  }
  // cumsum: Σ over s ≤ t (reverse: s ≥ t) of the operand at s, one loop per element.
  const j = `j${n.id}${scope.tag}`;
  const acc = `cs${n.id}${scope.tag}`;
  const at = scope.isolated(d, j, operand);
  const x = at.value(operand);
  const c = scope.coord(d);
  const [from, to] = n.attrs.reverse ? [c, scope.size(d)] : ['0u', `${c} + 1u`];
  scope.lines.push(
    `var ${acc} = ${literal(0, n.dtype)};`,
    `for (var ${j} = ${from}; ${j} < ${to}; ${j} = ${j} + 1u) {`,
    ...at.lines.map((l) => `  ${l}`),
    `  ${acc} = ${acc} + ${x};`,
    '}',
  );
  return acc;
}
