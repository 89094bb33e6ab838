/**
 * SEAL in a supervised worker thread: a worker that exits, throws, hangs or
 * hits a SEAL failure is replaced by a fresh one, the faulted request is
 * retried once, and answers equal the in-process decryptor's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CiphertextFormatError,
  HeContext,
  HeDecryptor,
  HeEncryptor,
  SealWorker,
  SealWorkerFaultError,
  generateHeKeys,
} from '../../crypto/index.js';

let ctx: HeContext;
let keys: { publicKey: Uint8Array; secretKey: Uint8Array };
let enc: HeEncryptor;
let dec: HeDecryptor;
let slots: BigUint64Array;
let packed: Uint8Array[];
let worker: SealWorker;
const replacedMs: number[] = [];

beforeAll(async () => {
  ctx = await HeContext.create();
  keys = generateHeKeys(ctx);
  enc = new HeEncryptor(ctx, keys.publicKey);
  dec = new HeDecryptor(ctx, keys.secretKey);
  slots = new BigUint64Array(ctx.slotCount).map((_, i) => BigInt(i) * 1_000_003n % ctx.plainModulus);
  packed = [enc.encryptPacked(slots), enc.encryptPacked(slots.map((v) => (v + 1n) % ctx.plainModulus))];
  worker = await SealWorker.start({
    secretKey: keys.secretKey,
    publicKey: keys.publicKey,
    requestTimeoutMs: 5_000,
    testHooks: true,
    onReplaced: ({ readyMs }) => replacedMs.push(readyMs),
  });
});

afterAll(async () => {
  await worker?.close();
  enc?.close();
  dec?.close();
  ctx?.close();
});

function inProcess(): BigUint64Array[] {
  return packed.map((p) => dec.decryptPacked(p));
}

describe('SealWorker', () => {
  it('decrypts packed ciphertexts exactly as the in-process decryptor does', async () => {
    const got = await worker.decryptPacked(packed);
    expect(got).toEqual(inProcess());
  });

  it('encrypts in the worker; the result decrypts to the input', async () => {
    const [c] = await worker.encryptPacked([slots]);
    expect(c!.length).toBe(ctx.packedCiphertextByteLength);
    expect(dec.decryptPacked(c!)).toEqual(slots);
  });

  it('reports bad input as a data error without replacing the worker', async () => {
    const bad = Uint8Array.from(packed[0]!);
    bad[0] = bad[0]! ^ 0xff;
    const before = worker.replacements;
    await expect(worker.decryptPacked([bad])).rejects.toBeInstanceOf(CiphertextFormatError);
    expect(worker.replacements).toBe(before);
    expect(await worker.decryptPacked(packed)).toEqual(inProcess());
  });

  it.each(['exit', 'throw', 'wasm-abort'] as const)('after a fault (%s) the request is retried on a fresh worker and succeeds', async (mode) => {
    const before = { replacements: worker.replacements, retries: worker.retries };
    worker.injectFaultForTest(mode, 1);
    const got = await worker.decryptPacked(packed);
    expect(got).toEqual(inProcess());
    expect(worker.replacements).toBe(before.replacements + 1);
    expect(worker.retries).toBe(before.retries + 1);
    // And the next request is served by the fresh worker as usual.
    expect(await worker.decryptPacked(packed)).toEqual(inProcess());
  });

  it('a request that times out is a fault; the fresh worker answers', async () => {
    const fast = await SealWorker.start({ secretKey: keys.secretKey, requestTimeoutMs: 1_500, testHooks: true });
    try {
      fast.injectFaultForTest('hang', 1);
      expect(await fast.decryptPacked(packed)).toEqual(inProcess());
      expect(fast.replacements).toBe(1);
    } finally {
      await fast.close();
    }
  });

  it('a second fault in a row reaches the caller as SealWorkerFaultError, and the next request succeeds', async () => {
    worker.injectFaultForTest('exit', 2);
    const err = await worker.decryptPacked(packed).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SealWorkerFaultError);
    expect((err as SealWorkerFaultError).code).toBe('SEAL_WORKER_EXITED');
    expect(await worker.decryptPacked(packed)).toEqual(inProcess());
  });

  it('with a spare, the replacement is ready almost at once', async () => {
    const spared = await SealWorker.start({ secretKey: keys.secretKey, spare: true, testHooks: true });
    try {
      await spared.settled();
      expect(spared.spareReady).toBe(true);
      spared.injectFaultForTest('exit', 1);
      expect(await spared.decryptPacked(packed)).toEqual(inProcess());
      expect(spared.lastReplacementMs).toBeLessThan(100);
      console.log(`SealWorker replacement: cold ${replacedMs.map((m) => m.toFixed(0)).join(', ')} ms; with a ready spare ${spared.lastReplacementMs!.toFixed(1)} ms`);
    } finally {
      await spared.close();
    }
  });

  it('test faults are refused unless started with testHooks', async () => {
    const plain = await SealWorker.start({ secretKey: keys.secretKey });
    try {
      expect(() => plain.injectFaultForTest('exit')).toThrow(/testHooks/);
    } finally {
      await plain.close();
    }
  });

  it('a bad secret key fails the start with the validator\'s error', async () => {
    await expect(SealWorker.start({ secretKey: keys.secretKey.subarray(0, 1000) })).rejects.toBeInstanceOf(CiphertextFormatError);
  });

  it('after close, requests fail with SEAL_WORKER_CLOSED', async () => {
    const w = await SealWorker.start({ secretKey: keys.secretKey });
    await w.close();
    await expect(w.decryptPacked(packed)).rejects.toMatchObject({ code: 'SEAL_WORKER_CLOSED' });
  });
});
