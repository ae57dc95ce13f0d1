// The device-resident API: inputs as GPUBuffers or typed arrays in their storage form,
// weights bound once per session, results and gradients written into caller buffers,
// calls recorded into the caller's encoder; each against the host path of Runtime.run.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, Runtime, type IrFunction, type TensorInput } from '../../src/index.ts';
import { f32ToBf16Bits } from '../../src/io/dtype-bits.ts';
import { mulberry32 } from '../../src/run/rng.ts';
import { BufferUsage, MapMode } from '../../src/runtime/usage.ts';

const N = 40;
const H = 24;
const V = 56;

function kernelOf(storage: 'f32' | 'bf16'): IrFunction {
  let text = readFileSync(new URL('../../examples/cross_entropy.proj', import.meta.url), 'utf8');
  if (storage === 'f32') text = text.replaceAll('bf16[', 'f32[');
  const k = compile(text).kernels.get('cross_entropy');
  if (!k) throw new Error('no cross_entropy');
  return k;
}

const rand = mulberry32(7);
const X = Float32Array.from({ length: N * H }, () => rand() * 2 - 1);
const W = Float32Array.from({ length: V * H }, () => rand() * 2 - 1);
const target = Int32Array.from({ length: N }, (_, i) => (i % 7 === 3 ? -100 : (i * 13) % V));

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.create();
});
afterAll(() => rt.release());

const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

function deviceBuffer(data: Float32Array | Int32Array | Uint16Array, extra = 0): GPUBuffer {
  const bytes = Math.ceil((data.byteLength + extra) / 4) * 4;
  const b = rt.device.device.createBuffer({ size: bytes, usage: STORAGE });
  const padded = new Uint8Array(bytes);
  padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), extra);
  rt.device.device.queue.writeBuffer(b, 0, padded);
  return b;
}

async function read(buffer: GPUBuffer, n: number, offset = 0): Promise<Float32Array> {
  const staging = rt.device.device.createBuffer({
    size: n * 4,
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
  });
  const enc = rt.device.device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, offset, staging, 0, n * 4);
  rt.device.device.queue.submit([enc.finish()]);
  await staging.mapAsync(MapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

function maxRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs((got[i] ?? NaN) - (want[i] ?? 0)));
    s = Math.max(s, Math.abs(want[i] ?? 0));
  }
  return s > 0 ? d / s : d;
}

describe('a session with GPUBuffer inputs and caller gradient buffers', () => {
  it('matches Runtime.run and writes no host byte of W or X per step', async () => {
    const kernel = kernelOf('f32');
    const want = await rt.run(
      kernel,
      {
        X: { data: X, shape: [N, H] },
        W: { data: W, shape: [V, H] },
        target: { data: target, shape: [N] },
      },
      { grad: ['X', 'W'], chunkRows: 16 },
    );
    const wBuf = deviceBuffer(W);
    const xBuf = deviceBuffer(X);
    const tBuf = deviceBuffer(target);
    const dW = rt.device.device.createBuffer({ size: V * H * 4, usage: STORAGE });
    const dX = rt.device.device.createBuffer({ size: N * H * 4, usage: STORAGE });
    const s = await rt.session(kernel, { grad: ['X', 'W'], chunkRows: 16 });
    s.bind({ W: { buffer: wBuf, dtype: 'f32', shape: [V, H] } });
    expect(s.boundUploadedBytes).toBe(0);
    const uploads: number[] = [];
    for (let step = 0; step < 3; step++) {
      // Stale values in the caller's buffers must not leak into the gradients.
      rt.device.device.queue.writeBuffer(dW, 0, new Float32Array(V * H).fill(step + 1));
      const call = s.encode(
        {
          X: { buffer: xBuf, dtype: 'f32', shape: [N, H] },
          target: { buffer: tBuf, dtype: 'i32', shape: [N] },
        },
        { outputs: { 'grad.W': { buffer: dW }, 'grad.X': { buffer: dX } } },
      );
      expect(call.results.get('grad.W')?.buffer).toBe(dW);
      expect(call.stats.inputBytes.get('X')).toBe(0);
      expect(call.stats.inputBytes.get('target')).toBe(0);
      expect(call.stats.inputBytes.get('W')).toBe(0); // bound: written by nobody this step
      uploads.push(call.stats.uploadedBytes);
      const out = call.results.get('out');
      expect(maxRel(await read(dW, V * H), want.grads.get('W')?.data ?? [])).toBeLessThan(1e-6);
      expect(maxRel(await read(dX, N * H), want.grads.get('X')?.data ?? [])).toBeLessThan(1e-6);
      expect((await read(out?.buffer as GPUBuffer, 1))[0]).toBeCloseTo(
        want.outputs.get('out')?.data[0] ?? NaN,
        6,
      );
      out?.buffer.destroy();
    }
    // What a step writes from the host is the arena image and the uniforms: far less than
    // W alone, and the same every step.
    expect(uploads.every((u) => u === uploads[0])).toBe(true);
    expect(uploads[0]).toBeLessThan(V * H * 4);
    for (const b of [wBuf, xBuf, tBuf, dW, dX]) b.destroy();
    s.release();
  });

  it('takes the input of a call over a bound one, with its own shape', async () => {
    const kernel = kernelOf('f32');
    const s = await rt.session(kernel, { grad: ['X'] });
    s.bind({ W: { data: W, shape: [V, H] } });
    const V2 = V - 8;
    const W2 = W.subarray(0, V2 * H);
    const t2 = target.map((t) => (t >= V2 ? -100 : t));
    const base = { X: { data: X, shape: [N, H] }, target: { data: t2, shape: [N] } };
    const want = await rt.run(
      kernel,
      { ...base, W: { data: W2, shape: [V2, H] } },
      { grad: ['X'] },
    );
    const got = await s.run({ ...base, W: { data: W2, shape: [V2, H] } }, { readback: true });
    expect([...(got.host.get('grad.X') ?? [])]).toEqual([...(want.grads.get('X')?.data ?? [])]);
    for (const t of got.results.values()) t.buffer.destroy();
    s.release();
  });

  it('records into the caller encoder, results valid once it is submitted', async () => {
    const kernel = kernelOf('f32');
    const s = await rt.session(kernel, { grad: ['W'], chunkRows: 8 });
    s.bind({ W: { data: W, shape: [V, H] }, target: { data: target, shape: [N] } });
    expect(s.boundUploadedBytes).toBe(W.byteLength + target.byteLength);
    const want = await rt.run(
      kernel,
      {
        X: { data: X, shape: [N, H] },
        W: { data: W, shape: [V, H] },
        target: { data: target, shape: [N] },
      },
      { grad: ['W'] },
    );
    const enc = rt.device.device.createCommandEncoder();
    const xBuf = deviceBuffer(X, 8);
    const call = s.encode(
      { X: { buffer: xBuf, dtype: 'f32', shape: [N, H], offset: 8 } },
      { encoder: enc },
    );
    rt.device.device.queue.submit([enc.finish()]);
    call.release();
    expect(call.stats.inputBytes.get('target')).toBe(0);
    const g = call.results.get('grad.W');
    expect(
      maxRel(await read(g?.buffer as GPUBuffer, V * H), want.grads.get('W')?.data ?? []),
    ).toBeLessThan(1e-6);
    g?.buffer.destroy();
    call.results.get('out')?.buffer.destroy();
    xBuf.destroy();
    s.release();
  });
});

