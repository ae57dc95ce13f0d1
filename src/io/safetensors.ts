// Reading and writing safetensors files (https://github.com/huggingface/safetensors):
//
//   [u64 LE: header length N] [N bytes: UTF-8 JSON header] [data section]
//
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}, offsets
// relative to the start of the data section, plus an optional "__metadata__" string map.
// Everything in a header is untrusted: every number is checked against the real size of
// the buffer before it is used, so a corrupt file is a UserError, never a crash or a huge
// allocation.
import { InternalError, UserError, assertNever } from '../diagnostics/diagnostic.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './dtype-bits.ts';

/** Bytes per element of every dtype the safetensors format defines. */
export const ST_DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

/** A safetensors dtype name. Only `SUPPORTED_DTYPES` can be decoded or encoded. */
export type StDtype = keyof typeof ST_DTYPE_SIZES;

/** The dtypes projc reads and writes (I64 only for integers that fit in i32). */
export const SUPPORTED_DTYPES = ['BF16', 'F16', 'F32', 'F64', 'I32', 'I64', 'BOOL'] as const;
export type SupportedDtype = (typeof SUPPORTED_DTYPES)[number];

/** One tensor of a file; `bytes` is little-endian raw data, a view into the file buffer. */
export interface StTensor {
  name: string;
  dtype: StDtype;
  shape: number[];
  bytes: Uint8Array;
}

/** The contents of a safetensors file, tensors in header order. */
export interface SafetensorsFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

/** Headers above this are rejected unread, as the reference implementation does. */
export const MAX_HEADER_BYTES = 100_000_000;

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isStDtype(s: string): s is StDtype {
  return Object.hasOwn(ST_DTYPE_SIZES, s);
}

export function isSupportedDtype(d: StDtype): d is SupportedDtype {
  return (SUPPORTED_DTYPES as readonly string[]).includes(d);
}

/** Bytes per element of `dtype`. */
export function itemSize(dtype: StDtype): number {
  return ST_DTYPE_SIZES[dtype];
}

/** Number of elements of a shape; 1 for a 0-dim tensor. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function fileError(path: string, message: string): UserError {
  return new UserError({ severity: 'error', code: 'P0404', message: `${path}: ${message}` });
}

/** A header value for an error message, cut short: headers can be megabytes. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/**
 * Parses a safetensors file. Validates the header length, the JSON, every entry's dtype,
 * shape and offsets, shape × item size against the byte span, and that no two tensors
 * overlap; any failure is a UserError (P0404) whose message starts with `path` and names the
 * tensor. Tensor bytes are views into `buf`, which may sit at any alignment.
 *
 * Deliberately lenient where nothing can go wrong: the data section may have holes or
 * trailing bytes (the reference implementation rejects both, but the tensors are still
 * well defined), header entries may carry extra keys, and BOOL bytes are not checked to be
 * 0/1. A name repeated in the JSON keeps its last entry, as JSON.parse does.
 */
export function readSafetensors(buf: Uint8Array, path: string): SafetensorsFile {
  if (buf.length < 8) {
    throw fileError(path, `file is ${buf.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    throw fileError(path, `header length ${headerLen} is absurd (limit ${MAX_HEADER_BYTES})`);
  }
  const n = Number(headerLen);
  if (8 + n > buf.length) {
    throw fileError(path, `header length ${n} runs past the end of the ${buf.length}-byte file`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n));
  } catch {
    throw fileError(path, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? `: ${e.message}` : '';
    throw fileError(path, `header is not valid JSON${why}`);
  }
  if (!isRecord(header)) throw fileError(path, `header is not a JSON object: ${show(header)}`);

  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, StTensor>();
  const spans: { name: string; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(entry, path);
      continue;
    }
    const { dtype, shape, begin, end } = parseEntry(name, entry, dataLen, path);
    tensors.set(name, {
      name,
      dtype,
      shape,
      bytes: buf.subarray(dataStart + begin, dataStart + end),
    });
    if (end > begin) spans.push({ name, begin, end });
  }
  // Empty tensors occupy no bytes and may sit anywhere; non-empty ones must be disjoint.
  spans.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1];
    const b = spans[i];
    if (a && b && b.begin < a.end) {
      throw fileError(
        path,
        `tensors \`${a.name}\` (bytes ${a.begin}..${a.end}) and \`${b.name}\` ` +
          `(bytes ${b.begin}..${b.end}) overlap`,
      );
    }
  }
  return { tensors, metadata };
}

function parseMetadata(entry: unknown, path: string): Record<string, string> {
  if (entry === null) return {};
  if (!isRecord(entry)) throw fileError(path, `"__metadata__" is not an object: ${show(entry)}`);
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') {
      throw fileError(path, `"__metadata__" value of "${k}" is not a string: ${show(v)}`);
    }
    pairs.push([k, v]);
  }
  // fromEntries defines properties, so a key "__proto__" stays an ordinary key.
  return Object.fromEntries(pairs);
}

