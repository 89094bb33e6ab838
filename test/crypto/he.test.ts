import { randomFillSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CiphertextFormatError,
  FedmartCryptoError,
  HeContext,
  HeDecryptor,
  HeEncryptor,
  NoiseBudgetExhaustedError,
  SlotLayout,
  cryptoReady,
  generateHeKeys,
  getHeParamSet,
} from '../../crypto/index.js';
import { loadSeal } from '../../crypto/seal-loader.js';

/** Offset of the first coefficient in a serialized ciphertext (SEAL 4.1 layout). */
const DATA_OFFSET = 113;
/** The data-level prime of bfv-8192-t40, from SEAL's CoeffModulus.Create(8192, [60, 60]). */
const Q0 = 1152921504606748673n;
const Q1 = 1152921504606830593n;

let ctx: HeContext;
let keys: { publicKey: Uint8Array; secretKey: Uint8Array };
let enc: HeEncryptor;
let dec: HeDecryptor;
let valid: Uint8Array;

function randomSlots(t: bigint, n: number, rng: () => bigint): BigUint64Array {
  const a = new BigUint64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng() % t;
  return a;
}

/** Deterministic 64-bit generator for slot values (tests only; crypto/ uses libsodium). */
function splitmix(seed: bigint): () => bigint {
  let s = seed;
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return z ^ (z >> 31n);
  };
}

function readU64(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);
}

function writeU64(bytes: Uint8Array, offset: number, v: bigint): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setBigUint64(offset, v, true);
}

function formatCode(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof CiphertextFormatError) return e.code;
    throw e;
  }
}

beforeAll(async () => {
  await cryptoReady();
  ctx = await HeContext.create();
  keys = generateHeKeys(ctx);
  enc = new HeEncryptor(ctx, keys.publicKey);
  dec = new HeDecryptor(ctx, keys.secretKey);
  valid = enc.encrypt(new BigUint64Array(ctx.slotCount).fill(7n));
});

afterAll(() => {
  enc?.close();
  dec?.close();
  ctx?.close();
});

describe('HeContext parameters', () => {
  it('has the measured sizes and plain modulus of bfv-8192-t40', () => {
    expect(ctx.paramSet).toBe(getHeParamSet('bfv-8192-t40'));
    expect(ctx.slotCount).toBe(8192);
    expect(ctx.plainModulus).toBe(1099511480321n);
    expect(ctx.ciphertextByteLength).toBe(131185);
    expect(ctx.publicKeyByteLength).toBe(262257);
    expect(ctx.secretKeyByteLength).toBe(131160);
    expect(ctx.ciphertextModuli).toEqual([Q0]);
    expect(keys.publicKey.length).toBe(262257);
    expect(valid.length).toBe(131185);
  });

  it('t is a prime congruent to 1 mod 2N (batching), checked independently', () => {
    const t = ctx.plainModulus;
    expect(t % (2n * 8192n)).toBe(1n);
    // Miller-Rabin with the first 12 prime bases is deterministic below 3.3e24.
    const modpow = (b: bigint, e: bigint, m: bigint): bigint => {
      let r = 1n;
      b %= m;
      for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
      return r;
    };
    let d = t - 1n;
    let s = 0;
    while ((d & 1n) === 0n) {
      d >>= 1n;
      s++;
    }
    for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n]) {
      let x = modpow(a, d, t);
      if (x === 1n || x === t - 1n) continue;
      let witness = true;
      for (let r = 1; r < s; r++) {
        x = (x * x) % t;
        if (x === t - 1n) {
          witness = false;
          break;
        }
      }
      expect(witness, `base ${a}`).toBe(false);
    }
  });

  it('rejects unknown parameter set names', async () => {
    expect(() => getHeParamSet('bfv-4096')).toThrow(RangeError);
    expect(() => getHeParamSet('bfv-4096')).toThrow(/name/);
    await expect(HeContext.create('nope' as 'bfv-8192-t40')).rejects.toThrow(RangeError);
  });
});

