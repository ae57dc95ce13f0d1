// projc in a real browser: Debian's Chromium (headless, SwiftShader's WebGPU adapter on the
// CPU) driven by playwright-core. Three pages are built with vite from the sources' browser
// entry, served on 127.0.0.1, and run on navigator.gpu:
// - page/: examples/cross_entropy.proj with gradients, compared with the same run in Node on
//   Dawn; the screenshot is docs/browser/cross-entropy.png (rewritten with UPDATE_DOCS=1);
// - examples/web/: the playground (diagnostics, IR, plan, run as the text changes);
// - tfjs-page/: projc/tfjs on TF.js's webgpu backend, its gradients against TF.js's own head.
// The build fails if anything reaches a `node:` module or Dawn. Where Chromium cannot be
// launched (no /usr/bin/chromium, or $PROJC_CHROMIUM), the tests skip with the reason printed.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, type Plugin } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, Runtime } from '../../src/index.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { runCrossEntropy, type CaseResult } from './page/cross-entropy-case.ts';
import type { TfjsPageResult } from './tfjs-page/result.ts';

const CHROMIUM = process.env['PROJC_CHROMIUM'] ?? '/usr/bin/chromium';
const UPDATE = process.env['UPDATE_DOCS'] === '1';
const SCREENSHOT = 'docs/browser/cross-entropy.png';
const PLAYGROUND_SHOT = 'docs/browser/playground.png';
// f32 on two different WebGPU implementations (SwiftShader in Chromium, llvmpipe under
// Dawn in Node): the chunk sizes are fixed, but the reductions' order inside a workgroup
// may differ. Differences are relative to the largest magnitude of each result.
const TOLERANCE = 1e-5;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  // WebGPU on the CPU: Dawn's Vulkan backend on SwiftShader (no GPU, no display needed).
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
];

/** A launched Chromium, or why there is none. */
async function launch(): Promise<{ ctx: BrowserContext; profile: string } | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  const profile = mkdtempSync(join(tmpdir(), 'projc-chromium-'));
  try {
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1100, height: 900 },
    });
    return { ctx, profile };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    return `Chromium at ${CHROMIUM} does not start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
}

const launched = await launch();
if (typeof launched === 'string') console.warn(`browser tests skipped: ${launched}`);

/** Fails the build on any import of a Node built-in or of Dawn's bindings. */
const browserOnly: Plugin = {
  name: 'projc-browser-only',
  enforce: 'pre',
  resolveId(id, importer) {
    if (id.startsWith('node:') || id === 'webgpu') {
      this.error(`\`${id}\` imported by ${importer ?? '?'}: not allowed in the browser build`);
    }
    return null;
  },
};

