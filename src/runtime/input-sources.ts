// Where a run's inputs come from and how they reach the program's buffers, without a
// float64 copy and, for device inputs, without the host:
//
// - a host typed array already in the parameter's storage (Float32Array for f32,
//   Int32Array for i32, a Uint16Array of bf16/f16 bits) is written to the device as it is;
// - a Float32Array for a bf16/f16 parameter is written as f32 and packed on the device;
// - any other array of values is packed on the host (`packForUpload`), as before;
// - a caller's GPUBuffer in the parameter's storage at offset 0 is bound as it is (zero
//   copy); at another offset it is copied on the device; in another float storage it is
//   converted on the device (src/runtime/convert.ts).
//
// Inputs that feed non-product operations also live in the arena (one u32 word per
// element): from the host they join the arena image, from the device they are copied or
// converted into their slot by the first commands of the run.
import { packForUpload, type StorageDtype } from '../../codegen/storage.ts';
import { InternalError, UserError } from '../diagnostics/diagnostic.ts';
import { bf16BitsToF32, f16BitsToF32 } from '../io/dtype-bits.ts';
import type { DType } from '../ir/types.ts';
import type { BufferPool } from './buffers.ts';
import { encodeConvert, type ConvertTarget, type FloatSource } from './convert.ts';
import { word } from './images.ts';
import { BufferUsage } from './usage.ts';

/** A tensor in a caller's device buffer: `dtype` is how its elements are stored. */
export interface DeviceTensor {
  readonly buffer: GPUBuffer;
  readonly dtype: StorageDtype;
  readonly shape: readonly number[];
  /** Byte offset of element 0 (a multiple of 4); default 0. */
  readonly offset?: number;
}

/** An input as the runtime sees it after the API has checked its shape. */
export type InputSource =
  | { readonly kind: 'scalar'; readonly value: number }
  | {
      readonly kind: 'host';
      readonly shape: readonly number[];
      readonly data: ArrayLike<number>;
      /** `data` holds bf16/f16 bit patterns (a Uint16Array), not values. */
      readonly bits?: 'bf16' | 'f16';
    }
  | ({ readonly kind: 'device' } & DeviceTensor);

/** An input made ready for a program: its product operand buffer and its arena image. */
export interface StagedInput {
  readonly shape: readonly number[];
  readonly scalar?: number;
  /** The operand buffer in the parameter's storage from byte 0 (products read it). */
  readonly own?: GPUBuffer;
  /** One u32 word per element, for the arena: words on the host, or a device range of them. */
  readonly arena?:
    | { readonly kind: 'host'; readonly words: Uint32Array }
    | { readonly kind: 'device'; readonly buffer: GPUBuffer; readonly offset: number };
  /** Host bytes written to the device for this input (the arena words included). */
  readonly uploadedBytes: number;
}

export interface StageContext {
  readonly device: GPUDevice;
  /** Temporary and converted buffers are made (and accounted) here. */
  readonly pool: BufferPool;
  /** Device copies and conversions are recorded here, before the program's first pass. */
  readonly encoder: GPUCommandEncoder;
}

const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;

/** Bytes of `count` elements stored as `d` (16-bit storages two per u32). */
function storageBytes(d: StorageDtype, count: number): number {
  return d === 'bf16' || d === 'f16' ? count * 2 : count * 4;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((s, x) => s * x, 1);
}

const isFloatStorage = (d: StorageDtype): d is FloatSource =>
  d === 'f32' || d === 'bf16' || d === 'f16';

/** The storage a parameter of `dtype` has on the device (f64 never reaches it). */
export function storageOf(dtype: DType): StorageDtype {
  switch (dtype) {
    case 'bf16':
    case 'f16':
    case 'i32':
    case 'bool':
      return dtype;
    default:
      return 'f32';
  }
}

/** Word storages that read as the same words: bool is 0/1 in u32 or i32 words. */
function sameWords(have: StorageDtype, want: StorageDtype): boolean {
  return have === want || (want === 'bool' && have === 'i32');
}

/**
 * Stages one parameter's input for the buffers a program reads it from: `own` for a
 * product operand, `arena` for the element-wise kernels. Uploads and device work go
 * through `ctx`; nothing is read back.
 */