describe('a session planned rows × vocabulary tiles', () => {
  it('gives the rows-only results, with gradients, in caller buffers', async () => {
    const kernel = kernelOf('bf16');
    const host = {
      X: { data: X, shape: [N, H] },
      W: { data: W, shape: [V, H] },
      target: { data: target, shape: [N] },
    };
    const want = await rt.run(kernel, host, { grad: ['X', 'W'], vocabTile: 'rows' });
    // Tiles of 16 over V = 56: four tiles, the last one short; chunks of 16 rows of 40.
    const s = await rt.session(kernel, { grad: ['X', 'W'], chunkRows: 16, vocabTile: 16 });
    expect(s.program.plan.shape).toEqual({ kind: 'tiles', dim: 'V', width: 16 });
    s.bind({ W: host.W });
    const dW = rt.device.device.createBuffer({ size: V * H * 4, usage: STORAGE });
    for (let step = 0; step < 2; step++) {
      const call = s.encode(
        { X: host.X, target: host.target },
        { outputs: { 'grad.W': { buffer: dW } } },
      );
      expect(call.stats.chunks).toBe(3);
      expect(maxRel(await read(dW, V * H), want.grads.get('W')?.data ?? [])).toBeLessThan(1e-5);
      const dX = call.results.get('grad.X')?.buffer as GPUBuffer;
      expect(maxRel(await read(dX, N * H), want.grads.get('X')?.data ?? [])).toBeLessThan(1e-5);
      const out = call.results.get('out')?.buffer as GPUBuffer;
      expect((await read(out, 1))[0]).toBeCloseTo(want.outputs.get('out')?.data[0] ?? NaN, 5);
      dX.destroy();
      out.destroy();
    }
    dW.destroy();
    s.release();
  });
});

describe('device inputs that cannot be bound as they are', () => {
  it('copies a buffer without STORAGE usage on the device', async () => {
    const kernel = kernelOf('f32');
    const base = { X: { data: X, shape: [N, H] }, target: { data: target, shape: [N] } };
    const want = await rt.run(kernel, { ...base, W: { data: W, shape: [V, H] } }, { grad: ['W'] });
    const wBuf = rt.device.device.createBuffer({
      size: W.byteLength,
      usage: BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    });
    rt.device.device.queue.writeBuffer(wBuf, 0, W);
    const got = await rt.run(
      kernel,
      { ...base, W: { buffer: wBuf, dtype: 'f32', shape: [V, H] } },
      { grad: ['W'] },
    );
    expect(got.stats.inputBytes.get('W')).toBe(0);
    expect([...(got.grads.get('W')?.data ?? [])]).toEqual([...(want.grads.get('W')?.data ?? [])]);
    wBuf.destroy();
  });
});

