/**
 * Encryption from a pool of precomputed encryptions of zero: the result is
 * SEAL's own `addPlain` byte for byte, decrypts exactly (alone and in sums),
 * keeps the noise of a fresh encryption, and every Enc(0) is used once —
 * also under concurrent encryptions, after draining and refilling, and
 * never under another key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FedmartCryptoError, HeContext, HeDecryptor, HeEncryptor, PooledEncryptor, SealWorker, blake2b256, cryptoReady, generateHeKeys, heKeyId, sumPackedContributions, toHex, unpackCiphertext } from '../../crypto/index.js';
import { EncZeroPool, encryptWithZero } from '../../crypto/enc-zero-pool.js';
import { internalsOf } from '../../crypto/context-internals.js';

let ctx: HeContext;
let keys: { publicKey: Uint8Array; secretKey: Uint8Array };
let otherKeys: { publicKey: Uint8Array; secretKey: Uint8Array };
let enc: HeEncryptor;
let dec: HeDecryptor;
let keyId: Uint8Array;
/** Enc(0)s made once; tests hand out copies (a pool wipes what it consumes). */
let stock: Uint8Array[];

beforeAll(async () => {
  await cryptoReady();
  ctx = await HeContext.create();
  keys = generateHeKeys(ctx);
  otherKeys = generateHeKeys(ctx);
  enc = new HeEncryptor(ctx, keys.publicKey);
  dec = new HeDecryptor(ctx, keys.secretKey);
  keyId = heKeyId(keys.publicKey);
  stock = enc.encryptZeros(24);
});

afterAll(() => {
  enc?.close();
  dec?.close();
  ctx?.close();
});

function randomSlots(seed: number, bound?: bigint): BigUint64Array {
  const t = ctx.plainModulus;
  const limit = bound ?? t;
  let x = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  return new BigUint64Array(ctx.slotCount).map(() => {
    x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffff_ffff_ffff_ffffn;
    return (x >> 20n) % limit;
  });
}

/** The c1 polynomial of a packed ciphertext (the half an Enc(0) alone determines). */
function c1Of(packed: Uint8Array): string {
  const sealBytes = unpackCiphertext(ctx, packed);
  const half = (sealBytes.length - 113) / 2;
  return toHex(blake2b256(sealBytes.subarray(113 + half)));
}

function sealAddPlain(zero: Uint8Array, slots: BigUint64Array): Uint8Array {
  const { seal, context, encoder, evaluator } = internalsOf(ctx);
  const cipher = seal.CipherText();
  const plain = seal.PlainText();
  try {
    cipher.loadArray(context, zero);
    encoder.encode(slots, plain);
    evaluator.addPlain(cipher, plain, cipher);
    return cipher.saveArray(seal.ComprModeType.none);
  } finally {
    plain.delete();
    cipher.delete();
  }
}

describe('encryptWithZero', () => {
  it("equals SEAL's evaluator.addPlain on the same Enc(0) byte for byte, and decrypts to the slots", () => {
    const t = ctx.plainModulus;
    const cases = [
      randomSlots(1),
      new BigUint64Array(ctx.slotCount).fill(t - 1n),
      new BigUint64Array(ctx.slotCount),
      new BigUint64Array(ctx.slotCount).map((_, i) => BigInt(i)),
      new BigUint64Array(ctx.slotCount).map((_, i) => (i % 2 === 0 ? t - 1n : 1n)),
    ];
    for (const [i, slots] of cases.entries()) {
      const [zero] = enc.encryptZeros(1);
      const reference = sealAddPlain(zero!, slots);
      const mine = encryptWithZero(ctx, zero!, slots, 'seal');
      expect(Buffer.compare(Buffer.from(mine), Buffer.from(reference)), `case ${i}`).toBe(0);
      expect(dec.decrypt(mine)).toEqual(slots);
    }
  });

  it('wipes the Enc(0) it used and refuses to use it again', () => {
    const zero = stock[0]!.slice();
    const packed = encryptWithZero(ctx, zero, randomSlots(2));
    expect(dec.decryptPacked(packed)).toEqual(randomSlots(2));
    expect(zero.every((b) => b === 0)).toBe(true);
    expect(() => encryptWithZero(ctx, zero, randomSlots(3))).toThrow(expect.objectContaining({ code: 'ENC_ZERO_CONSUMED' }));
  });

  it('refuses bad slots before consuming the Enc(0)', () => {
    const zero = stock[1]!.slice();
    expect(() => encryptWithZero(ctx, zero, new BigUint64Array(3))).toThrow(RangeError);
    expect(() => encryptWithZero(ctx, zero, new BigUint64Array(ctx.slotCount).fill(ctx.plainModulus))).toThrow(RangeError);
    expect(zero.some((b) => b !== 0)).toBe(true);
  });
});

