import { describe, expect, it } from 'vitest';
import * as api from '../../crypto/index.js';

/** The surface other folders code against; removing or renaming one is a breaking change. */
const REQUIRED = [
  'FedmartCryptoError',
  'CiphertextFormatError',
  'OverflowRiskError',
  'NoiseBudgetExhaustedError',
  'HE_PARAM_SETS',
  'DEFAULT_HE_PARAM_SET',
  'getHeParamSet',
  'HeContext',
  'generateHeKeys',
  'HeEncryptor',
  'HeDecryptor',
  'packCiphertext',
  'validatePackedCiphertext',
  'unpackCiphertext',
  'CiphertextAccumulator',
  'SlotLayout',
  'parseFixedPoint',
  'formatFixedPoint',
  'cryptoReady',
  'generateSigningKeyPair',
  'signingKeyPairFromSeed',
  'signDigest',
  'verifyDigest',
  'blake2b256',
  'randomBytes',
  'toHex',
  'fromHex',
  'constantTimeEqual',
  'canonicalEncode',
  'statementDigest',
  'envelopeDigest',
  'signEnvelope',
  'verifyEnvelope',
  'enrolmentDigest',
  'publicKeyBundleDigest',
  'heKeyId',
] as const;

describe('crypto public surface', () => {
  it('exports every agreed name', () => {
    for (const name of REQUIRED) expect(api, name).toHaveProperty(name);
  });

  it('errors carry stable codes and the right class chain', () => {
    const e = new api.CiphertextFormatError('CIPHERTEXT_LENGTH', 'x');
    expect(e).toBeInstanceOf(api.FedmartCryptoError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('CIPHERTEXT_LENGTH');
    expect(e.name).toBe('CiphertextFormatError');
    expect(new api.OverflowRiskError('revenue', 'm').code).toBe('OVERFLOW_RISK');
    expect(new api.NoiseBudgetExhaustedError('m').code).toBe('NOISE_BUDGET_EXHAUSTED');
  });

  it('parameter sets are frozen data with the documented default', () => {
    expect(api.DEFAULT_HE_PARAM_SET).toBe('bfv-8192-t40');
    const p = api.getHeParamSet(api.DEFAULT_HE_PARAM_SET);
    expect(p).toMatchObject({ scheme: 'bfv', polyModulusDegree: 8192, coeffModulusBits: [60, 60], plainModulusBits: 40 });
    expect(Object.isFrozen(api.HE_PARAM_SETS)).toBe(true);
    expect(Object.isFrozen(p)).toBe(true);
    expect(() => api.getHeParamSet('__proto__')).toThrow(RangeError);
    expect(() => api.getHeParamSet('toString')).toThrow(/name/);
  });

  it('libsodium-backed functions fail clearly before cryptoReady() (fresh module instance)', async () => {
    const { vi } = await import('vitest');
    vi.resetModules();
    const fresh = await import('../../crypto/sign.js');
    expect(() => fresh.blake2b256(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'CRYPTO_NOT_READY' }));
    // Pure helpers work without initialisation.
    expect(fresh.toHex(Uint8Array.of(1))).toBe('01');
    await fresh.cryptoReady();
    expect(fresh.blake2b256(new Uint8Array(1)).length).toBe(32);
  });
});
