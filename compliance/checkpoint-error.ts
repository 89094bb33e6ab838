/**
 * The one error type of signed notes and checkpoints, with a machine-readable
 * code so that a CLI or an HTTP handler can map it to an exit status or a
 * problem type without parsing messages.
 *
 * @module
 */

/**
 * - `MALFORMED_NOTE`: not a signed note (bad UTF-8, control characters, no
 *   blank line before the signatures, a malformed signature line, too many
 *   signatures, non-canonical base64).
 * - `MALFORMED_CHECKPOINT`: a well-formed note whose text is not exactly
 *   origin, tree size and 32-byte root hash lines.
 * - `NO_TRUSTED_SIGNATURE`: no signature line names the expected key (name
 *   and key id).
 * - `INVALID_SIGNATURE`: a signature by the expected key does not verify.
 * - `ORIGIN_MISMATCH`: the checkpoint is for another log than expected.
 * - `MALFORMED_KEY`: a verifier key string that cannot be parsed.
 */
export type CheckpointErrorCode =
  | 'MALFORMED_NOTE'
  | 'MALFORMED_CHECKPOINT'
  | 'NO_TRUSTED_SIGNATURE'
  | 'INVALID_SIGNATURE'
  | 'ORIGIN_MISMATCH'
  | 'MALFORMED_KEY';

/** A signed note or checkpoint was rejected; `code` says why. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  readonly code: CheckpointErrorCode;

  constructor(code: CheckpointErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
