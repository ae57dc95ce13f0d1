// The docs paste real outputs of projc; these tests keep them true. Each pasted block is
// tagged with an HTML comment just above its fence:
//
//   <!-- file: PATH -->          the fence holds the file PATH verbatim
//   <!-- output: projc ARGS -->  the fence holds what `projc ARGS` prints (stdout + stderr)
//   <!-- diagnostic: CODE -->    a ```proj fence with a program, then a ```text fence with what
//                                `projc check example.proj` prints for it (it must report CODE)
//
// After a deliberate change of the compiler's output, regenerate the blocks with
// `UPDATE_DOCS=1 npx vitest run test/docs` and review the diff of docs/.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { CODES } from '../../src/diagnostics/codes.ts';
import { BUILTINS } from '../../src/frontend/builtins.ts';
import { PRELUDE } from '../../src/frontend/prelude.ts';

const UPDATE = process.env.UPDATE_DOCS === '1';
const LANGUAGE = 'docs/language.md';
const AUTODIFF = 'docs/autodiff.md';

interface Fence {
  readonly lang: string;
  /** The lines between the fences, without the last newline. */
  readonly body: string;
  /** Offsets of the lines between the fences (last newline included), for rewriting them. */
  readonly start: number;
  readonly end: number;
}

interface Tagged {
  readonly kind: 'file' | 'output' | 'diagnostic';
  readonly arg: string;
  readonly fences: readonly Fence[];
}

/** The fenced block that starts at `from` (after blank space), if one does. */
function fenceAt(text: string, from: number): Fence | undefined {
  // The body is whole lines, none of which opens with ```: an empty fence stays empty.
  const re = /\s*```(\w*)\n((?:(?!```)[^\n]*\n)*?)```/y;
  re.lastIndex = from;
  const m = re.exec(text);
  if (!m) return undefined;
  const lang = m[1] ?? '';
  const lines = m[2] ?? '';
  const start = m.index + m[0].indexOf('```') + 3 + lang.length + 1;
  return { lang, body: lines.replace(/\n$/, ''), start, end: start + lines.length };
}

function taggedBlocks(text: string): Tagged[] {
  const out: Tagged[] = [];
  for (const m of text.matchAll(/<!-- (file|output|diagnostic): (.*?) -->/g)) {
    const kind = m[1] as Tagged['kind'];
    const fences: Fence[] = [];
    let at = (m.index ?? 0) + m[0].length;
    for (let i = 0; i < (kind === 'diagnostic' ? 2 : 1); i++) {
      const f = fenceAt(text, at);
      if (!f) throw new Error(`no fenced block after \`${m[0]}\``);
      fences.push(f);
      at = f.end + '```'.length;
    }
    out.push({ kind, arg: m[2] ?? '', fences });
  }
  return out;
}

/** Runs the CLI in memory; stdout and stderr interleaved as a terminal shows them. */
async function projc(args: readonly string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const io = { out: (t: string) => void (text += t), err: (t: string) => void (text += t) };
  const code = await main(args, io);
  return { code, text };
}

