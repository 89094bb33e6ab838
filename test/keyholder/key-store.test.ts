/**
 * Keys at rest: secret files are 0600 in a 0700 folder, reloaded identically,
 * and refused when others could read them.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeContext, cryptoReady, toHex } from '../../crypto/index.js';
import { KeyFilePermissionError, loadOrCreateKeys } from '../../keyholder/key-store.js';

describe('key holder key store', () => {
  let ctx: HeContext;
  let dir: string;

  beforeAll(async () => {
    await cryptoReady();
    ctx = await HeContext.create();
    dir = mkdtempSync(join(tmpdir(), 'fedmart-keys-'));
  });

  afterAll(() => {
    ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates secret files with mode 0600 and reloads the same keys', () => {
    const keysDir = join(dir, 'k');
    const first = loadOrCreateKeys(keysDir, ctx);
    expect(statSync(keysDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(keysDir, 'he-secret.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(keysDir, 'signing.seed')).mode & 0o777).toBe(0o600);
    const again = loadOrCreateKeys(keysDir, ctx);
    expect(toHex(again.hePublicKey)).toBe(toHex(first.hePublicKey));
    expect(toHex(again.signing.publicKey)).toBe(toHex(first.signing.publicKey));
  });

  it('refuses a secret key file that others can read', () => {
    const keysDir = join(dir, 'loose');
    loadOrCreateKeys(keysDir, ctx);
    chmodSync(join(keysDir, 'he-secret.key'), 0o644);
    expect(() => loadOrCreateKeys(keysDir, ctx)).toThrow(KeyFilePermissionError);
  });
});
