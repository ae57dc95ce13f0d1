import { mulberry32 } from '../../src/run/rng.ts';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import type { Code } from '../../src/diagnostics/codes.ts';
import {
  MAX_HEADER_BYTES,
  decodeI64ToI32,
  decodeToF64,
  encodeFromNumbers,
  isSupportedDtype,
  itemSize,
  readSafetensors,
  writeSafetensors,
  type StDtype,
  type StTensor,
} from '../../src/io/safetensors.ts';
import { roundToBf16, roundToF16 } from '../../src/io/dtype-bits.ts';

const PATH = 'in.safetensors';

/** A raw file: u64 LE header length, the header text as given (unpadded), then `data`. */
function rawFile(header: unknown, data: Uint8Array | number = 0): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** Runs `f`, expects a UserError with `code` whose message matches every pattern. */
function expectUserError(f: () => unknown, code: Code, ...patterns: RegExp[]): void {
  expect(f).toThrow(UserError);
  try {
    f();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    expect(e.diagnostics[0]?.code).toBe(code);
    for (const p of patterns) expect(e.message).toMatch(p);
  }
}

const read = (buf: Uint8Array) => (): unknown => readSafetensors(buf, PATH);
const FILE = /^in\.safetensors: /;

describe('round trips', () => {
  const cases: { dtype: StDtype; values: number[]; expected?: number[] }[] = [
    { dtype: 'F64', values: [0.1, -1e300, 5e-324, Infinity, -0] },
    {
      dtype: 'F32',
      values: [0.1, -2.5, 3e38],
      expected: [Math.fround(0.1), -2.5, Math.fround(3e38)],
    },
    {
      dtype: 'BF16',
      values: [0.1, 1 + 2 ** -8, -3.0e38],
      expected: [0.1, 1 + 2 ** -8, -3e38].map(roundToBf16),
    },
    {
      dtype: 'F16',
      values: [0.1, 65504, 65520, 1e-7],
      expected: [0.1, 65504, 65520, 1e-7].map(roundToF16),
    },
    { dtype: 'I32', values: [0, -1, 2147483647, -2147483648] },
    { dtype: 'I64', values: [0, -1, 2147483647, -2147483648] },
    { dtype: 'BOOL', values: [0, 1, 3, NaN], expected: [0, 1, 1, 1] },
  ];
  for (const { dtype, values, expected } of cases) {
    it(`${dtype}: a vector, a 0-dim scalar and a zero-size tensor`, () => {
      const tensors = [
        encodeFromNumbers(values, dtype, [values.length], 'v'),
        encodeFromNumbers(values.slice(0, 1), dtype, [], 's'),
        encodeFromNumbers([], dtype, [0, 3], 'empty'),
      ];
      const metadata = { format: 'pt', 'note \u00e9': 'ünïcode' };
      const file = readSafetensors(writeSafetensors(tensors, metadata), PATH);
      expect(file.metadata).toEqual(metadata);
      expect([...file.tensors.keys()].sort()).toEqual(['empty', 's', 'v']);
      const v = file.tensors.get('v');
      const s = file.tensors.get('s');
      const empty = file.tensors.get('empty');
      if (!v || !s || !empty) throw new Error('missing tensor');
      expect(v.dtype).toBe(dtype);
      expect(v.shape).toEqual([values.length]);
      expect([...decodeToF64(v, PATH)]).toEqual(expected ?? values);
      expect(s.shape).toEqual([]);
      expect([...decodeToF64(s, PATH)]).toEqual((expected ?? values).slice(0, 1));
      expect(empty.shape).toEqual([0, 3]);
      expect(decodeToF64(empty, PATH).length).toBe(0);
    });
  }

  it('writes a space-padded header and aligns every tensor to its item size', () => {
    const tensors = [
      encodeFromNumbers([1], 'BOOL', [1], 'a'),
      encodeFromNumbers([1, 2, 3], 'F16', [3], 'b'),
      encodeFromNumbers([1], 'F64', [], 'c'),
      encodeFromNumbers([1, 2], 'I32', [2], 'd'),
    ];
    const buf = writeSafetensors(tensors);
    const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(buf.subarray(8, 8 + n));
    expect(text).toMatch(/^\{.*\} *$/);
    const file = readSafetensors(buf, PATH);
    for (const t of file.tensors.values()) {
      expect((t.bytes.byteOffset - 8 - n) % itemSize(t.dtype)).toBe(0);
    }
    expect(file.metadata).toEqual({});
    expect(text).not.toContain('__metadata__');
  });

  it('reads tensors at unaligned offsets, in a buffer at an unaligned byteOffset', () => {
    // One BOOL byte first, no header padding: every other tensor starts at an odd address.
    const parts: [string, StDtype, number[]][] = [
      ['flag', 'BOOL', [1]],
      ['f64', 'F64', [2.5, -0.125]],
      ['f32', 'F32', [1.5, -3]],
      ['bf16', 'BF16', [1, -2.5]],
      ['f16', 'F16', [0.5, 65504]],
      ['i32', 'I32', [-7, 123456]],
      ['i64', 'I64', [-1, 2147483647]],
    ];
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (const [name, dtype, values] of parts) {
      const t = encodeFromNumbers(values, dtype, [values.length], name);
      header[name] = { dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
      chunks.push(t.bytes);
      at += t.bytes.length;
    }
    const data = new Uint8Array(at);
    let off = 0;
    for (const c of chunks) {
      data.set(c, off);
      off += c.length;
    }
    const inner = rawFile(header, data);
    const host = new Uint8Array(inner.length + 3);
    host.set(inner, 3);
    const file = readSafetensors(host.subarray(3), PATH);
    for (const [name, , values] of parts) {
      const t = file.tensors.get(name);
      if (!t) throw new Error(name);
      expect([...decodeToF64(t, PATH)]).toEqual(values);
    }
    const i64 = file.tensors.get('i64');
    if (!i64) throw new Error('i64');
    expect([...decodeI64ToI32(i64, PATH)]).toEqual([-1, 2147483647]);
  });

  it('copies shapes it is given', () => {
    const shape = [2];
    const t = encodeFromNumbers([1, 2], 'F32', shape, 'x');
    shape[0] = 5;
    expect(t.shape).toEqual([2]);
  });
});

describe('dtypes', () => {
  it('reads a known but unsupported dtype, and refuses to decode it', () => {
    const buf = rawFile({ x: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, 2);
    const t = readSafetensors(buf, PATH).tensors.get('x');
    if (!t) throw new Error('x');
    expect(isSupportedDtype(t.dtype)).toBe(false);
    expectUserError(
      () => decodeToF64(t, PATH),
      'P0404',
      FILE,
      /dtype U8 of tensor `x` is not supported \(supported: BF16, F16, F32, F64, I32, I64, BOOL\)/,
    );
  });

  it('rejects an unknown dtype', () => {
    const buf = rawFile({ x: { dtype: 'Q7', shape: [2], data_offsets: [0, 2] } }, 2);
    expectUserError(read(buf), 'P0404', FILE, /tensor `x`: unknown dtype "Q7"/);
  });
});

describe('I64 range check', () => {
  const i64 = (values: bigint[], shape: number[]): StTensor => {
    const bytes = new Uint8Array(8 * values.length);
    values.forEach((v, i) => new DataView(bytes.buffer).setBigInt64(8 * i, v, true));
    return { name: 'targets', dtype: 'I64', shape, bytes };
  };

  it('accepts the whole i32 range', () => {
    const t = i64([-2147483648n, -1n, 0n, 2147483647n], [4]);
    expect([...decodeI64ToI32(t, PATH)]).toEqual([-2147483648, -1, 0, 2147483647]);
  });

  it.each([
    [[1n, 2147483648n], [2], '2147483648', '\\[1\\]'],
    [[0n, 0n, 0n, -2147483649n], [2, 2], '-2147483649', '\\[1, 1\\]'],
    [[0n, 4611686018427387904n, 0n], [1, 3], '4611686018427387904', '\\[0, 1\\]'],
    [[-(2n ** 63n)], [], '-9223372036854775808', '\\[\\]'],
  ])('%s is out of range', (values, shape, value, index) => {
    const t = i64(values, shape);
    const pattern = new RegExp(`tensor \`targets\` \\(I64\\): value ${value} at index ${index}`);
    expectUserError(() => decodeI64ToI32(t, PATH), 'P0407', FILE, pattern, /i32/);
    expectUserError(() => decodeToF64(t, PATH), 'P0407', FILE, pattern);
  });
});

describe('bad files', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const withEntry = (entry: unknown, data = 8): Uint8Array => rawFile({ x: entry }, data);

  it.each<[string, Uint8Array, RegExp]>([
    ['shorter than 8 bytes', new Uint8Array(5), /5 bytes, too short/],
    ['empty', new Uint8Array(0), /0 bytes, too short/],
    ['header past the end', rawFile('{}').subarray(0, 9), /header length 2 runs past the end/],
    ['header not JSON', rawFile('{"x":'), /header is not valid JSON/],
    ['header empty', rawFile(''), /header is not valid JSON/],
    ['header an array', rawFile('[1, 2]'), /header is not a JSON object: \[1,2\]/],
    ['header null', rawFile('null'), /header is not a JSON object: null/],
    ['entry not an object', withEntry(3), /tensor `x`: header entry is not an object: 3/],
    ['missing dtype', withEntry({ ...ok, dtype: undefined }), /tensor `x`: missing "dtype"/],
    ['missing shape', withEntry({ ...ok, shape: undefined }), /tensor `x`: missing "shape"/],
    [
      'missing data_offsets',
      withEntry({ ...ok, data_offsets: undefined }),
      /tensor `x`: missing "data_offsets"/,
    ],
    ['dtype not a string', withEntry({ ...ok, dtype: 4 }), /tensor `x`: "dtype" is not a string/],
    ['shape not an array', withEntry({ ...ok, shape: '2' }), /tensor `x`: "shape" must be/],
    ['negative dim', withEntry({ ...ok, shape: [-2] }), /tensor `x`: "shape" .* found \[-2\]/],
    ['fractional dim', withEntry({ ...ok, shape: [1.5] }), /tensor `x`: "shape" .* found \[1.5\]/],
    ['dim past 2^53', withEntry({ ...ok, shape: [2 ** 60] }), /tensor `x`: "shape" must be/],
    ['one offset', withEntry({ ...ok, data_offsets: [0] }), /tensor `x`: "data_offsets" must be/],
    [
      'string offset',
      withEntry({ ...ok, data_offsets: ['0', 8] }),
      /tensor `x`: "data_offsets" must be/,
    ],
    [
      'negative offset',
      withEntry({ ...ok, data_offsets: [-8, 0] }),
      /tensor `x`: "data_offsets" must be/,
    ],
    [
      'begin after end',
      withEntry({ ...ok, data_offsets: [8, 0] }),
      /tensor `x`: data_offsets \[8, 0\] begin after they end/,
    ],
    [
      'offsets past the data',
      withEntry({ ...ok, data_offsets: [0, 8] }, 4),
      /tensor `x`: data_offsets \[0, 8\] run past the end of the 4-byte data section/,
    ],
    [
      'shape and bytes disagree',
      withEntry({ ...ok, shape: [3] }),
      /tensor `x`: shape \[3\] of dtype F32 needs 12 bytes, but data_offsets \[0, 8\] hold 8/,
    ],
    [
      'absurd element count',
      withEntry({ ...ok, shape: [2 ** 40, 2 ** 40, 2 ** 40] }),
      /tensor `x`: shape .* needs more than 2\^53 bytes/,
    ],
    [
      'metadata not an object',
      rawFile({ __metadata__: [1], x: ok }, 8),
      /"__metadata__" is not an object/,
    ],
    [
      'metadata value not a string',
      rawFile({ __metadata__: { epoch: 3 }, x: ok }, 8),
      /"__metadata__" value of "epoch" is not a string: 3/,
    ],
    [
      'overlapping tensors',
      rawFile(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F16', shape: [2], data_offsets: [6, 10] },
        },
        10,
      ),
      /tensors `a` \(bytes 0\.\.8\) and `b` \(bytes 6\.\.10\) overlap/,
    ],
  ])('%s', (_, buf, pattern) => {
    expectUserError(read(buf), 'P0404', FILE, pattern);
  });

  it('rejects a header that is not UTF-8', () => {
    const buf = rawFile('{"x":  }');
    buf[8 + 5] = 0xff;
    buf[8 + 6] = 0xfe;
    expectUserError(read(buf), 'P0404', FILE, /header is not valid UTF-8/);
  });

  it('rejects an absurd header length without allocating it', () => {
    const buf = rawFile('{}');
    new DataView(buf.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectUserError(read(buf), 'P0404', FILE, /header length 18446744073709551615 is absurd/);
    new DataView(buf.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES) + 1n, true);
    expectUserError(read(buf), 'P0404', FILE, /is absurd/);
  });

  it('is lenient about holes, trailing bytes, extra keys and empty tensors anywhere', () => {
    const buf = rawFile(
      {
        __metadata__: null,
        a: { dtype: 'F32', shape: [1], data_offsets: [4, 8], extra: true },
        z: { dtype: 'F32', shape: [0], data_offsets: [5, 5] },
        e: { dtype: 'I64', shape: [3, 0], data_offsets: [16, 16] },
        big: { dtype: 'F32', shape: [0, 2 ** 50, 2 ** 50], data_offsets: [0, 0] },
      },
      16,
    );
    const file = readSafetensors(buf, PATH);
    expect(file.metadata).toEqual({});
    expect([...file.tensors.keys()]).toEqual(['a', 'z', 'e', 'big']);
    expect(file.tensors.get('z')?.bytes.length).toBe(0);
  });

  it('keeps a "__proto__" name as an ordinary tensor and metadata key', () => {
    const buf = rawFile(
      '{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}',
      1,
    );
    const file = readSafetensors(buf, PATH);
    expect(Object.keys(file.metadata)).toEqual(['__proto__']);
    expect(file.tensors.get('__proto__')?.shape).toEqual([]);
  });
});

