import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { IrFunction, Node } from '../src/ir/types.ts';
import { monoidOf } from '../src/ops/registry.ts';
import type {
  ChunkPlan,
  PlanBuffer,
  TileRowStep,
  TileStatistic,
  TiledSweep,
} from '../src/plan/types.ts';
import { rowEnv, rowFrame } from './row-frame.ts';
import { GRID_X, type KernelModule } from './kernel-module.ts';
import type { ProgramLayout } from './layout.ts';
import { reduction, treeReduce, type ReductionWgsl } from './reduce-wgsl.ts';
import { helperSource } from './wgsl-helpers.ts';
import { fromWord, literal, toWord } from './wgsl-values.ts';

/**
 * A row kernel of a vocabulary-tiled sweep: one workgroup per row of the chunk, over the
 * current tile [t0, t0 + w) of the tiled dim (uniforms `tileStart`, `tileWidth`, and
 * `tileFirst` on the first tile a pass visits, which starts the states); the tile
 * buffers hold element v of a row at v − t0. Statistics finished in earlier passes are read
 * from their state slots (their monoid's `finish`); then, by role:
 * - `statistics`: each statistic of the step's level is reduced over the tile (strided loop,
 *   workgroup tree) and merged into its state with the monoid's `merge` (the first tile
 *   starts it); a gather's value is taken by thread 0 from the tile that holds its index;
 * - `dz`: the sweep's per-element stores over the tile (dz, over the logits' tile);
 * - `finish`: the per-row stores, by thread 0.
 */
