/**
 * Signed notes and checkpoints: the Go reference vector, round trips, and
 * rejection of every single-byte change.
 *
 * Vector: golang.org/x/mod/sumdb/note `note_test.go` (the PeterNeumann key,
 * text and signature, also used by the C2SP signed-note implementations).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cryptoReady, fromHex, generateSigningKeyPair, signingKeyPairFromSeed, toHex } from '../../crypto/index.js';
import type { SigningKeyPair } from '../../crypto/index.js';
import { verifierKeyString } from '../../compliance/audit.js';
import { CheckpointError } from '../../compliance/checkpoint-error.js';
import { formatCheckpoint, parseCheckpoint, signCheckpoint, verifyCheckpoint } from '../../compliance/checkpoint.js';
import { noteKeyId, openNote, parseNote, parseVerifierKey, signNote } from '../../compliance/signed-note.js';

const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_SKEY_MATERIAL = 'AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const GO_NOTE = `${GO_TEXT}\n${GO_SIG}`;

const ROOT = fromHex('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
const ORIGIN = 'fedmart.example/audit';
const KEY_NAME = 'fedmart.example/audit';

let peter: SigningKeyPair;
let log: SigningKeyPair;
let other: SigningKeyPair;

beforeAll(async () => {
  await cryptoReady();
  const material = new Uint8Array(Buffer.from(GO_SKEY_MATERIAL, 'base64'));
  expect(material[0]).toBe(1);
  peter = signingKeyPairFromSeed(material.slice(1));
  log = signingKeyPairFromSeed(new Uint8Array(32).fill(7));
  other = generateSigningKeyPair();
});

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).code).toBe(code);
    return;
  }
  throw new Error(`expected CheckpointError ${code}`);
}

describe('signed note (golang.org/x/mod/sumdb/note vector)', () => {
  it('reproduces the published key id, verifier key and signature byte for byte', () => {
    expect(toHex(noteKeyId('PeterNeumann', peter.publicKey))).toBe('c74f20a3');
    expect(verifierKeyString('PeterNeumann', peter.publicKey)).toBe(GO_VKEY);
    expect(signNote(GO_TEXT, 'PeterNeumann', peter.secretKey)).toBe(GO_NOTE);
  });

  it('opens the published note and rejects a changed one', () => {
    const { keyName, publicKey } = parseVerifierKey(GO_VKEY);
    expect(openNote(GO_NOTE, keyName, publicKey).text).toBe(GO_TEXT);
    expectCode(() => openNote(GO_NOTE.replace('cryptography', 'cryptographY'), keyName, publicKey), 'INVALID_SIGNATURE');
  });

  it('rejects mangled verifier keys', () => {
    for (const bad of [
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX',
      'PeterNeumann+c74f20a3+ApdcrQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3',
      '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
    ]) {
      expectCode(() => parseVerifierKey(bad), 'MALFORMED_KEY');
    }
  });

  it('ignores signatures by unknown keys but requires one by the trusted key', () => {
    const witness = signNote(GO_TEXT, 'witness.example', other.secretKey);
    const witnessLine = witness.slice(witness.lastIndexOf('\u2014'));
    const both = GO_NOTE + witnessLine;
    expect(openNote(both, 'PeterNeumann', peter.publicKey).signatures).toHaveLength(2);
    expectCode(() => openNote(witness, 'PeterNeumann', peter.publicKey), 'NO_TRUSTED_SIGNATURE');
    // Same name, other key: not the trusted key, so ignored, so nothing trusted.
    const impostor = signNote(GO_TEXT, 'PeterNeumann', other.secretKey);
    expectCode(() => openNote(impostor, 'PeterNeumann', peter.publicKey), 'NO_TRUSTED_SIGNATURE');
  });

  it('rejects malformed notes', () => {
    for (const bad of [
      GO_TEXT,
      `${GO_TEXT}\n`,
      `${GO_TEXT}${GO_SIG}`,
      `${GO_TEXT}\n${GO_SIG.slice(0, -1)}`,
      `${GO_TEXT}\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
      `${GO_TEXT}\n${GO_SIG}\n`,
      `${GO_TEXT.replace('\n', '\r\n')}\n${GO_SIG}`,
      `\n${GO_SIG}`,
      `${GO_TEXT}\n\u2014 PeterNeumann\n`,
      `${GO_TEXT}\n\u2014 PeterNeumann x08g\n`,
      `${GO_TEXT}\n${GO_SIG.replace('AM=', 'AN=')}`,
    ]) {
      expectCode(() => parseNote(bad), 'MALFORMED_NOTE');
    }
    expectCode(() => parseNote(new Uint8Array([0xff, 0x0a, 0x0a])), 'MALFORMED_NOTE');
    expectCode(() => parseNote(`${GO_TEXT}\n${GO_SIG.repeat(101)}`), 'MALFORMED_NOTE');
  });

  it('rejects bad signing arguments with TypeError/RangeError naming the argument', () => {
    expect(() => signNote('no newline', 'k', peter.secretKey)).toThrow(/text/);
    expect(() => signNote('a\tb\n', 'k', peter.secretKey)).toThrow(/text/);
    expect(() => signNote('ok\n', 'a+b', peter.secretKey)).toThrow(/keyName/);
    expect(() => signNote('ok\n', 'a b', peter.secretKey)).toThrow(/keyName/);
    expect(() => signNote('ok\n', 'k', peter.publicKey)).toThrow(/secretKey/);
    expect(() => noteKeyId('k', new Uint8Array(31))).toThrow(/publicKey/);
  });
});

describe('checkpoints', () => {
  const cp = { origin: ORIGIN, size: 8, rootHash: ROOT };

  it('formats the three C2SP body lines', () => {
    expect(formatCheckpoint(cp)).toBe(`${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`);
  });

  it('round-trips through sign, parse and verify', () => {
    const note = signCheckpoint(cp, KEY_NAME, log.secretKey);
    expect(note.startsWith(formatCheckpoint(cp) + '\n\u2014 ' + KEY_NAME + ' ')).toBe(true);
    for (const parsed of [parseCheckpoint(note), verifyCheckpoint(note, KEY_NAME, log.publicKey, { origin: ORIGIN })]) {
      expect(parsed.origin).toBe(ORIGIN);
      expect(parsed.size).toBe(8);
      expect(toHex(parsed.rootHash)).toBe(toHex(ROOT));
      expect(parsed.body).toBe(formatCheckpoint(cp));
    }
    expect(verifyCheckpoint(new TextEncoder().encode(note), KEY_NAME, log.publicKey).size).toBe(8);
    const vkey = parseVerifierKey(verifierKeyString(KEY_NAME, log.publicKey));
    expect(verifyCheckpoint(note, vkey.keyName, vkey.publicKey).size).toBe(8);
  });

  it('round-trips arbitrary sizes and roots', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (size, rootHash) => {
        const note = signCheckpoint({ origin: ORIGIN, size, rootHash }, KEY_NAME, log.secretKey);
        const parsed = verifyCheckpoint(note, KEY_NAME, log.publicKey);
        return parsed.size === size && toHex(parsed.rootHash) === toHex(rootHash);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects the wrong key, the wrong origin and witness-only notes', () => {
    const note = signCheckpoint(cp, KEY_NAME, log.secretKey);
    expectCode(() => verifyCheckpoint(note, KEY_NAME, other.publicKey), 'NO_TRUSTED_SIGNATURE');
    expectCode(() => verifyCheckpoint(note, 'other.example', log.publicKey), 'NO_TRUSTED_SIGNATURE');
    expectCode(() => verifyCheckpoint(note, KEY_NAME, log.publicKey, { origin: 'elsewhere' }), 'ORIGIN_MISMATCH');
    const cosigned = note + signCheckpoint(cp, 'witness.example', other.secretKey).split('\n\n')[1]!;
    expect(verifyCheckpoint(cosigned, KEY_NAME, log.publicKey).signatures).toHaveLength(2);
  });

  it('rejects bodies that are not exactly origin, size and a 32-byte root', () => {
    const bodies = [
      `${ORIGIN}\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`,
      `${ORIGIN}\n-1\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`,
      `${ORIGIN}\n9007199254740993\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`,
      `${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n`,
      `${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==\n`,
      `${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nextension\n`,
      `${ORIGIN}\n8\n`,
      `\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`,
    ];
    for (const body of bodies) {
      const note = signNote(body, KEY_NAME, log.secretKey);
      expectCode(() => parseCheckpoint(note), 'MALFORMED_CHECKPOINT');
      expectCode(() => verifyCheckpoint(note, KEY_NAME, log.publicKey), 'MALFORMED_CHECKPOINT');
    }
    expect(() => formatCheckpoint({ origin: '', size: 1, rootHash: ROOT })).toThrow(/origin/);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1.5, rootHash: ROOT })).toThrow(/size/);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1, rootHash: ROOT.slice(1) })).toThrow(/rootHash/);
  });

  it('rejects every single-byte change, deletion and truncation of a checkpoint note', () => {
    const note = new TextEncoder().encode(signCheckpoint(cp, KEY_NAME, log.secretKey));
    const rejected = (bytes: Uint8Array): boolean => {
      try {
        verifyCheckpoint(bytes, KEY_NAME, log.publicKey);
        return false;
      } catch (e) {
        return e instanceof CheckpointError;
      }
    };
    let probes = 0;
    for (let i = 0; i < note.length; i++) {
      for (const delta of [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]) {
        const changed = note.slice();
        changed[i]! ^= delta;
        expect(rejected(changed), `byte ${i} ^ ${delta}`).toBe(true);
        probes++;
      }
      expect(rejected(new Uint8Array([...note.subarray(0, i), ...note.subarray(i + 1)])), `delete byte ${i}`).toBe(true);
      expect(rejected(note.subarray(0, i)), `truncate at ${i}`).toBe(true);
    }
    expect(probes).toBe(note.length * 8);
  });

  it('rejects a random byte replacement anywhere (property)', () => {
    const note = new TextEncoder().encode(signCheckpoint(cp, KEY_NAME, log.secretKey));
    fc.assert(
      fc.property(fc.nat({ max: note.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, delta) => {
        const changed = note.slice();
        changed[i] = (changed[i]! + delta) & 0xff;
        expect(() => verifyCheckpoint(changed, KEY_NAME, log.publicKey)).toThrow(CheckpointError);
      }),
      { numRuns: 300 },
    );
  });
});