describe('optional tensors in a session', () => {
  it('binds a bias once, leaves the class weights out, like Runtime.run', async () => {
    let text = readFileSync(new URL('../../examples/ce_liger.proj', import.meta.url), 'utf8');
    text = text.replaceAll('bf16[', 'f32[');
    const kernel = compile(text).kernels.get('ce_liger');
    if (!kernel) throw new Error('no ce_liger');
    const bias = Float32Array.from({ length: V }, (_, v) => Math.sin(v));
    const base = {
      X: { data: X, shape: [N, H] },
      W: { data: W, shape: [V, H] },
      target: { data: target, shape: [N] },
    };
    const s = await rt.session(kernel, { grad: ['X', 'W'] });
    for (const withBias of [true, false]) {
      const extra: Record<string, TensorInput> = withBias
        ? { bias: { data: bias, shape: [V] } }
        : {};
      const want = await rt.run(kernel, { ...base, ...extra }, { grad: ['X', 'W'] });
      if (withBias) s.bind(extra);
      else s.unbind('bias');
      const got = await s.run(base, { readback: true });
      expect(got.host.get('out')?.[0]).toBe(want.outputs.get('out')?.data[0]);
      expect([...(got.host.get('grad.W') ?? [])]).toEqual([...(want.grads.get('W')?.data ?? [])]);
      for (const t of got.results.values()) t.buffer.destroy();
    }
    s.release();
  });
});

describe('bf16 parameters from f32 and from bits', () => {
  const bits = Uint16Array.from(W, (v) => f32ToBf16Bits(v));
  const xBits = Uint16Array.from(X, (v) => f32ToBf16Bits(v));

  it('rounds a Float32Array, a GPUBuffer of f32 and takes bf16 bits alike, as the host packing does', async () => {
    const kernel = kernelOf('bf16');
    const base = { target: { data: target, shape: [N] } };
    // The host packing of plain arrays (the path every earlier caller took).
    const want = await rt.run(
      kernel,
      { ...base, X: { data: [...X], shape: [N, H] }, W: { data: [...W], shape: [V, H] } },
      { grad: ['X', 'W'] },
    );
    const fromF32 = await rt.run(
      kernel,
      { ...base, X: { data: X, shape: [N, H] }, W: { data: W, shape: [V, H] } },
      { grad: ['X', 'W'] },
    );
    const fromBits = await rt.run(
      kernel,
      {
        ...base,
        X: { bits: xBits, dtype: 'bf16', shape: [N, H] },
        W: { bits, dtype: 'bf16', shape: [V, H] },
      },
      { grad: ['X', 'W'] },
    );
    expect(fromBits.stats.inputBytes.get('W')).toBe(bits.byteLength);
    const wBuf = deviceBuffer(W);
    const xBuf = deviceBuffer(X);
    const fromDevice = await rt.run(
      kernel,
      {
        ...base,
        X: { buffer: xBuf, dtype: 'f32', shape: [N, H] },
        W: { buffer: wBuf, dtype: 'f32', shape: [V, H] },
      },
      { grad: ['X', 'W'] },
    );
    expect(fromDevice.stats.inputBytes.get('W')).toBe(0);
    for (const r of [fromF32, fromBits, fromDevice]) {
      expect(r.outputs.get('out')?.data[0]).toBe(want.outputs.get('out')?.data[0]);
      expect([...(r.grads.get('W')?.data ?? [])]).toEqual([...(want.grads.get('W')?.data ?? [])]);
    }
    wBuf.destroy();
    xBuf.destroy();
  });

  it('reads a bf16-bits GPUBuffer into an f32 parameter on the device', async () => {
    const kernel = kernelOf('f32');
    const rounded = Float32Array.from(
      bits,
      (b) => new Float32Array(Uint32Array.of(b << 16).buffer)[0] ?? 0,
    );
    const want = await rt.run(
      kernel,
      {
        X: { data: X, shape: [N, H] },
        W: { data: rounded, shape: [V, H] },
        target: { data: target, shape: [N] },
      },
      { grad: ['X'] },
    );
    const wBuf = deviceBuffer(bits);
    const got = await rt.run(
      kernel,
      {
        X: { data: X, shape: [N, H] },
        W: { buffer: wBuf, dtype: 'bf16', shape: [V, H] },
        target: { data: target, shape: [N] },
      },
      { grad: ['X'] },
    );
    expect([...(got.grads.get('X')?.data ?? [])]).toEqual([...(want.grads.get('X')?.data ?? [])]);
    wBuf.destroy();
  });

  it('names a device input in the wrong storage', async () => {
    const kernel = kernelOf('f32');
    const tBuf = deviceBuffer(Float32Array.from(target));
    await expect(
      rt.run(kernel, {
        X: { data: X, shape: [N, H] },
        W: { data: W, shape: [V, H] },
        target: { buffer: tBuf, dtype: 'f32', shape: [N] },
      }),
    ).rejects.toThrow(/input `target` is stored as f32 but the parameter is i32/);
    tBuf.destroy();
  });
});
