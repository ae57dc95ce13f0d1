import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../src/ir/types.ts';
import type { WgslHelper } from '../src/ops/record.ts';
import { OPS } from '../src/ops/registry.ts';
import type { ChunkPlan, PlanBuffer } from '../src/plan/types.ts';
import type { BindingSet } from './bindings.ts';
import { accumulatorMonoid, isChunkScoped, uniformIndex, type ProgramLayout } from './layout.ts';
import { emitScan } from './emit-scan.ts';
import { fromComponents, reduction } from './reduce-wgsl.ts';
import { fromWord, literal, toWord, wgslType } from './wgsl-values.ts';

/** What every scope of one generated module shares. */
export interface EmitEnv {
  readonly fn: IrFunction;
  readonly plan: ChunkPlan;
  readonly layout: ProgramLayout;
  readonly bindings: BindingSet;
  /** Nodes this module computes itself rather than reading from where they are stored. */
  readonly local: ReadonlySet<number>;
  /** The WGSL helpers of the op records rendered so far (the module includes these). */
  readonly helpers: Set<WgslHelper>;
}

/**
 * Scopes are numbered per generated module (per `EmitEnv`), never per process, so the same
 * program generated twice gives byte-identical WGSL (and hits the pipeline cache keyed by code).
 */
const scopesMade = new WeakMap<EmitEnv, number>();

/**
 * A block of WGSL statements computing values at fixed coordinates: the coordinate of each
 * dim is a WGSL u32 expression (`c_N`, a loop variable...). Values are computed once per
 * scope as `let`s and found again through the parent chain.
 */
export class Scope {
  readonly lines: string[] = [];
  private readonly names = new Map<number, string>();
  readonly tag: string;

  constructor(
    readonly env: EmitEnv,
    private readonly coords: ReadonlyMap<Dim, string>,
    readonly parent?: Scope,
    /** The local row (index into chunk-scoped buffers), when the scope is within a row. */
    private readonly row?: string,
    /** Nodes to compute here even where they are stored (see `isolated`). */
    private readonly recompute: ReadonlySet<number> = new Set(),
  ) {
    const k = scopesMade.get(env) ?? 0;
    scopesMade.set(env, k + 1);
    this.tag = `_${k}`;
  }

  child(coords: ReadonlyMap<Dim, string>, row?: string): Scope {
    return new Scope(this.env, coords, this, row ?? this.row, this.recompute);
  }

  /** A scope at this one's coordinates but `d` at `c` that recomputes `operand` and its inputs. */
  isolated(d: Dim, c: string, operand: number): Scope {
    const upstream = new Set<number>();
    const stack = [operand];
    while (stack.length) {
      const id = stack.pop() as number;
      if (upstream.has(id)) continue;
      upstream.add(id);
      stack.push(...(this.env.fn.nodes[id]?.inputs ?? []));
    }
    const coords = new Map<Dim, string>();
    for (let s: Scope | undefined = this; s; s = s.parent)
      for (const [k, v] of s.coords) if (!coords.has(k)) coords.set(k, v);
    coords.set(d, c);
    return new Scope(this.env, coords, undefined, this.row, upstream);
  }

  coord(d: Dim): string {
    const c = this.coords.get(d) ?? this.parent?.coord(d);
    if (c === undefined) throw new InternalError(`no coordinate for dim ${d}`);
    return c;
  }

  localRow(): string {
    if (this.row === undefined) throw new InternalError('no local row in this scope');
    return this.row;
  }

  lookup(id: number): string | undefined {
    return this.names.get(id) ?? this.parent?.lookup(id);
  }

  /** Binds a name computed by the caller (e.g. a reduction's result). */
  define(id: number, name: string): void {
    this.names.set(id, name);
  }

  let(id: number, expr: string): string {
    const name = `v${id}${this.tag}`;
    this.lines.push(`let ${name} = ${expr};`);
    this.names.set(id, name);
    return name;
  }

  /** Size of a dim as a WGSL u32. */
  size(d: Dim): string {
    return `uw(${uniformIndex(this.env.layout, (w) => w.kind === 'dim' && w.dim === d)}u)`;
  }

  /** Row-major flat index of the current coordinates over `dims`. */
  index(dims: readonly Dim[]): string {
    let e = '';
    for (const d of dims) e = e ? `(${e}) * ${this.size(d)} + ${this.coord(d)}` : this.coord(d);
    return e || '0u';
  }