async function buildPage(root: string, outDir: string): Promise<void> {
  await build({
    root,
    base: './',
    configFile: false,
    logLevel: 'error',
    plugins: [browserOnly],
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
};

/** Serves `dir` on 127.0.0.1 (a secure context, as navigator.gpu requires). */
async function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}` };
}

function isTfjsResult(x: unknown): x is TfjsPageResult {
  return typeof x === 'object' && x !== null && 'gradXRel' in x && 'sameDevice' in x;
}

function isCaseResult(x: unknown): x is CaseResult {
  return typeof x === 'object' && x !== null && 'loss' in x && 'gradX' in x && 'gradW' in x;
}

/** max |a - b| / max |b|, over a vector. */
function relDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  return diff / scale;
}

function shoot(page: Page, path: string) {
  return page.screenshot({
    path: UPDATE || !existsSync(path) ? path : join(out, path.replace(/\//g, '_')),
    fullPage: true,
  });
}

let out = '';
let site: { server: Server; url: string } | undefined;

describe.skipIf(typeof launched === 'string')('in headless Chromium on navigator.gpu', () => {
  const browser = () => {
    if (typeof launched === 'string') throw new Error(launched);
    return launched.ctx;
  };

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'projc-pages-'));
    await buildPage('test/browser/page', join(out, 'ce'));
    await buildPage('examples/web', join(out, 'playground'));
    await buildPage('test/browser/tfjs-page', join(out, 'tfjs'));
    site = await serve(out);
    mkdirSync('docs/browser', { recursive: true });
  }, 240_000);

  afterAll(async () => {
    if (typeof launched !== 'string') {
      await launched.ctx.close();
      rmSync(launched.profile, { recursive: true, force: true });
    }
    site?.server.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('builds pages that import nothing from Node', () => {
    for (const dir of ['ce', 'playground', 'tfjs']) {
      const assets = join(out, dir, 'assets');
      const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
      expect(js.length).toBeGreaterThan(0);
      // TF.js names its backend 'webgpu': on that page only a load of the module counts.
      const dawn =
        dir === 'tfjs' ? /(?:from\s*|import\(\s*|require\(\s*)["']webgpu["']/ : /["']webgpu["']/;
      for (const f of js) {
        const code = readFileSync(join(assets, f), 'utf8');
        expect(code).not.toMatch(/from\s*["']node:|import\(\s*["']node:/);
        expect(code).not.toMatch(dawn);
      }
    }
  });

  it('compiles and runs cross_entropy with gradients, matching Node on Dawn', async () => {
    const page = await browser().newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site?.url}/ce/`);
    // Seconds with a warm machine; the first WebGPU start of a fresh profile can be slow.
    // Seconds with a warm machine; the first WebGPU start of a fresh profile can be slow.
    await page
      .waitForFunction('window.projcResult ?? window.projcError', undefined, { timeout: 90_000 })
      .catch(async (e: unknown) => {
        const status = await page.locator('#status').innerText();
        throw new Error(`the page did not finish (its status: ${status})`, { cause: e });
      });
    const inBrowser: unknown = await page.evaluate('window.projcResult ?? window.projcError');
    expect(errors).toEqual([]);
    if (!isCaseResult(inBrowser)) throw new Error(`page: ${String(inBrowser)}`);
    await shoot(page, SCREENSHOT);
    await page.close();

    const rt = await Runtime.create();
    let inNode: CaseResult;
    try {
      inNode = await runCrossEntropy(rt, readFileSync('examples/cross_entropy.proj', 'utf8'));
    } finally {
      rt.release();
    }
    console.log(
      `browser (${inBrowser.adapter}) vs node (${inNode.adapter}): loss ${inBrowser.loss} vs ${inNode.loss}, ` +
        `grad.X ${relDiff(inBrowser.gradX, inNode.gradX).toExponential(2)}, ` +
        `grad.W ${relDiff(inBrowser.gradW, inNode.gradW).toExponential(2)} (relative to max |·|)`,
    );
    expect(inBrowser.chunks).toBe(inNode.chunks);
    expect(inBrowser.chunks).toBeGreaterThan(1);
    expect(Math.abs(inBrowser.loss - inNode.loss) / Math.abs(inNode.loss)).toBeLessThan(TOLERANCE);
    expect(relDiff(inBrowser.gradX, inNode.gradX)).toBeLessThan(TOLERANCE);
    expect(relDiff(inBrowser.gradW, inNode.gradW)).toBeLessThan(TOLERANCE);
  }, 120_000);

  it("runs projc/tfjs on TF.js's webgpu backend, its gradients matching TF.js's own head", async () => {
    const page = await browser().newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site?.url}/tfjs/`);
    await page
      .waitForFunction('window.projcTfjsResult ?? window.projcError', undefined, {
        timeout: 90_000,
      })
      .catch(async (e: unknown) => {
        const status = await page.locator('#status').innerText();
        throw new Error(`the page did not finish (its status: ${status})`, { cause: e });
      });
    const r: unknown = await page.evaluate('window.projcTfjsResult ?? window.projcError');
    await page.close();
    expect(errors).toEqual([]);
    if (!isTfjsResult(r)) throw new Error(`page: ${String(r)}`);
    console.log(
      `projc/tfjs in the browser: loss ${r.loss}, vs TF.js's head ${r.lossRel.toExponential(2)}, ` +
        `grad.X ${r.gradXRel.toExponential(2)}, grad.W ${r.gradWRel.toExponential(2)}`,
    );
    expect(r.backend).toBe('webgpu');
    expect(r.sameDevice).toBe(true);
    expect(r.inputBytes).toEqual([0, 0, 0]);
    expect(r.lossRel).toBeLessThan(TOLERANCE);
    expect(r.gradXRel).toBeLessThan(TOLERANCE);
    expect(r.gradWRel).toBeLessThan(TOLERANCE);
  }, 120_000);

  it('runs the playground: diagnostics, IR and plan follow the text; Run uses the GPU', async () => {
    const page = await browser().newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site?.url}/playground/`);
    const box = (id: string, hasText?: string | RegExp) =>
      page.locator(`#${id}`, hasText === undefined ? {} : { hasText });
    const text = (id: string) => box(id).innerText();
    await box('plan', 'chunk plan of cross_entropy').waitFor();
    expect(await text('diagnostics')).toBe('ok: 1 kernel');
    expect(await text('ir')).toContain('# forward + backward (w.r.t. X, W)');

    // An error appears as the text changes, rendered rustc-style, and goes away again.
    const source = readFileSync('examples/cross_entropy.proj', 'utf8');
    await page.fill('#source', source.replace('X @ W.T', 'X @ W'));
    await box('diagnostics', 'error[P0204]').waitFor();
    expect(await text('diagnostics')).toContain('= help: did you mean `W.T`?');
    await page.fill('#source', source);
    await box('diagnostics', /^ok: 1 kernel$/).waitFor();

    await page.fill('#dims', 'N=64,H=16,V=128');
    await page.fill('#chunk', '16');
    await page.click('#run');
    await box('output', 'chunks of').waitFor({ timeout: 60_000 });
    const output = await text('output');
    expect(errors).toEqual([]);
    await shoot(page, PLAYGROUND_SHOT);
    await page.close();

    // The same run in Node (seed 1, as the page uses).
    const kernel = compile(source).kernels.get('cross_entropy');
    if (!kernel) throw new Error('cross_entropy did not compile');
    const sizes = new Map([
      ['N', 64],
      ['H', 16],
      ['V', 128],
    ]);
    const rt = await Runtime.create();
    try {
      const r = await rt.run(kernel, Object.fromEntries(randomInputs(kernel, sizes, 1)), {
        grad: ['X', 'W'],
        chunkRows: 16,
      });
      const loss = Number(/^out = (\S+)$/m.exec(output)?.[1]);
      const expected = r.outputs.get('out')?.data[0] ?? NaN;
      expect(Math.abs(loss - expected) / Math.abs(expected)).toBeLessThan(TOLERANCE);
      expect(output).toContain('4 chunks of 16 rows');
      expect(output).toMatch(/^grad\.W : \[128, 16\]/m);
    } finally {
      rt.release();
    }
  }, 120_000);
});
