import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  blake2b,
  blake2b256,
  constantTimeEqual,
  cryptoReady,
  fromHex,
  generateSigningKeyPair,
  randomBytes,
  signDigest,
  signingKeyPairFromSeed,
  toHex,
  verifyDigest,
} from '../../crypto/index.js';

beforeAll(async () => {
  await cryptoReady();
});

/** RFC 8032 section 7.1, TEST 1, 2, 3 and "TEST SHA(abc)". */
const RFC8032 = [
  {
    name: 'TEST 1',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST SHA(abc)',
    seed: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
] as const;

describe('Ed25519 (RFC 8032 section 7.1 vectors)', () => {
  for (const v of RFC8032) {
    it(`${v.name}: key derivation, signature bytes and verification`, () => {
      const kp = signingKeyPairFromSeed(fromHex(v.seed));
      expect(toHex(kp.publicKey)).toBe(v.publicKey);
      const msg = fromHex(v.message);
      const sig = signDigest(msg, kp.secretKey);
      expect(toHex(sig)).toBe(v.signature);
      expect(verifyDigest(fromHex(v.signature), msg, fromHex(v.publicKey))).toBe(true);
    });
  }

  it('rejects a signature over a different message, a flipped bit, or another key', () => {
    const v = RFC8032[1];
    const sig = fromHex(v.signature);
    const pk = fromHex(v.publicKey);
    expect(verifyDigest(sig, fromHex('73'), pk)).toBe(false);
    for (let bit = 0; bit < 512; bit += 37) {
      const bad = sig.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(verifyDigest(bad, fromHex(v.message), pk)).toBe(false);
    }
    expect(verifyDigest(sig, fromHex(v.message), fromHex(RFC8032[0].publicKey))).toBe(false);
  });

  it('returns false, never throws, on wrong lengths and garbage keys', () => {
    const v = RFC8032[0];
    const sig = fromHex(v.signature);
    const pk = fromHex(v.publicKey);
    expect(verifyDigest(sig.subarray(0, 63), new Uint8Array(0), pk)).toBe(false);
    expect(verifyDigest(new Uint8Array(65), new Uint8Array(0), pk)).toBe(false);
    expect(verifyDigest(sig, new Uint8Array(0), pk.subarray(0, 31))).toBe(false);
    expect(verifyDigest(sig, new Uint8Array(0), new Uint8Array(32))).toBe(false);
    expect(verifyDigest(sig, new Uint8Array(0), new Uint8Array(32).fill(0xff))).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (s, d, k) => {
        expect(verifyDigest(s, d, k)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with node:crypto Ed25519 for random seeds and messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (seed, msg) => {
        const kp = signingKeyPairFromSeed(seed);
        // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
        const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]);
        const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        const expected = nodeSign(null, msg, key);
        expect(toHex(signDigest(msg, kp.secretKey))).toBe(expected.toString('hex'));
      }),
      { numRuns: 50 },
    );
  });

  it('round-trips fresh key pairs and checks argument sizes', () => {
    const kp = generateSigningKeyPair();
    expect(kp.publicKey.length).toBe(32);
    expect(kp.secretKey.length).toBe(64);
    const d = blake2b256(new TextEncoder().encode('statement'));
    expect(verifyDigest(signDigest(d, kp.secretKey), d, kp.publicKey)).toBe(true);
    expect(() => signDigest(d, kp.secretKey.subarray(0, 32))).toThrow(/secretKey/);
    expect(() => signingKeyPairFromSeed(new Uint8Array(31))).toThrow(RangeError);
    expect(() => signDigest('x' as unknown as Uint8Array, kp.secretKey)).toThrow(TypeError);
  });
});

describe('BLAKE2b', () => {
  // Independent answers: BLAKE2b-256 values computed with CPython's hashlib
  // (hashlib.blake2b(data, digest_size=32[, key=...])); BLAKE2b-512("abc")
  // is RFC 7693 Appendix A.
  it('matches known BLAKE2b-256 digests of "" and "abc"', () => {
    expect(toHex(blake2b256(new Uint8Array(0)))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(toHex(blake2b256(new TextEncoder().encode('abc')))).toBe(
      'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319',
    );
  });

  it('matches BLAKE2b-256 from hashlib on a ciphertext-sized and a 1 MiB input', () => {
    // hashlib.blake2b(bytes(i % 251 for i in range(123000)), digest_size=32) and of bytes((7i + 3) % 256 for i < 2^20).
    const ciphertextSized = Uint8Array.from({ length: 123_000 }, (_, i) => i % 251);
    const mebibyte = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + 3) % 256);
    const first = blake2b256(ciphertextSized);
    expect(toHex(first)).toBe('54569f933f17d194aa6248333e33db239eb805bdf1ecc0a102a15a3537df1454');
    expect(toHex(blake2b256(mebibyte))).toBe('65c804268df52a2d78034f9a50113d0c5d9a5e592ea3735012ebc798f3271a6b');
    // Each digest is the caller's own copy: a later digest does not change an earlier one.
    expect(toHex(first)).toBe('54569f933f17d194aa6248333e33db239eb805bdf1ecc0a102a15a3537df1454');
  });

  it('matches keyed BLAKE2b-256 from hashlib', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(toHex(blake2b256(new TextEncoder().encode('fedmart'), key))).toBe(
      '9cf862b8e41ce3a0bfe6a80fc8bf2c230d7dbc25386f4e403cde234a1045e704',
    );
  });

  it('matches the RFC 7693 Appendix A BLAKE2b-512("abc") vector', () => {
    expect(toHex(blake2b(new TextEncoder().encode('abc'), 64))).toBe(
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1' +
        '7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    );
  });

  it('agrees with node:crypto blake2b512 on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(toHex(blake2b(data, 64))).toBe(createHash('blake2b512').update(data).digest('hex'));
      }),
      { numRuns: 100 },
    );
  });

  it('rejects keys outside 16..64 bytes and bad output lengths', () => {
    expect(() => blake2b256(new Uint8Array(1), new Uint8Array(15))).toThrow(/key/);
    expect(() => blake2b256(new Uint8Array(1), new Uint8Array(65))).toThrow(RangeError);
    expect(() => blake2b(new Uint8Array(1), 65)).toThrow(/outputLength/);
    expect(() => blake2b256('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('bytes helpers', () => {
  it('hex round-trips and rejects malformed hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
        expect(toHex(b)).toBe(Buffer.from(b).toString('hex'));
      }),
    );
    expect(fromHex('ABcd')).toEqual(Uint8Array.of(0xab, 0xcd));
    for (const bad of ['a', 'abc', 'zz', '0x00', ' 00', '00 ', 'g0']) {
      expect(() => fromHex(bad), bad).toThrow(RangeError);
    }
  });

  it('constantTimeEqual compares contents and lengths', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('randomBytes gives the requested length and distinct outputs', () => {
    expect(randomBytes(0).length).toBe(0);
    const a = randomBytes(32);
    const b = randomBytes(32);
    expect(a.length).toBe(32);
    expect(constantTimeEqual(a, b)).toBe(false);
    expect(() => randomBytes(-1)).toThrow(/n must be/);
    expect(() => randomBytes(1.5)).toThrow(RangeError);
  });
});