  /** Element index of a buffer at the current coordinates. */
  bufferIndex(b: PlanBuffer): string {
    if (!isChunkScoped(b)) return this.index(b.dims);
    const inner = b.dims.filter((d) => !this.env.plan.rows.includes(d));
    const lr = this.localRow();
    if (b.tile) {
      // One tile a row: the row stride is the tile width, element v at v − the tile's start.
      const u = (k: 'tile' | 'tileStart') =>
        `uw(${uniformIndex(this.env.layout, (w) => w.kind === k)}u)`;
      return `${lr} * ${u('tile')} + (${this.coord(b.tile.dim)} - ${u('tileStart')})`;
    }
    return inner.length
      ? `${lr} * ${this.size(inner[0] ?? '')} + ${this.coord(inner[0] ?? '')}`
      : lr;
  }

  /** A load of buffer `b`'s value at the current coordinates, as a value of the node's type. */
  load(b: PlanBuffer, offsetWords = ''): string {
    const n = this.env.fn.nodes[b.node] as Node;
    const idx = this.bufferIndex(b);
    if (b.home === 'arena') {
      const slot = `uw(${uniformIndex(this.env.layout, (w) => w.kind === 'slot' && w.buffer === b.name)}u)`;
      const arena = this.env.bindings.use('arena', 'read', 'u32');
      return fromWord(`${arena}[${slot} + ${offsetWords}${idx}]`, n.dtype);
    }
    const t = wgslType(n.dtype);
    const v = this.env.bindings.use(
      b.name,
      'read',
      t === 'f32' ? 'f32' : t === 'i32' ? 'i32' : 'u32',
    );
    return t === 'bool' ? `(${v}[${idx}] != 0u)` : `${v}[${idx}]`;
  }

  /** A store of `value` (of node `b.node`'s type) into buffer `b` at the current coordinates. */
  store(b: PlanBuffer, value: string): string {
    const n = this.env.fn.nodes[b.node] as Node;
    const idx = this.bufferIndex(b);
    if (b.home === 'arena') {
      const slot = `uw(${uniformIndex(this.env.layout, (w) => w.kind === 'slot' && w.buffer === b.name)}u)`;
      const arena = this.env.bindings.use('arena', 'read_write', 'u32');
      return `${arena}[${slot} + ${idx}] = ${toWord(value, n.dtype)};`;
    }
    const t = wgslType(n.dtype);
    const v = this.env.bindings.use(
      b.name,
      'read_write',
      t === 'f32' ? 'f32' : t === 'i32' ? 'i32' : 'u32',
    );
    return `${v}[${idx}] = ${t === 'bool' ? `select(0u, 1u, ${value})` : value};`;
  }

  /**
   * The WGSL expression of node `id` at this scope's coordinates, emitting `let`s as needed.
   * The inputs still to compute are emitted first, deepest first, from an explicit stack: a
   * chain of thousands of statements is a graph that deep, too deep to recurse along.
   */
  value(id: number): string {
    const found = this.lookup(id);
    if (found) return found;
    const stack = [id];
    const expanded = new Set<number>();
    while (stack.length > 0) {
      const top = stack[stack.length - 1] ?? id;
      if (this.lookup(top) !== undefined) {
        stack.pop();
        continue;
      }
      const pending = this.inputsComputedHere(top).filter((i) => this.lookup(i) === undefined);
      if (pending.length > 0 && !expanded.has(top)) {
        expanded.add(top);
        // Reversed, so the first input is emitted first, as a recursive walk would.
        stack.push(...pending.reverse());
        continue;
      }
      stack.pop();
      if (top === id) break;
      this.valueOf(top);
    }
    return this.valueOf(id);
  }

  /**
   * The inputs of `id` that `valueOf(id)` evaluates in this scope and binds to a `let`
   * (constants, scalars, sizes and indices are inline expressions, found at no depth).
   */
  private inputsComputedHere(id: number): number[] {
    const { fn, plan, local } = this.env;
    const n = fn.nodes[id];
    if (!n || n.op === 'const' || n.op === 'param' || n.op === 'size' || n.op === 'index')
      return [];
    if (!local.has(id) && !this.recompute.has(id) && storedHome(plan, id)) return [];
    // A scan reads its operand at other rows, in scopes of its own.
    if (n.op === 'shift' || n.op === 'cumsum') return [];
    const ins = n.op === 'broadcast' || n.op === 'transpose' ? n.inputs.slice(0, 1) : n.inputs;
    // A gather's value operand is read at another coordinate, in a child scope.
    const here = n.op === 'gather' ? n.inputs.slice(1, 2) : ins;
    return here.filter((i) => {
      const op = fn.nodes[i]?.op;
      return op !== 'const' && op !== 'size' && op !== 'index';
    });
  }