export function tileRowKernel(
  fn: IrFunction,
  plan: ChunkPlan,
  layout: ProgramLayout,
  step: TileRowStep,
  t: TiledSweep,
  name: string,
  wg: number,
): KernelModule {
  const stage = t.stage;
  const env = rowEnv(fn, plan, layout, stage.nodes);
  const { bindings } = env;
  const rows = plan.rows;
  const node = (id: number) => fn.nodes[id] as Node;
  const { U, head, row, body, shared, flush } = rowFrame(env, layout, rows);
  const t0 = U((w) => w.kind === 'tileStart');
  const tw = U((w) => w.kind === 'tileWidth');
  const first = `(${U((w) => w.kind === 'tileFirst')} != 0u)`;

  // Levels: a statistic's is its pass; any other value needs what it reads finished.
  const statLevel = new Map<number, number>();
  t.statistics.forEach((l, k) => l.forEach((s) => statLevel.set(s.node, k + 1)));
  const inStage = new Set(stage.nodes);
  const level = new Map<number, number>();
  for (const id of stage.nodes) {
    const own = statLevel.get(id);
    const reads = node(id).inputs.filter((i) => inStage.has(i));
    level.set(id, own ?? Math.max(0, ...reads.map((i) => level.get(i) ?? 0)));
  }
  const done = step.role === 'statistics' ? step.level - 1 : t.statistics.length;

  // The arena words of a state: row lr's `width` words from the slot's start.
  const slot = (b: string) => U((w) => w.kind === 'slot' && w.buffer === b);
  const stateWord = (s: TileStatistic, k: number, access: 'read' | 'read_write') =>
    `${bindings.use('arena', access, 'u32')}[${slot(s.state)} + lr${s.width === 2 ? ' * 2u' : ''}${k ? ` + ${k}u` : ''}]`;
  const stateLoad = (s: TileStatistic, r: ReductionWgsl | undefined) =>
    s.width === 2
      ? `${r?.type ?? 'vec2<f32>'}(bitcast<f32>(${stateWord(s, 0, 'read')}), bitcast<f32>(${stateWord(s, 1, 'read')}))`
      : fromWord(stateWord(s, 0, 'read'), node(s.node).dtype);
  const stateStore = (s: TileStatistic, v: string): string[] =>
    s.width === 2
      ? [
          `${stateWord(s, 0, 'read_write')} = bitcast<u32>(${v}.x);`,
          `${stateWord(s, 1, 'read_write')} = bitcast<u32>(${v}.y);`,
        ]
      : [`${stateWord(s, 0, 'read_write')} = ${toWord(v, node(s.node).dtype)};`];
  const monoidFor = (s: TileStatistic): ReductionWgsl | undefined => {
    if (s.monoid === 'gather') return undefined;
    const m = monoidOf(s.of !== undefined ? 'logsumexp' : node(s.node).op);
    if (!m) throw new InternalError(`statistic %${s.node} has no monoid`);
    const r = reduction(m, s.of !== undefined ? 'f32' : node(s.node).dtype);
    for (const h of r.helpers) env.helpers.add(h);
    return r;
  };

  // Finished statistics: the result from the state (a softmax denominator is its Σ half).
  t.statistics.slice(0, done).forEach((l) =>
    l.forEach((s) => {
      const r = monoidFor(s);
      const state = stateLoad(s, r);
      const v =
        s.of !== undefined ? `${state}.y` : r === undefined ? state : r.finish(`(${state})`);
      row.let(s.node, v);
    }),
  );
  flush();
  const isVector = (id: number) => node(id).dims.some((d) => !rows.includes(d));
  for (const id of stage.nodes)
    if (!isVector(id) && !statLevel.has(id) && (level.get(id) ?? 0) <= done) row.value(id);
  flush();

  const tileLoop = (lines: readonly string[]) => [
    `for (var i = lid; i < ${tw}; i = i + ${wg}u) {`,
    ...lines.map((l) => `  ${l}`),
    '}',
  ];
  const destinations = (id: number): PlanBuffer[] =>
    plan.buffers.filter(
      (b) => b.node === id && b.role !== 'input' && b.role !== 'accumulator' && b.role !== 'state',
    );

  switch (step.role) {
    case 'statistics': {
      const here = t.statistics[step.level - 1] ?? [];
      const reds = here.flatMap((s, k) => {
        const r = monoidFor(s);
        return r ? [{ s, r, v: `a${k}` }] : [];
      });
      if (reds.length) {
        const loop = row.child(new Map([[t.dim, `(${t0} + i)`]]));
        for (const x of reds) body.push(`var ${x.v} = ${x.r.init};`);
        for (const x of reds) {
          const v = loop.value(x.s.of ?? node(x.s.node).inputs[0] ?? -1);
          loop.lines.push(`${x.v} = ${x.r.push(x.v, v)};`);
        }
        body.push(...tileLoop(loop.lines));
        const merges: string[] = [];
        for (const x of reds) {
          const sh = `red_${x.v}`;
          shared.push(`var<workgroup> ${sh}: array<${x.r.type}, ${wg}>;`);
          body.push(...treeReduce(sh, x.v, x.r, wg));
          // The first tile starts the state; later ones merge into it.
          const m = `${x.v}_m`;
          merges.push(
            `let ${m} = select(${x.r.merge(stateLoad(x.s, x.r), `${sh}[0]`)}, ${sh}[0], ${first});`,
            ...stateStore(x.s, m),
          );
        }
        body.push('if (lid == 0u) {', ...merges.map((l) => `  ${l}`), '}');
      }
      // A gather's value: from the tile holding its index (0 where none does, as rows-only).
      for (const s of here) {
        if (s.monoid !== 'gather') continue;
        const g = node(s.node);
        const idx = row.value(g.inputs[1] ?? -1);
        flush();
        const at = row.child(new Map([[t.dim, `u32(${idx})`]]));
        const x = at.value(g.inputs[0] ?? -1);
        body.push(
          'if (lid == 0u) {',
          `  if (${first}) { ${stateStore(s, literal(0, g.dtype)).join(' ')} }`,
          `  if (${idx} >= i32(${t0}) && ${idx} < i32(${t0} + ${tw})) {`,
          ...at.lines.map((l) => `    ${l}`),
          ...stateStore(s, x).map((l) => `    ${l}`),
          '  }',
          '}',
        );
      }
      break;
    }
    case 'dz': {
      const loop = row.child(new Map([[t.dim, `(${t0} + i)`]]));
      // Every value first, then the stores: a dz may overwrite a logits tile another reads.
      const values = t.dz.map((id) => loop.value(id));
      t.dz.forEach((id, k) => {
        for (const b of destinations(id)) loop.lines.push(loop.store(b, values[k] ?? ''));
      });
      body.push(...tileLoop(loop.lines));
      break;
    }
    case 'finish': {
      const lines = t.rowStores.flatMap((id) =>
        destinations(id).map((b) => row.store(b, row.value(id))),
      );
      flush();
      body.push('if (lid == 0u) {', ...lines.map((l) => `  ${l}`), '}');
      break;
    }
  }

  const code = [
    helperSource(env.helpers),
    bindings.declarations(Math.ceil(layout.uniform.length / 4)),
    ...shared,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    `  let lr = wid.y * ${GRID_X}u + wid.x;`,
    `  if (lr >= ${U((w) => w.kind === 'chunkRows')}) { return; }`,
    `  let g = ${U((w) => w.kind === 'chunkStart')} + lr;`,
    ...head.map((l) => `  ${l}`),
    ...body.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
  return { name, code, workgroupSize: wg, bindings: bindings.specs(), dispatch: { kind: 'rows' } };
}
