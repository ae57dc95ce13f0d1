// docs/runtime.md pastes real outputs of projc; this keeps them true. Tags, as in
// test/docs (an HTML comment just above a fence):
//
//   <!-- output: projc ARGS -->        the fence holds what `projc ARGS` prints
//   <!-- diagnostic: CODE -->          a ```proj fence, then a ```text fence with what
//                                      `projc check example.proj` prints for it (reporting CODE)
//   <!-- program: projc ARGS -->       a ```proj fence, then a ```text fence with what
//                                      `projc ARGS` prints, ARGS naming the program example.proj
//   <!-- plan-table: projc plan ARGS --> a markdown table whose rows start with extra
//                                      arguments in backticks (`defaults`: none); the other
//                                      cells are what `projc plan ARGS EXTRA --json` reports
//
// Only commands that need no device are allowed. After a deliberate change of the output,
// `UPDATE_DOCS=1 npx vitest run test/api/runtime-doc.test.ts` rewrites the blocks.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { manifest } from '../../src/api/manifest.ts';
import { main } from '../../src/cli/main.ts';
import { formatBytes } from '../../src/cli/run-report.ts';
import { compile, generateProgram, planKernel } from '../../src/index.ts';

const DOC = 'docs/runtime.md';
const UPDATE = process.env.UPDATE_DOCS === '1';
const scratch = mkdtempSync(join(tmpdir(), 'projc-runtime-doc-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function projc(args: readonly string[]): Promise<string> {
  let text = '';
  const io = { out: (t: string) => void (text += t), err: (t: string) => void (text += t) };
  await main(args, io);
  return text.replace(/\s+$/, '');
}

/** A region of the doc to check: [start, end) and what it must hold. */
interface Region {
  readonly what: string;
  readonly start: number;
  readonly end: number;
  readonly want: string;
}

/** The body of the fence that opens after `from`: its offsets and text. */
function fenceAfter(text: string, from: number): { start: number; end: number; body: string } {
  const re = /\s*```\w*\n/y;
  re.lastIndex = from;
  if (!re.exec(text)) throw new Error(`${DOC}: no fence after offset ${from}`);
  const start = re.lastIndex;
  const end = text.indexOf('```', start);
  return { start, end, body: text.slice(start, end) };
}

/** A table line with its cells trimmed and separator dashes collapsed (prettier pads tables). */
const cells = (line: string) =>
  line
    .split('|')
    .map((c) => c.trim().replace(/^:?-+:?$/, '-'))
    .join('|');

/** The cells of a plan-table row for `projc plan ARGS --json`. */
async function tableRow(base: string[], extra: string): Promise<string> {
  const args = [...base, ...(extra === 'defaults' ? [] : extra.split(/\s+/)), '--json'];
  const s = JSON.parse(await projc(args)) as Record<string, number | string>;
  const n = (k: string) => Number(s[k]);
  const shape = s['shape'] === 'tiles' ? `${s['tileDim']} tiles of ${n('tileWidth')}` : 'rows-only';
  return `| \`${extra}\` | ${shape} | ${n('chunkRows')} | ${n('chunks')} | ${s['chunkReason']} | ${formatBytes(n('fixedBytes'))} | ${formatBytes(n('predictedPeakBytes'))} | ${formatBytes(n('materializedBytes'))} | ${(100 * n('ratio')).toFixed(1)}% |`;
}

async function regions(text: string): Promise<Region[]> {
  const out: Region[] = [];
  for (const m of text.matchAll(/<!-- (output|diagnostic|program|plan-table): (.*?) -->/g)) {
    const [, kind, arg = ''] = m;
    const at = (m.index ?? 0) + m[0].length;
    if (kind === 'output') {
      const [cmd, sub, ...rest] = arg.split(/\s+/);
      if (cmd !== 'projc' || !['plan', 'check', 'ir'].includes(sub ?? ''))
        throw new Error(`${DOC}: only projc plan/check/ir outputs can be checked: ${arg}`);
      const f = fenceAfter(text, at);
      out.push({ what: arg, start: f.start, end: f.end, want: await projc([sub ?? '', ...rest]) });
    } else if (kind === 'diagnostic' || kind === 'program') {
      const program = fenceAfter(text, at);
      const f = fenceAfter(text, program.end + 3);
      const path = join(scratch, 'example.proj');
      writeFileSync(path, program.body);
      const [cmd, ...rest] =
        kind === 'program' ? arg.split(/\s+/) : ['projc', 'check', 'example.proj'];
      if (cmd !== 'projc' || !['plan', 'check', 'ir'].includes(rest[0] ?? ''))
        throw new Error(`${DOC}: only projc plan/check/ir outputs can be checked: ${arg}`);
      const args = rest.map((a) => (a === 'example.proj' ? path : a));
      const got = (await projc(args)).split(path).join('example.proj');
      if (kind === 'diagnostic')
        expect(got, `${DOC}: the program under <!-- diagnostic: ${arg} -->`).toContain(`[${arg}]`);
      out.push({ what: `${kind} ${arg}`, start: f.start, end: f.end, want: got });
    } else {
      const [cmd, sub, ...base] = arg.split(/\s+/);
      if (cmd !== 'projc' || sub !== 'plan') throw new Error(`${DOC}: bad plan-table ${arg}`);
      // The table: header, separator, then rows up to the first line not starting with |.
      const start = text.indexOf('\n|', at) + 1;
      let end = start;
      const rows: string[] = [];
      for (const line of text.slice(start).split('\n')) {
        if (!line.startsWith('|')) break;
        rows.push(line);
        end += line.length + 1;
      }
      const want = [...rows.slice(0, 2)];
      for (const r of rows.slice(2)) {
        const extra = /^\|\s*`([^`]*)`/.exec(r)?.[1];
        if (extra === undefined) throw new Error(`${DOC}: plan-table row without args: ${r}`);
        want.push(await tableRow(['plan', ...base], extra));
      }
      out.push({
        what: arg,
        start,
        end,
        want: want.join('\n') + '\n',
      });
    }
  }
  return out;
}

describe(DOC, () => {
  it('pastes real outputs of projc plan, check and ir', async () => {
    const text = readFileSync(DOC, 'utf8');
    const rs = await regions(text);
    expect(rs.length).toBeGreaterThan(0);
    if (UPDATE) {
      let out = text;
      for (const r of [...rs].sort((a, b) => b.start - a.start)) {
        const body = r.want.endsWith('\n') ? r.want : `${r.want}\n`;
        out = out.slice(0, r.start) + body + out.slice(r.end);
      }
      writeFileSync(DOC, out);
      return;
    }
    for (const r of rs) {
      const got = text.slice(r.start, r.end);
      if (r.want.startsWith('|'))
        expect(got.split('\n').map(cells), `${DOC}: table ${r.what}`).toEqual(
          r.want.split('\n').map(cells),
        );
      else expect(got.replace(/\s+$/, ''), `${DOC}: block ${r.what}`).toBe(r.want);
    }
  });

  it('documents every top-level field of manifest.json', () => {
    const source = readFileSync('examples/cross_entropy.proj', 'utf8');
    const kernel = compile(source).kernels.get('cross_entropy');
    if (!kernel) throw new Error('no cross_entropy kernel');
    const { fn, plan } = planKernel({ kernel, grad: ['X', 'W'] });
    const fields = Object.keys(manifest(generateProgram(fn, plan)));
    const doc = readFileSync(DOC, 'utf8');
    expect(fields.filter((f) => !doc.includes(`| \`${f}\``))).toEqual([]);
  });
});