  /** `value` for a node whose inputs computed here are already bound. */
  private valueOf(id: number): string {
    const found = this.lookup(id);
    if (found) return found;
    const { fn, plan, local } = this.env;
    const n = fn.nodes[id];
    if (!n) throw new InternalError(`no node %${id}`);
    if (n.op === 'const') return literal(n.attrs.value ?? 0, n.dtype);
    if (n.op === 'param' && n.dims.length === 0) {
      const k = uniformIndex(
        this.env.layout,
        (w) => w.kind === 'scalar' && w.name === n.attrs.name,
      );
      return fromWord(`uw(${k}u)`, n.dtype);
    }
    if (n.op === 'param') {
      const copy = plan.buffers.find(
        (b) => b.node === id && b.home === 'arena' && b.role === 'input',
      );
      if (!copy) throw new InternalError(`parameter ${n.attrs.name} has no arena copy to read`);
      return this.let(id, this.load(copy));
    }
    if (n.op === 'size')
      return `f32(${(n.attrs.axes ?? []).map((d) => this.size(d)).join(' * ') || '1u'})`;
    if (n.op === 'index') return `i32(${this.coord(n.attrs.dim ?? '')})`;
    if (!local.has(id) && !this.recompute.has(id)) {
      const home = storedHome(plan, id);
      if (home) return this.let(id, this.loadValue(home));
      if (plan.classes.get(id) === 'row' || plan.classes.get(id) === 'carried')
        throw new InternalError(`%${id} is neither computed here nor stored`);
    }
    return this.let(id, this.compute(n));
  }

  /** Loads a stored value; a reduction's accumulator holds its monoid's state, in planes, to finish. */
  private loadValue(b: PlanBuffer): string {
    // A product's accumulator (dW += dzᵀ·X) holds plain f32 values.
    const n = this.env.fn.nodes[b.node];
    if (b.role !== 'accumulator' || OPS[n?.op ?? 'const'].kind !== 'reduction') return this.load(b);
    const m = accumulatorMonoid(this.env.fn, b);
    const r = reduction(m, b.dtype);
    for (const h of r.helpers) this.env.helpers.add(h);
    const numel = b.dims.map((d) => this.size(d)).join(' * ') || '1u';
    const parts = Array.from({ length: r.width }, (_, k) =>
      k === 0 ? this.load(b) : this.loadPlane(b, `${k === 1 ? '' : `${k}u * `}${numel} + `),
    );
    return r.finish(fromComponents(r, parts));
  }

  /** A further plane of an accumulator's state (always f32 words). */
  private loadPlane(b: PlanBuffer, offsetWords: string): string {
    const slot = `uw(${uniformIndex(this.env.layout, (w) => w.kind === 'slot' && w.buffer === b.name)}u)`;
    const arena = this.env.bindings.use('arena', 'read', 'u32');
    return `bitcast<f32>(${arena}[${slot} + ${offsetWords}${this.bufferIndex(b)}])`;
  }

  private compute(n: Node): string {
    const rec = OPS[n.op];
    const ins = n.inputs.map((i) => this.env.fn.nodes[i] as Node);
    switch (n.op) {
      case 'broadcast':
      case 'transpose':
        return this.value(n.inputs[0] ?? -1);
      case 'gather': {
        const d = n.attrs.dim ?? '';
        const idx = this.value(n.inputs[1] ?? -1);
        const inRange = `(${idx} >= 0i && ${idx} < i32(${this.size(d)}))`;
        const at = this.child(new Map([[d, `u32(clamp(${idx}, 0i, i32(${this.size(d)}) - 1i))`]]));
        const x = at.value(n.inputs[0] ?? -1);
        this.lines.push(...at.lines);
        return `select(${literal(0, n.dtype)}, ${x}, ${inRange})`;
      }
      case 'shift':
      case 'cumsum':
        return emitScan(this, n);
      default: {
        if (rec.kind !== 'elementwise')
          throw new InternalError(`%${n.id} ${n.op} cannot be computed inline here`);
        for (const h of rec.helpers) this.env.helpers.add(h);
        return rec.wgsl(
          n.inputs.map((i) => this.value(i)),
          n,
          ins,
        );
      }
    }
  }
}

/** Where a computed value is stored for reading back: the plan's home for it. */
export function storedHome(plan: ChunkPlan, id: number): PlanBuffer | undefined {
  const name = plan.homes.get(id);
  return name === undefined ? undefined : plan.buffers.find((b) => b.name === name);
}
