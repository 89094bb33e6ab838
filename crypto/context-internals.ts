/**
 * Module-private access to the SEAL objects owned by an `HeContext`.
 *
 * `keys.ts` needs the SEAL context and encoder, but they must not appear on
 * the public surface (callers would bypass validation or delete them twice).
 * A WeakMap keyed by the public object keeps them reachable only from inside
 * this folder; `index.ts` does not re-export this file.
 */
import type { SEALLibrary } from './seal-loader.js';
import type { Context } from 'node-seal/implementation/context.js';
import type { BatchEncoder } from 'node-seal/implementation/batch-encoder.js';
import type { Evaluator } from 'node-seal/implementation/evaluator.js';
import type { SealObjectLayout } from './seal-format.js';
import { FedmartCryptoError } from './errors.js';

export type { Context, BatchEncoder, Evaluator };

/** SEAL objects and derived layouts of one open HeContext. */
export interface HeContextInternals {
  readonly seal: SEALLibrary;
  readonly context: Context;
  readonly encoder: BatchEncoder;
  readonly evaluator: Evaluator;
  readonly ciphertextLayout: SealObjectLayout;
  readonly publicKeyLayout: SealObjectLayout;
  readonly secretKeyLayout: SealObjectLayout;
}

const registry = new WeakMap<object, HeContextInternals>();

/** Associates internals with a context object (called once by HeContext.create). */
export function registerInternals(owner: object, internals: HeContextInternals): void {
  registry.set(owner, internals);
}

/** Forgets the internals (called by HeContext.close before deleting them). */
export function unregisterInternals(owner: object): HeContextInternals | undefined {
  const found = registry.get(owner);
  registry.delete(owner);
  return found;
}

/**
 * Returns the live internals of `owner`, or throws `CONTEXT_CLOSED` so that a
 * use-after-close fails loudly instead of touching freed WASM memory.
 */
export function internalsOf(owner: object): HeContextInternals {
  const found = registry.get(owner);
  if (found === undefined) {
    throw new FedmartCryptoError('CONTEXT_CLOSED', 'HeContext is closed (or was not created by HeContext.create)');
  }
  return found;
}