export function stageInput(
  ctx: StageContext,
  name: string,
  dtype: DType,
  needs: { readonly own: boolean; readonly arena: boolean },
  src: InputSource,
): StagedInput {
  if (src.kind === 'scalar') return { shape: [], scalar: src.value, uploadedBytes: 0 };
  const want = storageOf(dtype);
  const n = numel(src.shape);
  let uploaded = 0;
  const upload = (buf: GPUBuffer, data: ArrayBufferView) => {
    ctx.pool.upload(buf, data);
    uploaded += data.byteLength;
  };
  const make = (label: string, bytes: number) =>
    ctx.pool.create(label, bytes, STORAGE, { rangedBinding: true });
  const convert = (
    from: GPUBuffer,
    fromDtype: FloatSource,
    fromElem: number,
    to: ConvertTarget,
    dst: GPUBuffer,
  ) =>
    encodeConvert(ctx.device, ctx.encoder, {
      src: from,
      srcDtype: fromDtype,
      srcElem: fromElem,
      dst,
      dstWord: 0,
      to,
      count: n,
      uniform: ctx.pool.create(`${name}:convert`, 16, BufferUsage.UNIFORM | BufferUsage.COPY_DST),
    });

  if (src.kind === 'host') {
    let own: GPUBuffer | undefined;
    if (needs.own) {
      own = make(`in.${name}`, storageBytes(want, n));
      if (src.bits) {
        if (src.bits !== want)
          throw userError(name, `holds ${src.bits} bits but the parameter is ${dtype}`);
        upload(own, asView(src.data, name));
      } else if (
        (want === 'f32' && src.data instanceof Float32Array) ||
        (want === 'i32' && src.data instanceof Int32Array)
      ) {
        upload(own, src.data);
      } else if ((want === 'bf16' || want === 'f16') && src.data instanceof Float32Array) {
        // Rounded to bf16/f16 on the device: the f32 values go up once, as they are.
        const tmp = make(`${name}:f32`, n * 4);
        upload(tmp, src.data);
        convert(tmp, 'f32', 0, { kind: 'packed', dtype: want }, own);
      } else {
        upload(own, packForUpload(want, src.data));
      }
    }
    let arena: StagedInput['arena'];
    if (needs.arena) {
      const words = new Uint32Array(n);
      const value =
        src.bits === 'bf16'
          ? (i: number) => bf16BitsToF32(src.data[i] ?? 0)
          : src.bits === 'f16'
            ? (i: number) => f16BitsToF32(src.data[i] ?? 0)
            : (i: number) => src.data[i] ?? 0;
      for (let i = 0; i < n; i++) words[i] = word(value(i), dtype);
      uploaded += words.byteLength;
      arena = { kind: 'host', words };
    }
    return {
      shape: src.shape,
      ...(own ? { own } : {}),
      ...(arena ? { arena } : {}),
      uploadedBytes: uploaded,
    };
  }

  // A device input: bound, copied or converted on the device; no host bytes.
  const offset = src.offset ?? 0;
  if (offset % 4 !== 0) throw userError(name, `has byte offset ${offset}, not a multiple of 4`);
  const have = src.dtype;
  const elemBytes = have === 'bf16' || have === 'f16' ? 2 : 4;
  const need = offset + storageBytes(have, n);
  if (src.buffer.size < need)
    throw userError(name, `needs ${need} bytes of its buffer, which has ${src.buffer.size}`);
  if (!isFloatStorage(want) || !isFloatStorage(have)) {
    if (!sameWords(have, want))
      throw userError(name, `is stored as ${have} but the parameter is ${dtype}`);
  }
  let own: GPUBuffer | undefined;
  if (needs.own) {
    if (have === want || sameWords(have, want)) {
      // Bound as it is when kernels can bind it from byte 0; else copied on the device.
      if (offset === 0 && src.buffer.usage & BufferUsage.STORAGE) own = src.buffer;
      else {
        own = make(`in.${name}`, storageBytes(want, n));
        // Whole words (WebGPU copies multiples of 4 bytes), within the caller's buffer.
        const words = Math.min(
          Math.ceil(storageBytes(want, n) / 4),
          (src.buffer.size - offset) >> 2,
        );
        ctx.encoder.copyBufferToBuffer(src.buffer, offset, own, 0, words * 4);
      }
    } else if (isFloatStorage(have) && isFloatStorage(want)) {
      own = make(`in.${name}`, storageBytes(want, n));
      const to: ConvertTarget =
        want === 'f32' ? { kind: 'word', round: 'f32' } : { kind: 'packed', dtype: want };
      convert(src.buffer, have, offset / elemBytes, to, own);
    }
  }
  let arena: StagedInput['arena'];
  if (needs.arena) {
    // The arena holds f32 words rounded to the parameter's dtype, i32 words, or 0/1 words.
    const round = dtype === 'bf16' || dtype === 'f16' ? dtype : 'f32';
    if (!isFloatStorage(want) || (have === 'f32' && round === 'f32'))
      arena = { kind: 'device', buffer: src.buffer, offset };
    else if (isFloatStorage(have)) {
      const words = make(`arena.${name}:words`, n * 4);
      convert(src.buffer, have, offset / elemBytes, { kind: 'word', round }, words);
      arena = { kind: 'device', buffer: words, offset: 0 };
    } else throw new InternalError(`no arena image for ${name}`);
  }
  return {
    shape: src.shape,
    ...(own ? { own } : {}),
    ...(arena ? { arena } : {}),
    uploadedBytes: 0,
  };
}

/** The bytes of a typed array of bits (a plain array is packed into 16-bit words first). */
function asView(data: ArrayLike<number>, name: string): ArrayBufferView {
  if (data instanceof Uint16Array) return data;
  if (ArrayBuffer.isView(data)) throw userError(name, 'bf16/f16 bits must come as a Uint16Array');
  return Uint16Array.from(data);
}

function userError(name: string, what: string): UserError {
  return new UserError({ severity: 'error', code: 'P0408', message: `input \`${name}\` ${what}` });
}
