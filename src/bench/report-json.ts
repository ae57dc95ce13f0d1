// results.json as prettier would format it (printWidth 100), so that the generated file
// passes `npm run format:check` without running prettier: objects one key per line, an
// array on one line when it fits, else numbers filled line by line, else one per line.
// Fractions are kept to 6 significant digits: timings are not more precise than that.

const WIDTH = 100;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON value of the report: what JSON.stringify would keep of it. */
function normalize(v: unknown): Json | undefined {
  if (v === null) return null;
  if (typeof v === 'number')
    return !Number.isFinite(v) ? null : Number.isInteger(v) ? v : Number(v.toPrecision(6));
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => normalize(x) ?? null);
  if (typeof v === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalize(x);
      if (n !== undefined) out[k] = n;
    }
    return out;
  }
  return undefined;
}

const isObject = (v: Json): v is { [key: string]: Json } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value on one line, or undefined when it holds an object (which prettier keeps expanded). */
function flat(v: Json): string | undefined {
  if (isObject(v)) return Object.keys(v).length ? undefined : '{}';
  if (Array.isArray(v)) {
    const parts = v.map(flat);
    if (parts.some((p) => p === undefined)) return undefined;
    return `[${parts.join(', ')}]`;
  }
  return JSON.stringify(v);
}

/** `v` printed at `indent`, its first line following `prefix` chars and its last followed by `suffix` chars. */
function print(v: Json, indent: number, prefix: number, suffix: number): string {
  const pad = ' '.repeat(indent + 2);
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (!keys.length) return '{}';
    const lines = keys.map((k, i) => {
      const head = `${JSON.stringify(k)}: `;
      const comma = i < keys.length - 1 ? 1 : 0;
      return `${pad}${head}${print(v[k] ?? null, indent + 2, indent + 2 + head.length, comma)}${comma ? ',' : ''}`;
    });
    return `{\n${lines.join('\n')}\n${' '.repeat(indent)}}`;
  }
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    const one = flat(v);
    if (one !== undefined && prefix + one.length + suffix <= WIDTH) return one;
    if (v.every((x) => typeof x === 'number')) {
      // Fill: as many numbers per line as fit, each followed by a comma but the last.
      const items = v.map((x) => JSON.stringify(x));
      const lines: string[] = [];
      let cur = '';
      items.forEach((item, i) => {
        const piece = i < items.length - 1 ? `${item},` : item;
        if (cur && pad.length + cur.length + 1 + piece.length > WIDTH) {
          lines.push(cur);
          cur = piece;
        } else cur = cur ? `${cur} ${piece}` : piece;
      });
      lines.push(cur);
      return `[\n${lines.map((l) => pad + l).join('\n')}\n${' '.repeat(indent)}]`;
    }
    const lines = v.map(
      (x, i) =>
        `${pad}${print(x, indent + 2, indent + 2, i < v.length - 1 ? 1 : 0)}${i < v.length - 1 ? ',' : ''}`,
    );
    return `[\n${lines.join('\n')}\n${' '.repeat(indent)}]`;
  }
  return JSON.stringify(v);
}

/** `value` as the text of a .json file that prettier leaves unchanged. */
export function formatJson(value: unknown): string {
  return print(normalize(value) ?? null, 0, 0, 0) + '\n';
}
