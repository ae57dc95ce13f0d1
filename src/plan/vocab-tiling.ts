import type { Dim, IrFunction, Node } from '../ir/types.ts';
import { monoidOf, opRecord } from '../ops/registry.ts';
import type { ChunkPlan, Sweep } from './types.ts';

/**
 * What a sweep of a rows-only plan would become with its projections' output dim (the
 * vocabulary `V` of `z = Xc·Wᵀ`) cut into tiles, Cut-Cross-Entropy style, or why it cannot.
 *
 * A sweep is eligible when every use of a _tile value_ (a row value of the sweep that has
 * the tiled dim: the logits and everything elementwise from them) is one of
 * - another tile value (elementwise, `where`, `broadcast`): recomputed per tile;
 * - a reduction over exactly the tiled dim with a monoid (`logsumexp`, `max`, `sum`...), or a
 *   `gather` along it: a _statistic_, merged tile by tile with its monoid (a gather's value
 *   comes from the one tile that holds its index);
 * - an operand of a product of the sweep that contracts the tiled dim (`dXc = dz·W`,
 *   accumulated over the tiles) or keeps it as an output dim (`dW = dzᵀ·Xc`, one slice of
 *   `dW` per tile): the _backward_ products, fed by tile values computed from finished
 *   statistics;
 * - nothing else: a tile value that is a result, or read by anything else (a reduction over
 *   other dims, a product contracting the rows into a value without the tiled dim...), needs
 *   the whole row and keeps the sweep rows-only.
 *
 * Statistics whose operand reads another statistic over the tiled dim need that one
 * finished first: level 2 (Σ p·z after the p = softmax(z) it reads), and each level is one
 * more pass over the tiles, recomputing the logit tiles; a softmax denominator
 * Σ e^(z − max z) is not one (it is logsumexp's state). The backward takes one last pass.
 */
/**
 * A statistic merged tile by tile with its monoid (the reduction op's record). `of`: read
 * from the sum half of `logsumexp(of)`'s state (a softmax denominator Σ e^(x − max x)).
 */
export interface Statistic {
  readonly node: number;
  readonly monoid: string;
  readonly of?: number;
}

export type SweepTiling =
  | {
      readonly sweep: number;
      readonly eligible: true;
      readonly dim: Dim;
      /** The products whose output has the tiled dim as its `n`: recomputed in every pass. */
      readonly forward: readonly number[];
      /** Statistics by level (pass over the tiles), each with its monoid (the reduction op). */
      readonly statistics: readonly (readonly Statistic[])[];
      /** Tile values the backward products read (dz): formed per tile in the last pass. */
      readonly dz: readonly number[];
      /** Products that accumulate over the tiles (dXc) or write one slice per tile (dW). */
      readonly backward: readonly number[];
      /** Passes over the tiles per chunk: the statistic levels, plus one for the backward. */
      readonly passes: number;
      /** Products per chunk: each pass recomputes the forward ones. */
      readonly products: number;
      /** Products per chunk of the rows-only sweep. */
      readonly rowsOnlyProducts: number;
    }
  | { readonly sweep: number; readonly eligible: false; readonly reason: string };

/** Vocabulary tiling of each sweep that has a projection producing a non-row dim. */
export function vocabTiling(fn: IrFunction, plan: ChunkPlan): SweepTiling[] {
  return plan.sweeps.flatMap((sw) => {
    const t = sweepTiling(fn, plan, sw);
    return t ? [t] : [];
  });
}

