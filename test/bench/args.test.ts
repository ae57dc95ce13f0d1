// `projc bench` arguments: the grid, the chunk sizes, the repeats, the shapes and the
// command line written into the report.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GRID,
  parseChunkList,
  parseGrid,
  parseRepeats,
  parseVocabTiles,
  shapeGrid,
  shapeText,
} from '../../src/bench/bench-args.ts';
import { benchCommand, commandLine } from '../../src/cli/bench-command.ts';
import { UsageError } from '../../src/cli/usage.ts';
import { compileFile } from '../../src/frontend/compile.ts';

const ce = () => {
  const c = compileFile({
    path: 'ce.proj',
    text: `kernel ce(X: bf16[N, H], W: bf16[V, H], target: i32[N]) -> f32 {
  z = X @ W.T
  return sum(logsumexp(z, V) - gather(z, target, V), N)
}`,
  });
  const k = c.kernels.get('ce');
  if (!k) throw new Error(c.diagnostics.map((d) => d.message).join('\n'));
  return k;
};

describe('parseGrid', () => {
  it('reads NAME=a|b|c pairs in order, without duplicates', () => {
    expect(parseGrid('N=256|1024|4096,V=512|2048')).toEqual([
      ['N', [256, 1024, 4096]],
      ['V', [512, 2048]],
    ]);
    expect(parseGrid(' N = 8 | 8 | 16 ')).toEqual([['N', [8, 16]]]);
    expect(parseGrid('H=64')).toEqual([['H', [64]]]);
  });

  it.each(['N', 'N=', 'N=0', 'N=1|x', 'N=1||2', '=4', 'N=1.5', 'N=2,N=4', 'N=-1'])(
    'rejects %j',
    (s) => {
      expect(() => parseGrid(s)).toThrow(UsageError);
    },
  );
});

describe('parseChunkList and parseRepeats', () => {
  it('reads sizes, all and auto', () => {
    expect(parseChunkList('64,256,all')).toEqual([64, 256, 'all']);
    expect(parseChunkList('auto, 64, 64')).toEqual(['auto', 64]);
    for (const bad of ['0', 'x', '64,', '1.5'])
      expect(() => parseChunkList(bad)).toThrow(UsageError);
  });

  it('takes 5 repeats by default and a positive integer otherwise', () => {
    expect(parseRepeats(undefined)).toBe(5);
    expect(parseRepeats('2')).toBe(2);
    for (const bad of ['0', '-1', 'two', '2.5'])
      expect(() => parseRepeats(bad)).toThrow(UsageError);
  });
});

describe('parseVocabTiles', () => {
  it('reads one width as before, or several: ascending, without duplicates', () => {
    expect(parseVocabTiles('2048')).toEqual([2048]);
    expect(parseVocabTiles('4096, 1024,2048,1024')).toEqual([1024, 2048, 4096]);
  });

  it.each(['0', 'x', '2048,', ',2048', '1.5', '-256', 'auto', 'rows', '2048,rows'])(
    'rejects %j, naming the bad width',
    (s) => {
      expect(() => parseVocabTiles(s)).toThrow(UsageError);
      expect(() => parseVocabTiles(s)).toThrow(/--vocab-tile takes tile widths, positive integers/);
    },
  );

  it('is checked by `projc bench` before any device is asked for', async () => {
    const io = { out: () => {}, err: () => {} };
    await expect(
      benchCommand(['examples/cross_entropy.proj'], { grad: 'X,W', 'vocab-tile': '2048,0' }, io),
    ).rejects.toThrow(/--vocab-tile takes tile widths.*got `0`/);
  });
});

describe('shapeGrid', () => {
  it('measures grids separated by ; one after the other, not crossed', () => {
    const shapes = shapeGrid(ce(), 'N=1024,H=256;N=4096|2048,H=64', 'V=512');
    expect(shapes.map(shapeText)).toEqual([
      'N=1024 H=256 V=512',
      'N=4096 H=64 V=512',
      'N=2048 H=64 V=512',
    ]);
  });

  it('uses the default grid and H=64 when nothing is given', () => {
    const shapes = shapeGrid(ce(), undefined, undefined);
    const n = parseGrid(DEFAULT_GRID).reduce((p, [, v]) => p * v.length, 1);
    expect(shapes).toHaveLength(n);
    expect(shapes.map(shapeText)[0]).toBe('N=256 H=64 V=512');
    expect(shapes.every((s) => s.get('H') === 64)).toBe(true);
  });

  it('is the product of the grid, the first dim varying slowest, completed by --dims', () => {
    const shapes = shapeGrid(ce(), 'N=64|128,V=32|16', 'H=8').map(shapeText);
    expect(shapes).toEqual(['N=64 H=8 V=32', 'N=64 H=8 V=16', 'N=128 H=8 V=32', 'N=128 H=8 V=16']);
  });

  it('takes a single shape from --dims alone', () => {
    expect(shapeGrid(ce(), undefined, 'N=64,H=16,V=128').map(shapeText)).toEqual([
      'N=64 H=16 V=128',
    ]);
    // --dims sizes V: the default grid then only varies N.
    expect(shapeGrid(ce(), undefined, 'V=128').map(shapeText)).toEqual([
      'N=256 H=64 V=128',
      'N=1024 H=64 V=128',
      'N=4096 H=64 V=128',
    ]);
  });

  it('rejects unknown, doubly sized and missing dims', () => {
    expect(() => shapeGrid(ce(), 'Q=4', undefined)).toThrow(/has no dim `Q`/);
    expect(() => shapeGrid(ce(), 'N=4', 'N=8')).toThrow(/both --grid and --dims/);
    expect(() => shapeGrid(ce(), 'N=4', undefined)).toThrow(/missing V/);
  });
});

describe('commandLine', () => {
  it('writes the options in a fixed order, quoting what a shell would expand', () => {
    expect(
      commandLine(['examples/cross_entropy.proj'], {
        out: 'docs/bench',
        grid: 'N=256|1024,V=512',
        grad: 'X,W',
        repeats: '3',
        json: true,
      }),
    ).toBe(
      "npx projc bench examples/cross_entropy.proj --grad X,W --grid 'N=256|1024,V=512' --repeats 3 --json --out docs/bench",
    );
    // A list of tile widths needs no quotes.
    expect(
      commandLine(['examples/cross_entropy.proj'], { grad: 'X,W', 'vocab-tile': '2048,4096' }),
    ).toBe('npx projc bench examples/cross_entropy.proj --grad X,W --vocab-tile 2048,4096');
  });
});
