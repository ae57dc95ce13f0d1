import { mulberry32 } from '../../src/run/rng.ts';
import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32,
  bf16BitsToF32Array,
  f16BitsToF32,
  f16BitsToF32Array,
  f32ToBf16Array,
  f32ToBf16Bits,
  f32ToF16Array,
  f32ToF16Bits,
  roundToBf16,
  roundToF16,
  roundToF32,
} from '../../src/io/dtype-bits.ts';

// Independent of the module under test: f32 bits <-> value through a DataView.
const dv = new DataView(new ArrayBuffer(4));
function bitsOf(x: number): number {
  dv.setFloat32(0, x);
  return dv.getUint32(0);
}
function fromBits(u: number): number {
  dv.setUint32(0, u >>> 0);
  return dv.getFloat32(0);
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
const rng = mulberry32;

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

// Expected patterns checked by hand and against numpy's astype(float16) (f16) and
// c10::round_to_nearest_even (bf16).
describe('f32ToBf16Bits', () => {
  it.each([
    [1.0, 0x3f80],
    [-2.5, 0xc020],
    [0.1, 0x3dcd], // f32 0x3dcccccd: dropped half 0xcccd > 0x8000 rounds up
    [3.0e38, 0x7f62], // f32 0x7f61b1e6
    [3.4028234663852886e38, 0x7f80], // largest f32 0x7f7fffff overflows to inf
    [fromBits(0x7f7f7fff), 0x7f7f], // just below the halfway point stays finite
    [fromBits(0x7f7f8000), 0x7f80], // halfway, odd kept part: to even = inf
    [1e-40, 0x0001], // f32 subnormal 0x000116c2 → smallest bf16 subnormal
    [1 + 2 ** -8, 0x3f80], // halfway between 0x3f80 and 0x3f81: to even, down
    [1 + 3 * 2 ** -8, 0x3f82], // halfway between 0x3f81 and 0x3f82: to even, up
    [-(1 + 2 ** -8), 0xbf80],
    [-(1 + 3 * 2 ** -8), 0xbf82],
    [1 + 2 ** -8 + 2 ** -23, 0x3f81], // one f32 ulp above halfway rounds up
    [1 + 2 ** -8 + 2 ** -30, 0x3f80], // f64 → f32 first lands on the tie, then to even
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [NaN, 0x7fc0],
  ])('%s → %s', (x, bits) => {
    expect(hex(f32ToBf16Bits(x))).toBe(hex(bits));
  });

  it('maps every NaN pattern, including signalling and negative ones, to 0x7fc0', () => {
    for (const u of [0x7f800001, 0x7fbfffff, 0xff800001, 0xffc00000, 0x7f800100]) {
      expect(hex(f32ToBf16Bits(fromBits(u)))).toBe('0x7fc0');
    }
  });
});

describe('f32ToF16Bits', () => {
  it.each([
    [1.0, 0x3c00],
    [-2.5, 0xc100],
    [0.1, 0x2e66],
    [65504, 0x7bff], // largest f16
    [65519, 0x7bff], // below the halfway point to 65536
    [65520, 0x7c00], // halfway, odd kept part: to even = inf
    [1e5, 0x7c00],
    [-1e5, 0xfc00],
    [1e-8, 0x0000], // below 2^-25, half the smallest subnormal: underflows to 0
    [1e-7, 0x0002], // 1e-7 / 2^-24 = 1.68 units → 2
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // halfway between 0 and 2^-24: to even, 0
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 units: to even, 2
    [fromBits(0x33000001), 0x0001], // one f32 ulp above 2^-25 rounds up
    [1023.5 * 2 ** -24, 0x0400], // largest subnormal + half a unit: carries into the normals
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // halfway, to even, down
    [1 + 3 * 2 ** -11, 0x3c02], // halfway, to even, up
    [-(1 + 3 * 2 ** -11), 0xbc02],
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [NaN, 0x7e00],
    [1e-40, 0x0000], // f32 subnormal
  ])('%s → %s', (x, bits) => {
    expect(hex(f32ToF16Bits(x))).toBe(hex(bits));
  });

  it('keeps the sign of a NaN and makes it quiet', () => {
    expect(hex(f32ToF16Bits(fromBits(0xff800001)))).toBe('0xfe00');
    expect(hex(f32ToF16Bits(fromBits(0x7f800001)))).toBe('0x7e00');
  });
});

describe('widening', () => {
  it.each([
    [0x3c00, 1],
    [0xc100, -2.5],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])('f16 %s → %s', (bits, x) => {
    expect(f16BitsToF32(bits)).toBe(x);
  });

  it('f16 handles -0 and NaN', () => {
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0xfc01)).toBeNaN();
  });

  it('bf16 is the upper half of an f32', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc020)).toBe(-2.5);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
    expect(Object.is(bf16BitsToF32(0x8000), -0)).toBe(true);
    expect(bf16BitsToF32(0x7fc0)).toBeNaN();
    expect(bf16BitsToF32(0x0001)).toBe(2 ** -133);
  });

  it('every 16-bit pattern survives widen-then-narrow (NaNs stay NaN)', () => {
    for (let b = 0; b < 0x10000; b++) {
      const h = f16BitsToF32(b);
      const g = bf16BitsToF32(b);
      if (Number.isNaN(h)) expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(h)))).toBe(true);
      else if (f32ToF16Bits(h) !== b) expect(hex(f32ToF16Bits(h))).toBe(hex(b));
      if (Number.isNaN(g)) expect(f32ToBf16Bits(g)).toBe(0x7fc0);
      else if (f32ToBf16Bits(g) !== b) expect(hex(f32ToBf16Bits(g))).toBe(hex(b));
    }
  });
});

