/**
 * `HeContext.withoutSeal`: the coordinator's context, built from the values
 * recorded in crypto/params.ts without starting SEAL. It validates and adds
 * exactly as a SEAL-backed context does, and SEAL is never loaded for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HeContext,
  HeDecryptor,
  HeEncryptor,
  generateHeKeys,
  sumPackedContributions,
  validatePackedCiphertext,
} from '../../crypto/index.js';

let sealCtx: HeContext;
let keys: { publicKey: Uint8Array; secretKey: Uint8Array };

beforeAll(async () => {
  sealCtx = await HeContext.create();
  keys = generateHeKeys(sealCtx);
});

afterAll(() => sealCtx?.close());

describe('HeContext.withoutSeal', () => {
  it('has the same parameters and lengths as a SEAL-backed context', () => {
    const ctx = HeContext.withoutSeal();
    for (const k of ['slotCount', 'plainModulus', 'ciphertextByteLength', 'publicKeyByteLength', 'secretKeyByteLength', 'packedCiphertextByteLength'] as const) {
      expect(ctx[k], k).toBe(sealCtx[k]);
    }
    expect(ctx.ciphertextModuli).toEqual(sealCtx.ciphertextModuli);
    expect(ctx.paramSet).toBe(sealCtx.paramSet);
  });

  it('validates keys and ciphertexts and sums them byte for byte like the SEAL-backed context', () => {
    const ctx = HeContext.withoutSeal();
    ctx.validatePublicKey(keys.publicKey);
    ctx.validateSecretKey(keys.secretKey);
    const enc = new HeEncryptor(sealCtx, keys.publicKey);
    const dec = new HeDecryptor(sealCtx, keys.secretKey);
    try {
      const a = new BigUint64Array(sealCtx.slotCount).fill(5n);
      const b = new BigUint64Array(sealCtx.slotCount).fill(7n);
      const ca = enc.encryptPacked(a);
      const cb = enc.encryptPacked(b);
      validatePackedCiphertext(ctx, ca);
      const [sum] = sumPackedContributions(ctx, [ca, cb], 1);
      expect(sum).toEqual(sumPackedContributions(sealCtx, [ca, cb], 1)[0]);
      expect(dec.decryptPacked(sum!)[0]).toBe(12n);
      const bad = Uint8Array.from(ca);
      bad[5] = bad[5]! ^ 1;
      expect(() => validatePackedCiphertext(ctx, bad)).toThrow();
    } finally {
      enc.close();
      dec.close();
    }
  });

  it('refuses SEAL operations (it holds no SEAL objects)', () => {
    const ctx = HeContext.withoutSeal();
    expect(() => generateHeKeys(ctx)).toThrow(expect.objectContaining({ code: 'CONTEXT_CLOSED' }));
    expect(() => new HeEncryptor(ctx, keys.publicKey)).toThrow(expect.objectContaining({ code: 'CONTEXT_CLOSED' }));
    ctx.close();
  });

  it('the coordinator never loads SEAL', async () => {
    const { readFileSync } = await import('node:fs');
    const server = readFileSync(new URL('../../coordinator/server.ts', import.meta.url), 'utf8');
    expect(server).toMatch(/HeContext\.withoutSeal\(/);
    expect(server).not.toMatch(/HeContext\.create\(/);
  });
});
