import { InternalError } from '../diagnostics/diagnostic.ts';
import type { ChunkPlan } from './types.ts';

/**
 * Checks a plan's schedule against its buffers: every buffer a step reads is an input, is
 * written by the same step (an accumulator folded into), or was written before it, and a
 * chunk-scoped buffer only within the same loop (it holds the current chunk only). Returns
 * the problems; an empty list is a plan whose order is sound.
 */
export function planProblems(plan: ChunkPlan): string[] {
  const byName = new Map(plan.buffers.map((b) => [b.name, b]));
  const problems: string[] = [];
  const written = new Set<string>();
  const check = (
    where: string,
    reads: readonly string[],
    writes: readonly string[],
    loop?: Set<string>,
  ) => {
    for (const r of reads) {
      const b = byName.get(r);
      if (!b) {
        problems.push(`${where} reads ${r}, which is not a buffer of the plan`);
        continue;
      }
      if (b.role === 'input' || writes.includes(r)) continue;
      if (b.scope === 'chunk' ? !loop?.has(r) : !written.has(r))
        problems.push(`${where} reads ${r} before it is written`);
    }
    for (const w of writes) {
      if (!byName.has(w)) problems.push(`${where} writes ${w}, which is not a buffer of the plan`);
      written.add(w);
      loop?.add(w);
    }
  };
  for (const node of plan.schedule) {
    if (node.kind !== 'loop') {
      check(`${node.kind} %${node.node}`, node.reads, node.writes);
      continue;
    }
    const inLoop = new Set<string>();
    node.body.forEach((st, k) => {
      if (st.kind !== 'tiles')
        return check(`sweep ${node.sweep} step ${k} (${st.kind})`, st.reads, st.writes, inLoop);
      st.body.forEach((inner, j) =>
        check(
          `sweep ${node.sweep} step ${k} pass ${st.pass} step ${j} (${inner.kind})`,
          inner.reads,
          inner.writes,
          inLoop,
        ),
      );
    });
  }
  return problems;
}

/** Throws for a plan whose schedule reads what it has not written (a planner bug). */
export function validatePlan(plan: ChunkPlan): void {
  const problems = planProblems(plan);
  if (problems.length) throw new InternalError(`invalid plan: ${problems.join('; ')}`);
}
