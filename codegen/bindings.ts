import type { ChunkPlan, PlanBuffer } from '../src/plan/types.ts';

export type Access = 'read' | 'read_write';

/** A binding of a generated module; `buffer` is a plan buffer's name, `arena` or `uniform`. */
export interface BindingSpec {
  readonly binding: number;
  readonly buffer: string;
  readonly access: Access | 'uniform';
  /** The WGSL element type of the array. */
  readonly element: 'u32' | 'f32' | 'i32';
}

/**
 * The bindings a module uses, numbered in order of first use. Aliased chunk buffers (dz in
 * the logits' storage) resolve to one binding: WebGPU forbids binding one buffer twice
 * when either binding is writable.
 */
export class BindingSet {
  private readonly list: {
    buffer: string;
    access: Access | 'uniform';
    element: BindingSpec['element'];
  }[] = [];

  constructor(private readonly plan: ChunkPlan) {
    this.list.push({ buffer: 'uniform', access: 'uniform', element: 'u32' });
  }

  /** The root buffer of an alias chain. */
  root(name: string): PlanBuffer {
    let b = this.plan.buffers.find((x) => x.name === name);
    while (b?.aliasOf) b = this.plan.buffers.find((x) => x.name === b?.aliasOf);
    if (!b) throw new Error(`no plan buffer ${name}`);
    return b;
  }

  /** The WGSL variable of a buffer, declared with at least `access`. */
  use(name: string, access: Access, element: BindingSpec['element']): string {
    const root = name === 'arena' ? 'arena' : this.root(name).name;
    const found = this.list.find((x) => x.buffer === root);
    if (found) {
      if (access === 'read_write') found.access = 'read_write';
    } else this.list.push({ buffer: root, access, element });
    return varName(root);
  }

  specs(): BindingSpec[] {
    return this.list.map((x, binding) => ({ binding, ...x }));
  }

  /** The WGSL declarations of every binding used. */
  declarations(uniformVec4s: number): string {
    return this.specs()
      .map((s) =>
        s.access === 'uniform'
          ? `struct Uniforms { w: array<vec4<u32>, ${Math.max(1, uniformVec4s)}> }\n@group(0) @binding(${s.binding}) var<uniform> U: Uniforms;\nfn uw(i: u32) -> u32 { return U.w[i >> 2u][i & 3u]; }`
          : `@group(0) @binding(${s.binding}) var<storage, ${s.access}> ${varName(s.buffer)}: array<${s.element}>;`,
      )
      .join('\n');
  }
}

/** A buffer name as a WGSL identifier. */
export function varName(buffer: string): string {
  return `b_${buffer.replace(/[^A-Za-z0-9]/g, '_')}`;
}
