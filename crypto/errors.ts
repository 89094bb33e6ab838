/**
 * Typed errors of the crypto module.
 *
 * Every error carries a stable machine-readable `code` so that callers (the
 * coordinator's gRPC layer, the key holder, the audit log) can map a failure to
 * a status and record it without parsing messages. Messages are for people and
 * may change; codes may not.
 *
 * Argument mistakes by the calling program are reported with the built-in
 * `TypeError` / `RangeError` (naming the argument); the classes below are for
 * problems with *data* (untrusted bytes, aggregates, parameters).
 */

/** Base class of every crypto-specific error; `code` is stable across releases. */
export class FedmartCryptoError extends Error {
  /** Stable identifier, e.g. `CIPHERTEXT_LENGTH`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FedmartCryptoError';
    this.code = code;
  }
}

/** Codes raised by the structural validators of serialized SEAL objects. */
export type CiphertextFormatErrorCode =
  | 'CIPHERTEXT_TYPE'
  | 'CIPHERTEXT_LENGTH'
  | 'CIPHERTEXT_HEADER'
  | 'CIPHERTEXT_COMPRESSED'
  | 'CIPHERTEXT_PARMS_ID'
  | 'CIPHERTEXT_METADATA'
  | 'CIPHERTEXT_COEFFICIENT';

/**
 * Untrusted serialized ciphertext (or key) bytes do not have the exact shape
 * expected for the parameter set. Raised *before* any byte reaches SEAL,
 * because SEAL's own C++ exceptions leak WASM memory and malformed input can
 * abort the whole WebAssembly instance.
 */
export class CiphertextFormatError extends FedmartCryptoError {
  declare readonly code: CiphertextFormatErrorCode;

  constructor(code: CiphertextFormatErrorCode, message: string) {
    super(code, message);
    this.name = 'CiphertextFormatError';
  }
}

/**
 * A sum of this many contributions could reach the BFV plain modulus and wrap
 * silently, which would produce a plausible but wrong aggregate.
 * The message names the offending field.
 */
export class OverflowRiskError extends FedmartCryptoError {
  /** Name of the field whose bound is too large for the contributor count. */
  readonly field: string;

  constructor(field: string, message: string) {
    super('OVERFLOW_RISK', message);
    this.name = 'OverflowRiskError';
    this.field = field;
  }
}

/**
 * The ciphertext has no invariant noise budget left, so its decryption would
 * be garbage. Raised instead of returning wrong numbers.
 */
export class NoiseBudgetExhaustedError extends FedmartCryptoError {
  constructor(message: string) {
    super('NOISE_BUDGET_EXHAUSTED', message);
    this.name = 'NoiseBudgetExhaustedError';
  }
}