const scratch = mkdtempSync(join(tmpdir(), 'projc-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What `projc check example.proj` prints for a program. */
async function checkProgram(program: string): Promise<string> {
  const path = join(scratch, 'example.proj');
  writeFileSync(path, program.endsWith('\n') ? program : `${program}\n`);
  const { text } = await projc(['check', path]);
  return text.split(path).join('example.proj');
}

const clean = (s: string) => s.replace(/\s+$/, '');

/** The expected body of each checked fence of a tagged block, by fence index. */
async function expected(b: Tagged): Promise<Map<number, string>> {
  switch (b.kind) {
    case 'file':
      return new Map([[0, clean(readFileSync(b.arg, 'utf8'))]]);
    case 'output': {
      const [cmd, ...args] = b.arg.split(/\s+/);
      if (cmd !== 'projc') throw new Error(`an output block must run projc: \`${b.arg}\``);
      return new Map([[0, clean((await projc(args)).text)]]);
    }
    case 'diagnostic':
      return new Map([[1, clean(await checkProgram(b.fences[0]?.body ?? ''))]]);
  }
}

/** Checks every tagged block of a doc (or rewrites it in UPDATE_DOCS mode). */
async function verify(path: string): Promise<void> {
  const text = readFileSync(path, 'utf8');
  const blocks = taggedBlocks(text);
  const edits: { start: number; end: number; body: string }[] = [];
  for (const b of blocks) {
    for (const [i, want] of await expected(b)) {
      const f = b.fences[i];
      if (!f) throw new Error(`${b.kind} ${b.arg}: missing fence ${i}`);
      if (UPDATE) edits.push({ start: f.start, end: f.end, body: want ? `${want}\n` : '' });
      else
        expect(clean(f.body), `${path}: the block under <!-- ${b.kind}: ${b.arg} -->`).toBe(want);
    }
  }
  if (UPDATE && edits.length) {
    let out = text;
    for (const e of edits.sort((a, b) => b.start - a.start))
      out = out.slice(0, e.start) + e.body + out.slice(e.end);
    writeFileSync(path, out);
  }
}

const language = () => readFileSync(LANGUAGE, 'utf8');
const preludeFns = [...PRELUDE.text.matchAll(/^fn\s+([A-Za-z_]\w*)/gm)].map((m) => m[1] ?? '');

describe('docs/language.md', () => {
  it('has an entry in the diagnostics index for every code', () => {
    const doc = language();
    const missing = Object.keys(CODES).filter((c) => !doc.includes(`### ${c}`));
    expect(missing).toEqual([]);
  });

  it('shows a program that triggers each compile-time code', () => {
    const shown = new Set(
      taggedBlocks(language()).flatMap((b) => (b.kind === 'diagnostic' ? [b.arg] : [])),
    );
    // P0114 (no such kernel) is reported by the commands that pick a kernel, not by check.
    const compileTime = Object.keys(CODES).filter((c) => c < 'P0300' && c !== 'P0114');
    expect(compileTime.filter((c) => !shown.has(c))).toEqual([]);
  });

  it('each example program reports the code it illustrates', async () => {
    for (const b of taggedBlocks(language()).filter((x) => x.kind === 'diagnostic')) {
      const text = await checkProgram(b.fences[0]?.body ?? '');
      expect(text, `the program under <!-- diagnostic: ${b.arg} -->`).toMatch(
        new RegExp(`(error|warning)\\[${b.arg}\\]`),
      );
    }
  });

  it('lists every built-in with its signature', () => {
    const doc = language();
    const missing = [...BUILTINS.values()]
      .filter((b) => !doc.includes(`\`${b.signature}\``))
      .map((b) => b.signature);
    expect(missing).toEqual([]);
  });

  it('lists every prelude fn and pastes the prelude', () => {
    const doc = language();
    expect(preludeFns.length).toBeGreaterThan(0);
    expect(preludeFns.filter((f) => !doc.includes(`\`${f}`))).toEqual([]);
    expect(
      taggedBlocks(doc).some((b) => b.kind === 'file' && b.arg === 'src/frontend/prelude.proj'),
    ).toBe(true);
  });

  it('pastes real files and real outputs of projc', async () => {
    await verify(LANGUAGE);
  });
});

describe('docs/autodiff.md', () => {
  it('pastes the IR that `projc ir examples/cross_entropy.proj --grad X,W` prints today', async () => {
    const doc = readFileSync(AUTODIFF, 'utf8');
    const block = taggedBlocks(doc).find(
      (b) => b.kind === 'output' && b.arg === 'projc ir examples/cross_entropy.proj --grad X,W',
    );
    expect(block, 'the worked example is tagged <!-- output: projc ir ... -->').toBeDefined();
    const { code, text } = await projc(['ir', 'examples/cross_entropy.proj', '--grad', 'X,W']);
    expect(code).toBe(0);
    if (!UPDATE) expect(clean(block?.fences[0]?.body ?? '')).toBe(clean(text));
  });

  it('pastes real files and real outputs of projc', async () => {
    await verify(AUTODIFF);
  });
});