describe('encrypt / add / decrypt', () => {
  it('sums of several contributions equal the plaintext sums exactly', () => {
    const rng = splitmix(42n);
    const t = ctx.plainModulus;
    const contributions = Array.from({ length: 6 }, () => randomSlots(t / 8n, ctx.slotCount, rng));
    const cts = contributions.map((c) => enc.encrypt(c));
    const sum = dec.decrypt(ctx.add(cts));
    const expected = new BigUint64Array(ctx.slotCount);
    for (const c of contributions) for (let i = 0; i < c.length; i++) expected[i] = (expected[i]! + c[i]!) % t;
    expect(sum).toEqual(expected);
  });

  it('wraps modulo t exactly as BFV promises (the reason for SlotLayout)', () => {
    const t = ctx.plainModulus;
    const a = new BigUint64Array(ctx.slotCount).fill(t - 1n);
    const b = new BigUint64Array(ctx.slotCount).fill(5n);
    const sum = dec.decrypt(ctx.add([enc.encrypt(a), enc.encrypt(b)]));
    expect(sum[0]).toBe(4n);
    expect(sum[ctx.slotCount - 1]).toBe(4n);
  });

  it('round-trips 64-bit statistics through a SlotLayout with real SEAL', () => {
    const layout = new SlotLayout(
      [
        { name: 'revenue_fen', max: (1n << 64n) - 1n },
        { name: 'orders', max: 1_000_000n },
        { name: 'flag', max: 1n },
      ],
      { plainModulus: ctx.plainModulus, slotCount: ctx.slotCount, maxContributors: 255 },
    );
    const rows = [
      [(1n << 64n) - 1n, 1_000_000n, 1n],
      [123456789012345678n, 17n, 0n],
      [(1n << 63n) + 5n, 999_999n, 1n],
    ];
    const cts = rows.map((r) => layout.encode(r).map((slots) => enc.encrypt(slots)));
    const sums = cts[0]!.map((_, c) => dec.decrypt(ctx.add(cts.map((ct) => ct[c]!))));
    expect(layout.decode(sums)).toEqual([0, 1, 2].map((i) => rows.reduce((s, r) => s + r[i]!, 0n)));
  });

  it('keeps noise budget for maxAddends additions of the same ciphertext (worst case)', () => {
    const fresh = dec.noiseBudget(valid);
    expect(fresh).toBeGreaterThanOrEqual(10);
    const n = ctx.paramSet.maxAddends;
    const sum = ctx.add(Array.from({ length: n }, () => valid));
    expect(dec.noiseBudget(sum)).toBeGreaterThan(0);
    expect(dec.decrypt(sum)[0]).toBe((7n * BigInt(n)) % ctx.plainModulus);
  });

  it('checks encrypt and add arguments', () => {
    expect(() => enc.encrypt(new BigUint64Array(10))).toThrow(/slots must have exactly 8192/);
    const tooBig = new BigUint64Array(ctx.slotCount);
    tooBig[3] = ctx.plainModulus;
    expect(() => enc.encrypt(tooBig)).toThrow(/slots\[3\]/);
    expect(() => enc.encrypt(new Uint32Array(8192) as unknown as BigUint64Array)).toThrow(TypeError);
    expect(() => ctx.add([])).toThrow(RangeError);
    expect(() => ctx.add(new Array(ctx.paramSet.maxAddends + 1).fill(valid))).toThrow(/at most/);
    let err: unknown;
    try {
      ctx.add([valid, valid, valid.subarray(0, 100)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CiphertextFormatError);
    expect((err as CiphertextFormatError).code).toBe('CIPHERTEXT_LENGTH');
    expect((err as Error).message).toMatch(/ciphertexts\[2\]/);
  });
});

describe('validateCiphertext', () => {
  it('accepts a valid ciphertext and a sum', () => {
    expect(() => ctx.validateCiphertext(valid)).not.toThrow();
    expect(() => ctx.validateCiphertext(ctx.add([valid, valid]))).not.toThrow();
  });

  it('rejects truncated and extended input', () => {
    expect(formatCode(() => ctx.validateCiphertext(valid.subarray(0, valid.length - 1)))).toBe('CIPHERTEXT_LENGTH');
    expect(formatCode(() => ctx.validateCiphertext(valid.subarray(0, 20)))).toBe('CIPHERTEXT_LENGTH');
    expect(formatCode(() => ctx.validateCiphertext(valid.subarray(0, 3)))).toBe('CIPHERTEXT_LENGTH');
    expect(formatCode(() => ctx.validateCiphertext(new Uint8Array(0)))).toBe('CIPHERTEXT_LENGTH');
    const longer = new Uint8Array(valid.length + 8);
    longer.set(valid);
    expect(formatCode(() => ctx.validateCiphertext(longer))).toBe('CIPHERTEXT_LENGTH');
  });

  it('rejects random bytes of the right length', () => {
    const junk = randomFillSync(new Uint8Array(valid.length));
    junk[0] = junk[0] === 0x5e ? 0x5f : junk[0]!; // make sure the magic differs
    expect(formatCode(() => ctx.validateCiphertext(junk))).toBe('CIPHERTEXT_HEADER');
  });

  it('rejects a set compression mode (byte 5)', () => {
    for (const mode of [1, 2, 0xff]) {
      const b = valid.slice();
      b[5] = mode;
      expect(formatCode(() => ctx.validateCiphertext(b))).toBe('CIPHERTEXT_COMPRESSED');
    }
  });

  it('rejects a real zstd-compressed ciphertext as compressed, not merely as the wrong length', async () => {
    const seal = await loadSeal();
    const { internalsOf } = await import('../../crypto/context-internals.js');
    const { context } = internalsOf(ctx);
    const c = seal.CipherText();
    try {
      c.loadArray(context, valid);
      const z = c.saveArray(seal.ComprModeType.zstd);
      // zstd cannot shrink uniformly random coefficients: the frame is even a little longer.
      expect(z.length).not.toBe(valid.length);
      expect(formatCode(() => ctx.validateCiphertext(z))).toBe('CIPHERTEXT_COMPRESSED');
    } finally {
      c.delete();
    }
  });

  it("rejects another parameter set's ciphertext (same length, other parms_id)", async () => {
    const seal = await loadSeal();
    const parms = seal.EncryptionParameters(seal.SchemeType.bfv);
    parms.setPolyModulusDegree(8192);
    const cm = seal.CoeffModulus.Create(8192, Int32Array.from([60, 60]));
    parms.setCoeffModulus(cm);
    const pm = seal.PlainModulus.Batching(8192, 39);
    parms.setPlainModulus(pm);
    const other = seal.Context(parms, true, seal.SecurityLevel.tc128);
    const kg = seal.KeyGenerator(other);
    const pk = kg.createPublicKey();
    const encr = seal.Encryptor(other, pk);
    const be = seal.BatchEncoder(other);
    const pt = seal.PlainText();
    const ct = seal.CipherText();
    try {
      be.encode(new BigUint64Array(8192), pt);
      encr.encrypt(pt, ct);
      const foreign = ct.saveArray(seal.ComprModeType.none);
      expect(foreign.length).toBe(ctx.ciphertextByteLength);
      expect(formatCode(() => ctx.validateCiphertext(foreign))).toBe('CIPHERTEXT_PARMS_ID');
      const foreignPk = pk.saveArray(seal.ComprModeType.none);
      expect(formatCode(() => ctx.validatePublicKey(foreignPk))).toBe('CIPHERTEXT_PARMS_ID');
      expect(() => new HeEncryptor(ctx, foreignPk)).toThrow(CiphertextFormatError);
    } finally {
      for (const o of [ct, pt, be, encr, pk, kg, other, pm, cm, parms]) o.delete();
    }
  });

  it('rejects N=4096 ciphertexts: by length for [54,55], by parms_id for BFVDefault (same 131,185 bytes!)', async () => {
    const seal = await loadSeal();
    const cases = [
      { bits: [54, 55], code: 'CIPHERTEXT_LENGTH', length: 65649 },
      { bits: undefined, code: 'CIPHERTEXT_PARMS_ID', length: 131185 },
    ] as const;
    for (const { bits, code, length } of cases) {
      const parms = seal.EncryptionParameters(seal.SchemeType.bfv);
      parms.setPolyModulusDegree(4096);
      const cm = bits ? seal.CoeffModulus.Create(4096, Int32Array.from(bits)) : seal.CoeffModulus.BFVDefault(4096, seal.SecurityLevel.tc128);
      parms.setCoeffModulus(cm);
      const pm = seal.PlainModulus.Batching(4096, 20);
      parms.setPlainModulus(pm);
      const other = seal.Context(parms, true, seal.SecurityLevel.tc128);
      const kg = seal.KeyGenerator(other);
      const pk = kg.createPublicKey();
      const encr = seal.Encryptor(other, pk);
      const pt = seal.PlainText();
      const ct = seal.CipherText();
      try {
        encr.encrypt(pt, ct);
        const bytes = ct.saveArray(seal.ComprModeType.none);
        expect(bytes.length).toBe(length);
        expect(formatCode(() => ctx.validateCiphertext(bytes))).toBe(code);
      } finally {
        for (const o of [ct, pt, encr, pk, kg, other, pm, cm, parms]) o.delete();
      }
    }
  });

  it('rejects a coefficient equal to q (first, middle and last coefficient) and accepts q - 1', () => {
    const coeffs = (valid.length - DATA_OFFSET) / 8;
    for (const index of [0, 8191, 8192, coeffs - 1]) {
      const b = valid.slice();
      writeU64(b, DATA_OFFSET + 8 * index, Q0);
      expect(formatCode(() => ctx.validateCiphertext(b)), `index ${index}`).toBe('CIPHERTEXT_COEFFICIENT');
      writeU64(b, DATA_OFFSET + 8 * index, 0xffffffffffffffffn);
      expect(formatCode(() => ctx.validateCiphertext(b))).toBe('CIPHERTEXT_COEFFICIENT');
      writeU64(b, DATA_OFFSET + 8 * index, Q0 - 1n);
      expect(() => ctx.validateCiphertext(b)).not.toThrow();
    }
  });

  it('rejects each metadata field when changed', () => {
    const cases: [offset: number, code: string][] = [
      [0, 'CIPHERTEXT_HEADER'], // magic
      [2, 'CIPHERTEXT_HEADER'], // header size
      [3, 'CIPHERTEXT_HEADER'], // version
      [6, 'CIPHERTEXT_HEADER'], // reserved
      [9, 'CIPHERTEXT_HEADER'], // total size
      [20, 'CIPHERTEXT_PARMS_ID'],
      [48, 'CIPHERTEXT_HEADER'], // is_ntt_form
      [49, 'CIPHERTEXT_HEADER'], // size
      [57, 'CIPHERTEXT_HEADER'], // poly_modulus_degree
      [65, 'CIPHERTEXT_HEADER'], // coeff_modulus_size
      [80, 'CIPHERTEXT_HEADER'], // scale
      [81, 'CIPHERTEXT_HEADER'], // correction factor
      [89, 'CIPHERTEXT_HEADER'], // inner array header
      [105, 'CIPHERTEXT_HEADER'], // coefficient count
    ];
    for (const [offset, code] of cases) {
      const b = valid.slice();
      b[offset] = b[offset]! ^ 0x01;
      expect(formatCode(() => ctx.validateCiphertext(b)), `offset ${offset}`).toBe(code);
    }
  });

  it('random byte mutations either pass (only when every coefficient stays below q) or throw CiphertextFormatError', () => {
    const base = valid.slice();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (mutations, biasToHeader) => {
          const b = base.slice();
          for (const [pos0, value] of mutations) {
            const pos = biasToHeader ? pos0 % (DATA_OFFSET + 16) : pos0;
            b[pos] = value;
          }
          // Independent expectation: prefix must be unchanged, every touched coefficient < q.
          let shouldPass = true;
          for (let i = 0; i < DATA_OFFSET; i++) if (b[i] !== base[i]) shouldPass = false;
          for (const [pos0] of mutations) {
            const pos = biasToHeader ? pos0 % (DATA_OFFSET + 16) : pos0;
            if (pos >= DATA_OFFSET) {
              const start = DATA_OFFSET + 8 * Math.floor((pos - DATA_OFFSET) / 8);
              if (readU64(b, start) >= Q0) shouldPass = false;
            }
          }
          let threw: unknown;
          try {
            ctx.validateCiphertext(b);
          } catch (e) {
            threw = e;
          }
          if (threw !== undefined) expect(threw).toBeInstanceOf(CiphertextFormatError);
          expect(threw === undefined).toBe(shouldPass);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('LIMITATION: random in-range coefficients pass every structural check; only signatures protect the sum', () => {
    const forged = valid.slice();
    const rng = splitmix(7n);
    for (let off = DATA_OFFSET; off < forged.length; off += 8) writeU64(forged, off, rng() % Q0);
    expect(() => ctx.validateCiphertext(forged)).not.toThrow();
    const poisoned = ctx.add([valid, forged]);
    // The key holder notices this particular forgery only because the noise is gone ...
    expect(() => dec.decrypt(poisoned)).toThrow(NoiseBudgetExhaustedError);
    // ... but an honest-looking encryption of out-of-range slot values is indistinguishable
    // and silently shifts the aggregate.
    const layout = new SlotLayout([{ name: 'count', max: 1000n }], {
      plainModulus: ctx.plainModulus,
      slotCount: ctx.slotCount,
      maxContributors: 100,
    });
    const honest = enc.encrypt(layout.encode([10n])[0]!);
    const evil = new BigUint64Array(ctx.slotCount);
    evil[0] = ctx.plainModulus - 1n; // "-1" modulo t
    const sum = layout.decode([dec.decrypt(ctx.add([honest, enc.encrypt(evil)]))]);
    expect(sum).toEqual([9n]);
  });

  it('SEAL keeps working after many rejected inputs (hostile bytes never reach it)', () => {
    for (let i = 0; i < 300; i++) {
      const b = valid.slice(0, 1 + ((i * 7919) % valid.length));
      expect(() => ctx.add([valid, b])).toThrow(CiphertextFormatError);
    }
    expect(dec.decrypt(ctx.add([valid, valid]))[5]).toBe(14n);
  });

  it('accepts subarray views at odd offsets (e.g. slices of one stored blob)', () => {
    const other = enc.encrypt(new BigUint64Array(ctx.slotCount).fill(4n));
    const blob = new Uint8Array(7 + valid.length + other.length + 5).fill(0xee);
    blob.set(valid, 7);
    blob.set(other, 7 + valid.length);
    const a = blob.subarray(7, 7 + valid.length);
    const b = blob.subarray(7 + valid.length, 7 + valid.length + other.length);
    expect(() => ctx.validateCiphertext(b)).not.toThrow();
    expect(dec.decrypt(ctx.add([a, b]))[100]).toBe(11n);
    expect(dec.decrypt(Buffer.from(blob.buffer, blob.byteOffset + 7, valid.length))[0]).toBe(7n);
  });

  it('throws TypeError for a non-Uint8Array argument', () => {
    expect(() => ctx.validateCiphertext('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('key validation', () => {
  it('accepts generated keys and checks public-key coefficients per RNS prime', () => {
    expect(() => ctx.validatePublicKey(keys.publicKey)).not.toThrow();
    expect(() => ctx.validateSecretKey(keys.secretKey)).not.toThrow();
    // Public key: poly 0 prime q0 block, then poly 0 prime q1 block, ...
    const b = keys.publicKey.slice();
    writeU64(b, DATA_OFFSET + 8 * 8192, Q0); // first coefficient of the q1 block: Q0 < Q1, valid
    expect(() => ctx.validatePublicKey(b)).not.toThrow();
    writeU64(b, DATA_OFFSET + 8 * 8192, Q1);
    expect(formatCode(() => ctx.validatePublicKey(b))).toBe('CIPHERTEXT_COEFFICIENT');
    const c = keys.publicKey.slice();
    writeU64(c, DATA_OFFSET, Q0); // first coefficient of the q0 block
    expect(formatCode(() => ctx.validatePublicKey(c))).toBe('CIPHERTEXT_COEFFICIENT');
  });

  it('rejects a ciphertext presented as a public key and vice versa', () => {
    expect(formatCode(() => ctx.validatePublicKey(valid))).toBe('CIPHERTEXT_LENGTH');
    expect(formatCode(() => ctx.validateCiphertext(keys.publicKey))).toBe('CIPHERTEXT_LENGTH');
    expect(() => new HeEncryptor(ctx, valid)).toThrow(CiphertextFormatError);
    expect(() => new HeDecryptor(ctx, keys.secretKey.subarray(0, 1000))).toThrow(CiphertextFormatError);
    expect(formatCode(() => ctx.validateSecretKey(valid))).toBe('CIPHERTEXT_LENGTH');
    const sk = keys.secretKey.slice();
    writeU64(sk, 88, Q0); // first secret-key coefficient (data offset 88) at the modulus
    expect(formatCode(() => ctx.validateSecretKey(sk))).toBe('CIPHERTEXT_COEFFICIENT');
    expect(() => new HeDecryptor(ctx, sk)).toThrow(CiphertextFormatError);
  });

  it('a key pair from another generation cannot decrypt (wrong key gives wrong numbers, not an error)', () => {
    const other = generateHeKeys(ctx);
    const d2 = new HeDecryptor(ctx, other.secretKey);
    try {
      const msg = new BigUint64Array(ctx.slotCount).fill(7n);
      let out: BigUint64Array | undefined;
      try {
        out = d2.decrypt(valid);
      } catch (e) {
        expect(e).toBeInstanceOf(NoiseBudgetExhaustedError);
      }
      if (out !== undefined) expect(out).not.toEqual(msg);
    } finally {
      d2.close();
    }
  });
});

describe('lifecycle', () => {
  it('close() is idempotent and later use fails with CONTEXT_CLOSED / *_CLOSED', async () => {
    const c2 = await HeContext.create();
    const k = generateHeKeys(c2);
    const e2 = new HeEncryptor(c2, k.publicKey);
    const ct = e2.encrypt(new BigUint64Array(c2.slotCount));
    e2.close();
    e2.close();
    expect(() => e2.encrypt(new BigUint64Array(c2.slotCount))).toThrow(expect.objectContaining({ code: 'ENCRYPTOR_CLOSED' }));
    c2.close();
    c2.close();
    expect(c2.closed).toBe(true);
    expect(() => c2.add([ct])).toThrow(FedmartCryptoError);
    expect(() => c2.add([ct])).toThrow(expect.objectContaining({ code: 'CONTEXT_CLOSED' }));
    expect(() => generateHeKeys(c2)).toThrow(expect.objectContaining({ code: 'CONTEXT_CLOSED' }));
    // Validation is pure TypeScript and still works.
    expect(() => c2.validateCiphertext(ct)).not.toThrow();
  });
});
