/**
 * The signing step of a merchant's share and its check at the coordinator,
 * exactly as the project does it: BLAKE2b-256 of each serialized share, an
 * Ed25519 signature over the contribution envelope.
 */
import {
  blake2b256,
  constantTimeEqual,
  ENVELOPE_NONCE_BYTES,
  generateSigningKeyPair,
  randomBytes,
  signEnvelope,
  verifyEnvelope,
} from '../crypto/index.js';
import type { ContributionEnvelope, SigningKeyPair } from '../crypto/index.js';

export interface SignedShare {
  readonly envelope: ContributionEnvelope;
  readonly signature: Uint8Array;
}

/** Fixed envelope fields of one bench query. */
export interface ShareContext {
  readonly paramSet: string;
  /** 32 bytes: the HE key id, or a placeholder digest for plaintext shares. */
  readonly keyId: Uint8Array;
  /** 32 bytes: the slot layout digest, or a placeholder digest for plaintext shares. */
  readonly layoutDigest: Uint8Array;
}

const SPEC_DIGEST_LABEL = new TextEncoder().encode('fedmart bench query');

export class ShareSigner {
  readonly #keys: SigningKeyPair;
  readonly #context: ShareContext;
  readonly #specDigest: Uint8Array;

  /** Requires `cryptoReady()`. */
  constructor(context: ShareContext) {
    this.#keys = generateSigningKeyPair();
    this.#context = context;
    this.#specDigest = blake2b256(SPEC_DIGEST_LABEL);
  }

  /** Hashes the share and signs its envelope (the merchant's last step). */
  sign(share: Uint8Array, merchantIndex: number): SignedShare {
    const envelope: ContributionEnvelope = {
      queryId: 'bench',
      merchantId: `merchant-${merchantIndex}`,
      specDigest: this.#specDigest,
      keyId: this.#context.keyId,
      paramSet: this.#context.paramSet,
      layoutDigest: this.#context.layoutDigest,
      ciphertextDigests: [blake2b256(share)],
      ciphertextLengths: [share.length],
      createdUnixMs: BigInt(Date.now()),
      nonce: randomBytes(ENVELOPE_NONCE_BYTES),
      attestationDigest: blake2b256(new Uint8Array(0)),
    };
    return { envelope, signature: signEnvelope(envelope, this.#keys.secretKey) };
  }

  /** Re-hashes the share and verifies the envelope signature (the coordinator's check). */
  verify(share: Uint8Array, signed: SignedShare): boolean {
    const digest = signed.envelope.ciphertextDigests[0];
    if (digest === undefined || !constantTimeEqual(digest, blake2b256(share))) return false;
    return verifyEnvelope(signed.envelope, signed.signature, this.#keys.publicKey);
  }
}