describe('EncZeroPool', () => {
  it('hands every entry out once: N encryptions of identical slots give N distinct ciphertexts and c1 polynomials', async () => {
    const n = 12;
    const pe = new PooledEncryptor(ctx, keys.publicKey, { poolSize: n, autoRefill: false });
    try {
      await pe.refill();
      expect(pe.pool.size).toBe(n);
      const slots = randomSlots(4);
      const out = Array.from({ length: n }, () => pe.encryptPacked(slots));
      expect(pe.pooled).toBe(n);
      expect(pe.fresh).toBe(0);
      expect(new Set(out.map((c) => toHex(blake2b256(c)))).size).toBe(n);
      expect(new Set(out.map(c1Of)).size).toBe(n);
      for (const c of out) expect(dec.decryptPacked(c)).toEqual(slots);
      // Empty: the next encryption is fresh, and says so.
      expect(pe.tryEncryptPacked(slots)).toBeUndefined();
      const fresh = pe.encryptPacked(slots);
      expect(pe.fresh).toBe(1);
      expect(dec.decryptPacked(fresh)).toEqual(slots);
    } finally {
      pe.close();
    }
  });

  it('never hands out an entry twice under concurrent encryptions with a background refill from a slow source', async () => {
    let made = 0;
    const source = async (count: number): Promise<Uint8Array[]> => {
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      made += count;
      return enc.encryptZeros(Math.min(count, 3));
    };
    const pe = new PooledEncryptor(ctx, keys.publicKey, { poolSize: 4, source });
    try {
      await pe.refill();
      const slots = randomSlots(5);
      const tasks = Array.from({ length: 30 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i % 7) * 2));
        return pe.encryptPacked(slots);
      });
      const out = await Promise.all(tasks);
      expect(pe.pooled + pe.fresh).toBe(30);
      expect(pe.pooled).toBeGreaterThan(4); // refilled in between
      expect(made).toBeGreaterThan(0);
      expect(new Set(out.map(c1Of)).size).toBe(30);
      for (const c of out.slice(0, 5)) expect(dec.decryptPacked(c)).toEqual(slots);
    } finally {
      pe.close();
    }
  });

  it('drained and refilled in any order, never hands out an entry twice and refuses every repeat (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('add' as const), from: fc.nat({ max: stock.length - 1 }), count: fc.integer({ min: 1, max: 4 }) }),
            fc.record({ op: fc.constant('take' as const), count: fc.integer({ min: 1, max: 5 }) }),
          ),
          { maxLength: 25 },
        ),
        fc.integer({ min: 1, max: 6 }),
        (ops, capacity) => {
          const pool = new EncZeroPool(ctx, keyId, capacity);
          const seen = new Set<number>();
          const handedOut: string[] = [];
          const prints = new Map(stock.map((z, i) => [toHex(z.subarray(113 + z.length / 2, 113 + z.length / 2 + 64)), i]));
          for (const step of ops) {
            if (step.op === 'add') {
              const idx = Array.from({ length: step.count }, (_, k) => (step.from + k) % stock.length);
              const batch = idx.map((i) => stock[i]!.slice());
              const repeat = idx.some((i) => seen.has(i)) || new Set(idx).size !== idx.length;
              if (repeat) {
                expect(() => pool.add(keyId, batch)).toThrow(expect.objectContaining({ code: 'ENC_ZERO_REUSED' }));
                expect(batch.every((z) => z.every((b) => b === 0))).toBe(true);
              } else {
                const before = pool.size;
                const kept = pool.add(keyId, batch);
                expect(kept).toBe(Math.min(idx.length, capacity - before));
                for (const i of idx) seen.add(i);
              }
            } else {
              for (let k = 0; k < step.count; k++) {
                const z = pool.take(keyId);
                if (z === undefined) {
                  expect(pool.size).toBe(0);
                  break;
                }
                handedOut.push(toHex(z.subarray(113 + z.length / 2, 113 + z.length / 2 + 64)));
              }
            }
            expect(pool.size).toBeLessThanOrEqual(capacity);
          }
          expect(new Set(handedOut).size).toBe(handedOut.length);
          for (const h of handedOut) expect(prints.has(h)).toBe(true);
          pool.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is bound to one key: adding or taking under another key id is refused', () => {
    const pool = new EncZeroPool(ctx, keyId, 4);
    const other = heKeyId(otherKeys.publicKey);
    const zero = stock[2]!.slice();
    expect(() => pool.add(other, [zero])).toThrow(expect.objectContaining({ code: 'ENC_ZERO_KEY_MISMATCH' }));
    expect(pool.size).toBe(0);
    pool.add(keyId, [zero]);
    expect(() => pool.take(other)).toThrow(expect.objectContaining({ code: 'ENC_ZERO_KEY_MISMATCH' }));
    expect(pool.size).toBe(1);
    expect(pool.take(keyId)).toBe(zero);
    // A PooledEncryptor for another key has its own pool; it will not take from this one.
    const pe = new PooledEncryptor(ctx, otherKeys.publicKey, { autoRefill: false });
    try {
      expect(() => pool.take(pe.keyId)).toThrow(FedmartCryptoError);
    } finally {
      pe.close();
      pool.close();
    }
  });

  it('wipes its entries on close and keeps nothing added later', () => {
    const pool = new EncZeroPool(ctx, keyId, 4);
    const a = stock[3]!.slice();
    pool.add(keyId, [a]);
    pool.close();
    expect(a.every((b) => b === 0)).toBe(true);
    const b = stock[4]!.slice();
    expect(pool.add(keyId, [b])).toBe(0);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(pool.take(keyId)).toBeUndefined();
  });
});