function sweepTiling(fn: IrFunction, plan: ChunkPlan, sw: Sweep): SweepTiling | undefined {
  const rows = plan.rows;
  const node = (id: number) => fn.nodes[id] as Node;
  const products = sw.stages.flatMap((st) => (st.kind === 'matmul' ? [st] : []));
  const productIds = new Set(products.map((st) => st.node));
  // Whether a value depends on a product of this sweep (dz does, through z; Xc does not).
  // Inputs have smaller ids, so one pass in id order decides it (no recursion: a chain of
  // thousands of statements is a graph that deep).
  const after: boolean[] = [];
  for (const n of fn.nodes) after[n.id] = n.inputs.some((i) => productIds.has(i) || after[i]);
  const afterProduct = (id: number): boolean => after[id] === true;
  // The forward projections: row products of values computed before any product of the sweep.
  const forward = products.filter(
    (st) =>
      !afterProduct(st.node) &&
      st.roles.n.length === 1 &&
      st.roles.m.length > 0 &&
      st.roles.m.every((d) => rows.includes(d)) &&
      !rows.includes(st.roles.n[0] ?? ''),
  );
  const first = forward[0];
  if (!first) return undefined;
  const dim = first.roles.n[0] as Dim;
  const no = (reason: string): SweepTiling => ({ sweep: sw.index, eligible: false, reason });
  if (forward.some((st) => st.roles.n[0] !== dim))
    return no(
      `its projections produce different dims (${forward.map((st) => st.roles.n[0]).join(', ')})`,
    );
  const forwardIds = new Set(forward.map((st) => st.node));
  const inSweep = new Set([...sw.rows, ...products.map((st) => st.node)]);
  const members = new Set([...inSweep, ...sw.carried]);
  const isTile = (id: number) =>
    inSweep.has(id) && plan.classes.get(id) === 'row' && node(id).dims.includes(dim);
  const consumers = new Map<number, number[]>();
  for (const n of fn.nodes)
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n.id]);
  const results = new Set(fn.results.map((r) => r.node));
  const backward = new Set<number>();
  const statistics = new Set<number>();
  const dz = new Set<number>();
  const show = (id: number) => fn.labels?.get(id) ?? `%${id}`;
  for (const t of [...inSweep].filter(isTile).sort((a, b) => a - b)) {
    if (results.has(t)) return no(`the result ${show(t)} holds whole rows over ${dim}`);
    for (const c of consumers.get(t) ?? []) {
      // Other sweeps recompute what they read: only this sweep's uses count.
      if (!members.has(c)) continue;
      const n = node(c);
      const st = products.find((p) => p.node === c);
      if (st && !forwardIds.has(c)) {
        // dXc = dz·W contracts the tiled dim; dW = dzᵀ·Xc keeps it and contracts the rows.
        const contracts = st.roles.k.length === 1 && st.roles.k[0] === dim;
        const slices =
          st.roles.m.length === 1 &&
          st.roles.m[0] === dim &&
          st.roles.k.every((d) => rows.includes(d));
        if (contracts || slices) {
          backward.add(c);
          dz.add(t);
          continue;
        }
        return no(
          `the product ${show(c)} reads the tile value ${show(t)} but neither contracts ${dim} nor keeps it`,
        );
      }
      if (isTile(c)) {
        if (opRecord(n.op).kind === 'elementwise' || n.op === 'broadcast') continue;
        return no(`${show(c)} (${n.op}) reads the tile value ${show(t)} whole`);
      }
      if (
        monoidOf(n.op) &&
        (n.attrs.axes ?? []).length === 1 &&
        n.attrs.axes?.[0] === dim &&
        plan.classes.get(c) === 'row'
      ) {
        statistics.add(c);
        continue;
      }
      if (n.op === 'gather' && n.attrs.dim === dim && n.inputs[0] === t) {
        statistics.add(c);
        continue;
      }
      return no(
        `${show(c)} (${n.op}${n.attrs.axes ? ` over ${n.attrs.axes.join(', ')}` : ''}) reads the tile value ${show(t)} outside a reduction over ${dim}`,
      );
    }
  }
  // Σ_v e^(x_v − max_v x) is the sum half of logsumexp's state (max, Σ e^(x − max)) once
  // every tile is merged (partial sums are rescaled to the final max, a relative rounding),
  // so it needs no finished max first: it is read from x's logsumexp state.
  const overDim = (n: Node | undefined, op: string) =>
    n?.op === op && (n.attrs.axes ?? []).length === 1 && n.attrs.axes?.[0] === dim;
  const softmaxSumOf = (id: number): number | undefined => {
    const s = node(id);
    const e = fn.nodes[s.inputs[0] ?? -1];
    const u = fn.nodes[e?.inputs[0] ?? -1];
    if (!overDim(s, 'sum') || e?.op !== 'exp' || u?.op !== 'sub') return undefined;
    const [x, m0] = u.inputs;
    let m = fn.nodes[m0 ?? -1];
    if (m?.op === 'detach') m = fn.nodes[m.inputs[0] ?? -1];
    return overDim(m, 'max') && m?.inputs[0] === x ? x : undefined;
  };
  // Levels: a statistic waits for every statistic its operands read within the sweep. What
  // a value reads has a smaller id (a softmax denominator's x too), so one pass in id order.
  const level = new Map<number, number>();
  for (const n of fn.nodes) {
    if (!inSweep.has(n.id)) continue;
    const x = statistics.has(n.id) ? softmaxSumOf(n.id) : undefined;
    const reads = (x === undefined ? n.inputs : [x]).filter((i) => inSweep.has(i));
    let up = 0;
    for (const i of reads) up = Math.max(up, level.get(i) ?? 0);
    level.set(n.id, statistics.has(n.id) ? up + 1 : up);
  }
  const levelOf = (id: number): number => level.get(id) ?? 0;
  const byLevel: Statistic[][] = [];
  for (const s of [...statistics].sort((a, b) => a - b)) {
    const l = levelOf(s);
    const x = softmaxSumOf(s);
    (byLevel[l - 1] ??= []).push(
      x === undefined ? { node: s, monoid: node(s).op } : { node: s, monoid: 'logsumexp', of: x },
    );
  }
  const filled = Array.from({ length: byLevel.length }, (_, k) => byLevel[k] ?? []);
  const passes = filled.length + (backward.size ? 1 : 0);
  return {
    sweep: sw.index,
    eligible: true,
    dim,
    forward: [...forwardIds],
    statistics: filled,
    dz: [...dz].sort((a, b) => a - b),
    backward: [...backward].sort((a, b) => a - b),
    passes,
    products: passes * forward.length + backward.size,
    rowsOnlyProducts: products.length,
  };
}
