// The generated README.md and results.json are committed: they must already be formatted
// as prettier formats them, or `npm run format:check` fails on a fresh benchmark.
import { readFileSync } from 'node:fs';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { formatJson } from '../../src/bench/report-json.ts';
import { benchMarkdown } from '../../src/bench/report-markdown.ts';
import { benchPlots } from '../../src/bench/report-plots.ts';
import type { BenchReport } from '../../src/bench/bench-types.ts';
import { fakeReport, fakeShapes, fakeTiledReport } from './fake-report.ts';

const options = async (file: string) => ({
  ...(await prettier.resolveConfig(file)),
  filepath: file,
});

describe('formatJson', () => {
  it.each([
    ['scalars', { a: 1, b: 'x', c: true, d: null, e: 1.23456789, f: [], g: {} }],
    ['short arrays on one line', { grad: ['X', 'W'], rows: ['N'], n: [1, 2, 3] }],
    [
      'long number arrays filled',
      { timesMs: Array.from({ length: 40 }, (_, i) => 1000 / (i + 3)), nested: { t: [1.5, 2.5] } },
    ],
    [
      'long string arrays one per line',
      { names: Array.from({ length: 12 }, (_, i) => `kernel_name_${i}`) },
    ],
    ['arrays of objects', { shapes: [{ a: 1 }, { b: [1, 2] }], empty: [{}] }],
    ['an array that just fits', { key: Array.from({ length: 19 }, () => 12345) }],
  ])('%s: prettier leaves it unchanged', async (_, value) => {
    const text = formatJson(value);
    expect(JSON.parse(text)).toEqual(
      JSON.parse(
        JSON.stringify(value, (_k, v) =>
          typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v,
        ),
      ),
    );
    expect(await prettier.format(text, await options('docs/bench/results.json'))).toBe(text);
  });

  it('formats a whole report as prettier does', async () => {
    const text = formatJson(fakeReport(fakeShapes()));
    expect(await prettier.format(text, await options('docs/bench/results.json'))).toBe(text);
    expect((JSON.parse(text) as BenchReport).shapes).toHaveLength(2);
    // With tiled twins of two widths, their profile and the tiling record.
    const tiled = formatJson(fakeTiledReport());
    expect(await prettier.format(tiled, await options('docs/bench/results.json'))).toBe(tiled);
    expect((JSON.parse(tiled) as BenchReport).vocabTiling?.widths).toEqual([128, 256]);
  });
});

describe('README.md', () => {
  it('is formatted as prettier formats Markdown', async () => {
    const r = fakeReport(fakeShapes());
    const md = benchMarkdown(r, benchPlots(r));
    expect(await prettier.format(md, await options('docs/bench/README.md'))).toBe(md);
  });

  it('is formatted as prettier formats Markdown with the vocabulary-tiling section', async () => {
    const r = fakeTiledReport();
    const md = benchMarkdown(r, benchPlots(r));
    expect(md).toContain('## Vocabulary tiling');
    expect(await prettier.format(md, await options('docs/bench/README.md'))).toBe(md);
  });

  it('holds for the committed report too, when there is one', async () => {
    let md: string;
    try {
      md = readFileSync('docs/bench/README.md', 'utf8');
    } catch {
      return;
    }
    expect(await prettier.format(md, await options('docs/bench/README.md'))).toBe(md);
  });
});