describe('pool-made ciphertexts against fresh ones (real SEAL, real keys)', () => {
  it('sums of 200 pool-made ciphertexts decrypt to the plaintext sums, with the noise budget of fresh encryptions', async () => {
    const count = 200;
    const bound = 1n << 32n;
    const rows = Array.from({ length: count }, (_, i) => randomSlots(100 + i, bound));
    const expected = new BigUint64Array(ctx.slotCount);
    for (const r of rows) for (let s = 0; s < r.length; s++) expected[s] = ((expected[s] as bigint) + (r[s] as bigint)) % ctx.plainModulus;

    const pe = new PooledEncryptor(ctx, keys.publicKey, { poolSize: count, autoRefill: false });
    let pooled: Uint8Array[];
    try {
      await pe.refill();
      pooled = rows.map((r) => pe.encryptPacked(r));
      expect(pe.fresh).toBe(0);
    } finally {
      pe.close();
    }
    const fresh = rows.map((r) => enc.encryptPacked(r));

    // Each ciphertext alone.
    for (let i = 0; i < 10; i++) expect(dec.decryptPacked(pooled[i]!)).toEqual(rows[i]);
    const budget = (cs: Uint8Array[]) => cs.map((c) => dec.noiseBudget(unpackCiphertext(ctx, c)));
    const singlePool = budget(pooled.slice(0, 20));
    const singleFresh = budget(fresh.slice(0, 20));
    expect(Math.min(...singlePool)).toBeGreaterThanOrEqual(Math.min(...singleFresh));

    // The sums, added as the coordinator adds.
    const [sumPool] = sumPackedContributions(ctx, pooled, 1);
    const [sumFresh] = sumPackedContributions(ctx, fresh, 1);
    expect(dec.decryptPacked(sumPool!)).toEqual(expected);
    expect(dec.decryptPacked(sumFresh!)).toEqual(expected);
    const [bPool] = budget([sumPool!]);
    const [bFresh] = budget([sumFresh!]);
    // Measured here: 12 bits for every single ciphertext of both kinds; 8 bits for both sums of 200.
    // Same algorithm as SEAL's encrypt (Enc(0), then the scaled plaintext), so the same noise
    // distribution; one bit of slack for the randomness of two independent sets of samples.
    expect(bPool!).toBeGreaterThanOrEqual(bFresh! - 1);
    expect(bPool!).toBeGreaterThan(0);
  });

  it('fills from a SEAL worker thread: the worker-made Enc(0)s give exact decryptions', async () => {
    const worker = await SealWorker.start({ publicKey: keys.publicKey, requestTimeoutMs: 20_000 });
    const pe = new PooledEncryptor(ctx, keys.publicKey, { poolSize: 3, autoRefill: false, source: (n) => worker.encryptZeros(n) });
    try {
      await pe.refill();
      expect(pe.pool.size).toBe(3);
      const slots = randomSlots(7);
      const out = [pe.encryptPacked(slots), pe.encryptPacked(slots), pe.encryptPacked(slots)];
      expect(pe.pooled).toBe(3);
      for (const c of out) expect(dec.decryptPacked(c)).toEqual(slots);
      expect(new Set(out.map(c1Of)).size).toBe(3);
    } finally {
      pe.close();
      await worker.close();
    }
  });
});
