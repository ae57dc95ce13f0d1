// The package as a new user gets it: `npm pack` (which builds dist/ through `prepare`),
// the tarball installed into an empty project, then plain Node importing `projc` (no tsx
// anywhere) compiles a kernel and runs it on Dawn, a TypeScript project with `tsc --init`'s
// defaults (+ bundler resolution) type-checks against it, and the installed CLI runs.
// The CLI's start-up time is measured and printed, not asserted (timings are for reports).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  readdirSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const MAX_TARBALL_BYTES = 3 * 2 ** 20;

let dir = '';
let tarball = '';
let files: string[] = [];
const project = () => join(dir, 'project');

function sh(cmd: string, args: readonly string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the packed package', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'projc-pack-'));
    const packed = JSON.parse(
      sh(NPM, ['pack', '--json', '--silent', '--pack-destination', dir], process.cwd()).replace(
        /^[^[]*/s,
        '',
      ),
    ) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, packed[0]?.filename ?? '');
    files = packed[0]?.files.map((f) => f.path) ?? [];
    sh(NPM, ['init', '-y'], (execFileSync('mkdir', [project()]), project()));
    sh(NPM, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project());
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is a small tarball of built files: no sources, tests or fixtures', () => {
    const bytes = statSync(tarball).size;
    console.log(`tarball ${(bytes / 2 ** 20).toFixed(2)} MiB, ${files.length} files`);
    expect(bytes).toBeLessThan(MAX_TARBALL_BYTES);
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/src/index.d.ts');
    expect(files).toContain('dist/src/browser.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('LICENSE');
    expect(
      files.filter((f) => /^(test|src|examples|scripts)\//.test(f) || f.endsWith('.safetensors')),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs without tsx and runs from plain Node: compile, then a run on Dawn', () => {
    expect(existsSync(join(project(), 'node_modules', 'tsx'))).toBe(false);
    copyFileSync('test/package/consumer.mjs', join(project(), 't.mjs'));
    const lines = sh(process.execPath, ['t.mjs'], project()).trim().split('\n');
    const r = JSON.parse(lines[lines.length - 1] ?? '') as {
      loss: number;
      reference: number;
      gradWShape: number[];
      gradWFinite: boolean;
      chunks: number;
    };
    expect(Math.abs(r.loss - r.reference) / r.reference).toBeLessThan(1e-5);
    expect(r.gradWShape).toEqual([40, 8]);
    expect(r.gradWFinite).toBe(true);
    expect(r.chunks).toBe(3);
  }, 60_000);

  it('type-checks a `tsc --init` project (bundler resolution) with zero errors', () => {
    const ts = join(dir, 'ts');
    execFileSync('mkdir', [ts]);
    writeFileSync(join(ts, 'package.json'), '{ "type": "module" }\n');
    sh(process.execPath, [TSC, '--init'], ts);
    const config = readFileSync(join(ts, 'tsconfig.json'), 'utf8');
    expect(config).toContain('"module": "nodenext"');
    writeFileSync(
      join(ts, 'tsconfig.json'),
      config.replace(
        '"module": "nodenext",',
        '"module": "preserve",\n    "moduleResolution": "bundler",',
      ),
    );
    copyFileSync('test/package/consumer.ts', join(ts, 't.ts'));
    // The installed package, as `npm install` left it.
    execFileSync('ln', ['-s', join(project(), 'node_modules'), join(ts, 'node_modules')]);
    for (const extra of [[], ['--skipLibCheck', 'false']]) {
      const r = spawnSync(process.execPath, [TSC, '-p', '.', '--noEmit', ...extra], {
        cwd: ts,
        encoding: 'utf8',
      });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  }, 60_000);

  it('bundles for the browser (vite) through its `browser` condition, without Node or Dawn', async () => {
    const web = join(project(), 'web');
    execFileSync('mkdir', [web]);
    writeFileSync(join(web, 'index.html'), '<script type="module" src="./main.js"></script>\n');
    writeFileSync(
      join(web, 'main.js'),
      "import { compile, Runtime } from 'projc';\n" +
        "console.log(compile('kernel k(X: f32[N]) -> f32 { return sum(X, N) }').kernels.size, Runtime);\n",
    );
    const imported: string[] = [];
    await build({
      root: web,
      configFile: false,
      logLevel: 'error',
      plugins: [
        {
          name: 'record-imports',
          enforce: 'pre',
          resolveId(id) {
            imported.push(id);
            return null;
          },
        },
      ],
      build: { outDir: join(web, 'dist'), target: 'es2022', reportCompressedSize: false },
    });
    expect(imported.filter((id) => id.startsWith('node:') || id === 'webgpu')).toEqual([]);
    const assets = join(web, 'dist', 'assets');
    const code = readdirSync(assets)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(assets, f), 'utf8'))
      .join('\n');
    expect(code).toContain('navigator.gpu returned no WebGPU adapter'); // device.ts is in
    expect(code).not.toContain("cannot load Dawn's Node bindings"); // dawn.ts is not
  }, 60_000);

  it('gives a working `npx projc` (start-up time printed)', () => {
    copyFileSync('examples/cross_entropy.proj', join(project(), 'cross_entropy.proj'));
    // npx's own start-up, to tell it from projc's: a package whose bin does nothing.
    // `--no`: never fetch it from the registry.
    const noop = join(project(), 'node_modules', 'projc-noop-baseline');
    execFileSync('mkdir', [noop]);
    writeFileSync(join(noop, 'package.json'), '{ "name": "projc-noop-baseline", "bin": "n.js" }');
    writeFileSync(join(noop, 'n.js'), '#!/usr/bin/env node\n', { mode: 0o755 });
    const bin = join(project(), 'node_modules', '.bin', 'projc-noop-baseline');
    execFileSync('ln', ['-s', '../projc-noop-baseline/n.js', bin]);
    const time = (args: string[]) => {
      const t = performance.now();
      const r = spawnSync('npx', args, { cwd: project(), encoding: 'utf8' });
      return { ms: performance.now() - t, text: r.stdout + r.stderr, status: r.status };
    };
    const projc: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = time(['projc', 'check', 'cross_entropy.proj']);
      expect(r.text).toBe('ok: 1 file, 1 kernel\n');
      expect(r.status).toBe(0);
      projc.push(r.ms);
      const b = time(['--no', 'projc-noop-baseline']);
      expect(b.status).toBe(0);
      bare.push(b.ms);
    }
    const median = (xs: number[]) => ([...xs].sort((a, b) => a - b)[2] ?? NaN).toFixed(0);
    console.log(
      `npx projc check: median of 5 ${median(projc)} ms (${projc.map((x) => x.toFixed(0)).join(', ')}); ` +
        `npx of a bin that does nothing: ${median(bare)} ms`,
    );
  }, 60_000);
});