function parseEntry(
  name: string,
  entry: unknown,
  dataLen: number,
  path: string,
): { dtype: StDtype; shape: number[]; begin: number; end: number } {
  const fail = (msg: string): UserError => fileError(path, `tensor \`${name}\`: ${msg}`);
  if (!isRecord(entry)) throw fail(`header entry is not an object: ${show(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (dtype === undefined) throw fail('missing "dtype"');
  if (shape === undefined) throw fail('missing "shape"');
  if (offsets === undefined) throw fail('missing "data_offsets"');
  if (typeof dtype !== 'string') throw fail(`"dtype" is not a string: ${show(dtype)}`);
  if (!isStDtype(dtype)) {
    throw fail(`unknown dtype ${show(dtype)} (known: ${Object.keys(ST_DTYPE_SIZES).join(', ')})`);
  }
  if (!isNonNegativeIntArray(shape)) {
    throw fail(`"shape" must be an array of non-negative integers, found ${show(shape)}`);
  }
  if (!isNonNegativeIntArray(offsets) || offsets.length !== 2) {
    throw fail(
      `"data_offsets" must be [begin, end] with non-negative integers, found ${show(offsets)}`,
    );
  }
  const begin = offsets[0] ?? 0;
  const end = offsets[1] ?? 0;
  if (begin > end) throw fail(`data_offsets [${begin}, ${end}] begin after they end`);
  if (end > dataLen) {
    throw fail(
      `data_offsets [${begin}, ${end}] run past the end of the ${dataLen}-byte data section`,
    );
  }
  // Products of huge dims lose precision in f64 but stay huge (rounding is monotone), so
  // they can never equal a span that fits in the file. A zero dim first avoids inf·0 = NaN.
  const needed = shape.includes(0) ? 0 : elementCount(shape) * itemSize(dtype);
  if (needed !== end - begin) {
    const bytes = Number.isSafeInteger(needed) ? `${needed} bytes` : 'more than 2^53 bytes';
    throw fail(
      `shape ${show(shape)} of dtype ${dtype} needs ${bytes}, but data_offsets ` +
        `[${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { dtype, shape, begin, end };
}

/**
 * Serializes tensors as a safetensors file. Data is laid out largest item size first, so
 * with the header padded by spaces to a multiple of 8 bytes (as the reference writer does)
 * every tensor starts at a multiple of its item size. Inconsistent input (duplicate names,
 * wrong byte counts) is a bug of the caller: InternalError.
 */
export function writeSafetensors(
  tensors: readonly StTensor[],
  metadata?: Record<string, string>,
): Uint8Array {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) {
      throw new InternalError(`cannot write a tensor named \`${t.name}\` (duplicate or reserved)`);
    }
    seen.add(t.name);
    checkTensor(t);
  }
  const order = [...tensors].sort(
    (a, b) =>
      itemSize(b.dtype) - itemSize(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  // Built by hand so key order is exactly the data order and no name is special to JS.
  const fields: string[] = [];
  if (metadata) fields.push(`"__metadata__":${JSON.stringify(sortedRecord(metadata))}`);
  let offset = 0;
  for (const t of order) {
    const entry = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.bytes.length],
    };
    fields.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    offset += t.bytes.length;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const headerLen = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const t of order) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkTensor(t: StTensor): void {
  if (!isNonNegativeIntArray(t.shape)) {
    throw new InternalError(`tensor \`${t.name}\`: bad shape ${show(t.shape)}`);
  }
  const needed = elementCount(t.shape) * itemSize(t.dtype);
  if (needed !== t.bytes.length) {
    throw new InternalError(
      `tensor \`${t.name}\`: ${t.dtype} ${show(t.shape)} needs ${needed} bytes, has ${t.bytes.length}`,
    );
  }
}

// ---- decoding and encoding tensor data

/**
 * `bytes` in a form a typed array of `size`-byte elements can view: the view itself when it
 * is aligned on a little-endian host, else an aligned copy (byte-swapped on a big-endian
 * host, so native reads give the file's little-endian values).
 */
function nativeView(bytes: Uint8Array, size: number): Uint8Array {
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset % size === 0) return bytes;
  const copy = bytes.slice();
  if (!HOST_LITTLE_ENDIAN) swapBytes(copy, size);
  return copy;
}

function swapBytes(b: Uint8Array, size: number): void {
  if (size > 1) for (let i = 0; i + size <= b.length; i += size) b.subarray(i, i + size).reverse();
}

/** The little-endian bytes of a freshly made typed array (swapped in place if needed). */
function leBytes(a: Float64Array | Float32Array | Int32Array | Uint16Array): Uint8Array {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (!HOST_LITTLE_ENDIAN) swapBytes(b, a.BYTES_PER_ELEMENT);
  return b;
}

function unsupported(t: StTensor, path: string): UserError {
  return fileError(
    path,
    `dtype ${t.dtype} of tensor \`${t.name}\` is not supported ` +
      `(supported: ${SUPPORTED_DTYPES.join(', ')})`,
  );
}

/** `[i, j, ...]`: the row-major multi-index of flat element `flat` of `shape`. */
function formatIndex(flat: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d] ?? 1;
    idx.unshift(flat % size);
    flat = Math.floor(flat / size);
  }
  return `[${idx.join(', ')}]`;
}