/**
 * Round to nearest, ties to even, by brute force: `values[i]` ascending are the non-negative
 * finite values of a format (index = bit pattern), followed by the value inf stands for
 * when the exponent is unbounded (so overflow is decided exactly like IEEE).
 */
function nearestEven(values: readonly number[], x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  let lo = 0;
  let hi = values.length - 1;
  if (a >= (values[hi] ?? 0)) return sign | hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] ?? 0) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - (values[lo] ?? 0);
  const dHi = (values[hi] ?? 0) - a;
  if (dLo < dHi) return sign | lo;
  if (dHi < dLo) return sign | hi;
  return sign | (lo % 2 === 0 ? lo : hi);
}

describe('narrowing agrees with a brute-force round-to-nearest-even', () => {
  const f16Values = Array.from({ length: 0x7c00 }, (_, b) => f16BitsToF32(b)).concat(2 ** 16);
  const bf16Values = Array.from({ length: 0x7f80 }, (_, b) => fromBits(b << 16)).concat(2 ** 128);
  const rand = rng(1234);
  const randU32 = (): number => Math.floor(rand() * 2 ** 32);
  // Random f32s of every exponent, f32s in the f16 range, and exact ties of both formats.
  const samples: number[] = [];
  for (let i = 0; i < 20000; i++) {
    samples.push(fromBits(randU32()));
    const exp = 98 + Math.floor(rand() * 48); // 2^-29 .. 2^18
    samples.push(fromBits((randU32() & 0x807fffff) | (exp << 23)));
    const j = Math.floor(rand() * 0x7bff);
    samples.push(((f16Values[j] ?? 0) + (f16Values[j + 1] ?? 0)) / 2);
    const k = Math.floor(rand() * 0x7f7f);
    samples.push(-((bf16Values[k] ?? 0) + (bf16Values[k + 1] ?? 0)) / 2);
  }
  const finite = samples.filter((x) => Number.isFinite(x));

  it('f16', () => {
    for (const x of finite) {
      const got = f32ToF16Bits(x);
      const want = nearestEven(f16Values, x);
      if (got !== want) expect(`${x}: ${hex(got)}`).toBe(`${x}: ${hex(want)}`);
    }
  });

  it('bf16', () => {
    for (const x of finite) {
      const got = f32ToBf16Bits(x);
      const want = nearestEven(bf16Values, x);
      if (got !== want) expect(`${x}: ${hex(got)}`).toBe(`${x}: ${hex(want)}`);
    }
  });

  it('array versions agree with the scalar ones', () => {
    const f32 = Float32Array.from(samples.concat(NaN, -0, Infinity));
    const bf = f32ToBf16Array(f32);
    const h = f32ToF16Array(f32);
    const bfBack = bf16BitsToF32Array(bf);
    const hBack = f16BitsToF32Array(h);
    const mismatches: number[] = [];
    for (let i = 0; i < f32.length; i++) {
      const x = f32[i] ?? 0;
      const same =
        bf[i] === f32ToBf16Bits(x) &&
        h[i] === f32ToF16Bits(x) &&
        Object.is(bfBack[i], bf16BitsToF32(bf[i] ?? 0)) &&
        Object.is(hBack[i], f16BitsToF32(h[i] ?? 0));
      if (!same) mismatches.push(x);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('roundTo*', () => {
  it('rounds values through the storage formats', () => {
    expect(roundToF32(0.1)).toBe(Math.fround(0.1));
    expect(roundToBf16(0.1)).toBe(0.10009765625);
    expect(roundToF16(0.1)).toBe(0.0999755859375);
    expect(roundToF16(65520)).toBe(Infinity);
    expect(roundToBf16(3.0e38)).toBe(fromBits(0x7f620000));
    expect(roundToF16(NaN)).toBeNaN();
    expect(Object.is(roundToBf16(-0), -0)).toBe(true);
    // Sanity of the test helpers themselves.
    expect(bitsOf(1)).toBe(0x3f800000);
  });
});
