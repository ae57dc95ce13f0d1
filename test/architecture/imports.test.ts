// The source folders form layers, each importing only the ones below it, and no file is
// part of an import loop. Parses the relative imports of every source file (static
// `import`/`export ... from`, and dynamic `import('...')`).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = normalize(join(import.meta.dirname, '../..'));

/** Bottom first: a folder may import only folders listed before it. `src` is its top-level files. */
const LAYERS = [
  'grammar',
  'src/diagnostics',
  'src/shell',
  'src/io',
  'src/ir',
  'src/tensor',
  'src/ops',
  'src/graph',
  'src/interp',
  'src/autodiff',
  'src/frontend',
  'src/plan',
  'codegen',
  'src/runtime',
  'src/run',
  'src/api',
  'src/tfjs',
  'src/bench',
  'src/cli',
  'src',
] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}

function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0] ?? '';
  return parts.length > 2 ? `src/${parts[1]}` : 'src';
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  return [...text.matchAll(re)].map((m) => relative(ROOT, join(ROOT, dirname(file), m[1] ?? '')));
}

const files = ['src', 'codegen', 'grammar'].flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function importLoops(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) ?? 0);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    for (;;) {
      const w = stack.pop() ?? v;
      onStack.delete(w);
      scc.push(w);
      if (w === v) break;
    }
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) loops.push(scc.sort());
  };
  for (const f of graph.keys()) if (!index.has(f)) visit(f);
  return loops;
}

describe('imports', () => {
  it('every import resolves to a source file', () => {
    const missing = [...graph].flatMap(([f, deps]) =>
      deps.filter((d) => !graph.has(d)).map((d) => `${f} → ${d}`),
    );
    expect(missing).toEqual([]);
  });

  it('no file is in an import loop', () => {
    expect(importLoops()).toEqual([]);
  });

  it('every folder has a layer and imports only the layers below it', () => {
    const rank = new Map<string, number>(LAYERS.map((l, i) => [l, i]));
    const unplaced = [...new Set(files.map(folderOf))].filter((d) => !rank.has(d));
    expect(unplaced, 'add these folders to LAYERS').toEqual([]);
    const upward = [...graph].flatMap(([f, deps]) =>
      deps
        .filter((d) => folderOf(d) !== folderOf(f))
        .filter((d) => (rank.get(folderOf(d)) ?? 0) >= (rank.get(folderOf(f)) ?? 0))
        .map((d) => `${f} → ${d}`),
    );
    expect(upward).toEqual([]);
  });

  it('finds a loop when there is one (the checker itself)', () => {
    graph.set('src/ir/a.ts', ['src/ir/b.ts']);
    graph.set('src/ir/b.ts', ['src/ir/a.ts']);
    try {
      expect(importLoops()).toContainEqual(['src/ir/a.ts', 'src/ir/b.ts']);
    } finally {
      graph.delete('src/ir/a.ts');
      graph.delete('src/ir/b.ts');
    }
  });
});