describe('fuzz: corrupted files parse or throw UserError, nothing else', () => {
  const rng = mulberry32;

  it('500 seeded mutations', () => {
    const valid = writeSafetensors(
      [
        encodeFromNumbers([1, 2, 3, 4, 5, 6], 'F32', [2, 3], 'W'),
        encodeFromNumbers([0.5, -1], 'BF16', [2], 'b'),
        encodeFromNumbers([7], 'F16', [], 's'),
        encodeFromNumbers([3, 1, 4], 'I64', [3], 'targets'),
        encodeFromNumbers([1, 0], 'BOOL', [2], 'mask'),
        encodeFromNumbers([9, 8], 'I32', [2], 'i'),
        encodeFromNumbers([], 'F64', [0], 'none'),
      ],
      { format: 'pt' },
    );
    const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
    const rand = rng(20240531);
    const pick = (n: number): number => Math.floor(rand() * n);
    const outcomes = { parsed: 0, rejected: 0 };
    for (let iter = 0; iter < 500; iter++) {
      let buf = valid.slice();
      const edits = pick(4) === 0 ? 2 : 1;
      for (let e = 0; e < edits; e++) {
        const kind = pick(6);
        if (kind === 0) buf = buf.slice(0, pick(buf.length));
        else if (kind === 5 && buf.length > headerEnd) {
          // Data bytes: the file still parses; decoding sees garbage (and wide I64s).
          buf[headerEnd + pick(buf.length - headerEnd)] = pick(256);
        } else if (kind === 1 && buf.length > 0) {
          const i = pick(buf.length);
          buf[i] = (buf[i] ?? 0) ^ (1 << pick(8));
        } else if (kind === 2 && buf.length > 8) {
          // A header byte becomes a JSON-significant character, to get past JSON.parse.
          buf[8 + pick(Math.min(headerEnd, buf.length) - 8)] = '0123456789-[],:"'.charCodeAt(
            pick(16),
          );
        } else if (kind === 3 && buf.length >= 8) {
          new DataView(buf.buffer).setUint32(0, pick(2 * headerEnd), true);
        } else if (buf.length > 0) buf[pick(buf.length)] = pick(256);
      }
      try {
        const file = readSafetensors(buf, 'fuzz.safetensors');
        for (const t of file.tensors.values()) {
          if (isSupportedDtype(t.dtype)) decodeToF64(t, 'fuzz.safetensors');
        }
        outcomes.parsed++;
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        expect(e.message.startsWith('fuzz.safetensors: ')).toBe(true);
        outcomes.rejected++;
      }
    }
    // Both paths are exercised, so the test means something.
    expect(outcomes.parsed).toBeGreaterThan(20);
    expect(outcomes.rejected).toBeGreaterThan(20);
  });
});