/**
 * The values of a tensor as f64: bf16/f16/f32 exactly (every such value is a double), I32
 * and BOOL (any non-zero byte is 1) as integers, and I64 through `decodeI64ToI32`'s range
 * check, since projc has no integer type wider than i32. Other dtypes are a UserError (P0404)
 * naming the tensor and the supported dtypes. `path` is the file, for messages.
 */
export function decodeToF64(t: StTensor, path: string): Float64Array {
  const count = t.bytes.length / itemSize(t.dtype);
  const dtype = t.dtype;
  switch (dtype) {
    case 'F64': {
      const v = nativeView(t.bytes, 8);
      return new Float64Array(new Float64Array(v.buffer, v.byteOffset, count));
    }
    case 'F32': {
      const v = nativeView(t.bytes, 4);
      return new Float64Array(new Float32Array(v.buffer, v.byteOffset, count));
    }
    case 'BF16':
    case 'F16': {
      const v = nativeView(t.bytes, 2);
      const u16 = new Uint16Array(v.buffer, v.byteOffset, count);
      const widen = dtype === 'BF16' ? bf16BitsToF32 : f16BitsToF32;
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = widen(u16[i] ?? 0);
      return out;
    }
    case 'I32': {
      const v = nativeView(t.bytes, 4);
      return new Float64Array(new Int32Array(v.buffer, v.byteOffset, count));
    }
    case 'I64':
      return new Float64Array(decodeI64ToI32(t, path));
    case 'BOOL':
      return Float64Array.from(t.bytes, (b) => (b !== 0 ? 1 : 0));
    case 'U8':
    case 'I8':
    case 'I16':
    case 'U16':
    case 'U32':
    case 'U64':
    case 'F8_E4M3':
    case 'F8_E5M2':
      throw unsupported(t, path);
    default:
      return assertNever(dtype, 'dtype');
  }
}

/**
 * The values of an I64 tensor as i32 (a PyTorch user's target ids arrive as int64). A value
 * outside [-2^31, 2^31) is a UserError (P0407) naming the file, the tensor, the exact value
 * and its index. Calling it on another dtype is a bug: InternalError.
 */
export function decodeI64ToI32(t: StTensor, path: string): Int32Array {
  if (t.dtype !== 'I64') throw new InternalError(`decodeI64ToI32 on a ${t.dtype} tensor`);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Int32Array(t.bytes.length / 8);
  for (let i = 0; i < out.length; i++) {
    const lo = view.getInt32(8 * i, true);
    const hi = view.getInt32(8 * i + 4, true);
    // An int64 fits in i32 exactly when its high word is the sign extension of the low one.
    if (hi !== lo >> 31) {
      const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
      throw new UserError({
        severity: 'error',
        code: 'P0407',
        message:
          `${path}: tensor \`${t.name}\` (I64): value ${value} at index ` +
          `${formatIndex(i, t.shape)} does not fit in i32 [${I32_MIN}, ${I32_MAX}]`,
      });
    }
    out[i] = lo;
  }
  return out;
}

/**
 * A tensor holding `values` in `dtype`: F64 exactly, F32/BF16/F16 rounded to nearest even
 * (through f32 for the 16-bit formats), BOOL as 1 for any non-zero value (NaN included).
 * I32/I64 values must be integers in range, and `values.length` must match `shape`; anything
 * else, like an unsupported dtype, is a bug of the caller: InternalError.
 */
export function encodeFromNumbers(
  values: ArrayLike<number>,
  dtype: StDtype,
  shape: number[],
  name: string,
): StTensor {
  if (!isNonNegativeIntArray(shape) || elementCount(shape) !== values.length) {
    throw new InternalError(`tensor \`${name}\`: ${values.length} values for shape ${show(shape)}`);
  }
  const n = values.length;
  const checkInt = (v: number, min: number, max: number): number => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new InternalError(`tensor \`${name}\`: ${v} is not a valid ${dtype} value`);
    }
    return v;
  };
  let bytes: Uint8Array;
  switch (dtype) {
    case 'F64':
      bytes = leBytes(Float64Array.from(values));
      break;
    case 'F32':
      bytes = leBytes(Float32Array.from(values));
      break;
    case 'BF16':
      bytes = leBytes(Uint16Array.from(values, f32ToBf16Bits));
      break;
    case 'F16':
      bytes = leBytes(Uint16Array.from(values, f32ToF16Bits));
      break;
    case 'I32':
      bytes = leBytes(Int32Array.from(values, (v) => checkInt(v, I32_MIN, I32_MAX)));
      break;
    case 'I64': {
      bytes = new Uint8Array(8 * n);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) {
        const v = checkInt(values[i] ?? 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        view.setBigInt64(8 * i, BigInt(v), true);
      }
      break;
    }
    case 'BOOL':
      bytes = Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
      break;
    default:
      throw new InternalError(`cannot encode dtype ${dtype} (tensor \`${name}\`)`);
  }
  return { name, dtype, shape: [...shape], bytes };
}
