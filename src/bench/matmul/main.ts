// The matmul benchmark's command line (scripts/bench-matmul.ts, `npm run bench:matmul`).
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  defaultMatmulTiles,
  matmulTilesProblem,
  type MatmulTiles,
} from '../../../codegen/matmul.ts';
import { acquireDevice } from '../../runtime/device.ts';
import type { TuneResult } from '../../runtime/matmul-tune.ts';
import { tuneDeviceTiles } from '../../api/tune.ts';
import { loadTfjs } from '../tfjs-peer.ts';
import { matmulMarkdown, tilesText, type MatmulBenchReport } from './matmul-report.ts';
import { runMatmulBench } from './run-matmul-bench.ts';
import { parseMatmulShapes, type MatmulShape } from './shapes.ts';

export interface MatmulBenchArgs {
  readonly shapes: MatmulShape[];
  readonly rounds: number;
  readonly tiles: 'tune' | 'default' | MatmulTiles;
  readonly out: string;
}

export const DEFAULT_MATMUL_SHAPES = '1024,1024,1024;2048,512,8192';

export function parseMatmulBenchArgs(argv: readonly string[]): MatmulBenchArgs {
  let shapes = DEFAULT_MATMUL_SHAPES;
  let rounds = 5;
  let tiles: MatmulBenchArgs['tiles'] = 'tune';
  let out = 'docs/bench';
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === '--shapes') shapes = value;
    else if (flag === '--rounds') {
      rounds = Number(value);
      if (!Number.isInteger(rounds) || rounds < 1)
        throw new Error(`--rounds ${value}: not a positive integer`);
    } else if (flag === '--out') out = value;
    else if (flag === '--tiles') {
      if (value === 'tune' || value === 'default') tiles = value;
      else {
        const t: MatmulTiles = JSON.parse(value) as MatmulTiles;
        const problem = matmulTilesProblem(t);
        if (problem) throw new Error(`--tiles ${value}: ${problem}`);
        tiles = t;
      }
    } else throw new Error(`unknown option ${flag} (expected --shapes, --rounds, --tiles, --out)`);
  }
  return { shapes: parseMatmulShapes(shapes), rounds, tiles, out };
}

/** Runs the bench and writes the report; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const args = parseMatmulBenchArgs(argv);
  const log = (line: string) => process.stderr.write(`[bench:matmul] ${line}\n`);
  const before = loadavg()[0] ?? NaN;
  const dev = await acquireDevice();
  try {
    let tiles: MatmulTiles;
    let tuning: TuneResult | 'given' = 'given';
    if (args.tiles === 'tune') {
      tuning = await tuneDeviceTiles(dev);
      for (const t of tuning.timings)
        log(
          `tune: ${tilesText(t.tiles)}: ${t.ms === undefined ? t.skipped : `${t.ms.toFixed(1)} ms`}`,
        );
      tiles = tuning.tiles;
    } else tiles = args.tiles === 'default' ? defaultMatmulTiles(dev.device.limits) : args.tiles;
    log(`tiles: ${tilesText(tiles)}`);
    // Beside tuned tiles, the portable default shows what the tuning gains.
    const defaultTiles = args.tiles === 'tune' ? defaultMatmulTiles(dev.device.limits) : undefined;
    const rows = await runMatmulBench(dev, {
      ...{ shapes: args.shapes, rounds: args.rounds, tiles, defaultTiles },
      progress: log,
    });
    const tf = await loadTfjs();
    const report: MatmulBenchReport = {
      command: ['npm run bench:matmul --', ...argv.map(quoted)].join(' ').replace(/ --$/, ''),
      date: new Date().toISOString(),
      adapter: dev.adapterInfo,
      tfjs: 'error' in tf ? `TF.js (${tf.error})` : tf.adapter,
      rounds: args.rounds,
      tiles,
      defaultTiles,
      tuning,
      load: { before, after: loadavg()[0] ?? NaN },
      cpus: cpus().length,
      rows,
    };
    await mkdir(args.out, { recursive: true });
    // Committed under docs/bench: written as prettier formats them (`format:check` passes).
    const write = async (name: string, text: string) => {
      const file = join(args.out, name);
      const prettier = await import('prettier');
      const options = { ...(await prettier.resolveConfig(file)), filepath: file };
      await writeFile(file, await prettier.format(text, options));
    };
    await write('matmul.md', matmulMarkdown(report));
    await write('matmul.json', JSON.stringify(report));
    for (const r of rows)
      log(
        `${r.name}: projc ${r.projc.gflops.toFixed(2)} GFLOP/s, TF.js ${'error' in r.tfjs ? r.tfjs.error : r.tfjs.gflops.toFixed(2)}, ratio ${r.ratio?.toFixed(2) ?? '—'}`,
      );
    log(`wrote ${join(args.out, 'matmul.md')}`);
    return 0;
  } finally {
    dev.release();
  }
}

/** An argument as a shell needs it (`;` and spaces in shapes, braces in tiles). */
function quoted(a: string): string {
  return /^[\w,./=:-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}
