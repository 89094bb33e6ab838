/**
 * The one validator for ids a gRPC peer sends (merchant ids, query ids,
 * model ids). Every method checks its ids with it before anything else
 * looks at them, so that an id of any length, with U+0000 (which PostgreSQL
 * text cannot hold), ANSI escapes or newlines, is refused the same way
 * everywhere: INVALID_ARGUMENT with a fixed message that does not echo it.
 */
import { status } from '@grpc/grpc-js';
import { RpcError } from './rpc.js';

/** Longest id accepted on the wire. */
export const RPC_ID_MAX_LENGTH = 128;

/** What an id may look like: what merchants enrol with, and what the coordinator makes (`q-…`, `fit-…`). */
export const RPC_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Ids by field, each with the stable error code its refusal carries. */
const ID_CODES = {
  merchant_id: 'MERCHANT_ID_INVALID',
  query_id: 'QUERY_ID_INVALID',
  model_id: 'MODEL_ID_INVALID',
} as const;

export type RpcIdField = keyof typeof ID_CODES;

/** True when `value` is an id the wire accepts. */
export function isRpcId(value: unknown): value is string {
  return typeof value === 'string' && RPC_ID_PATTERN.test(value);
}

/** Throws INVALID_ARGUMENT `<FIELD>_ID_INVALID` unless `value` is a valid id; never quotes `value`. */
export function checkRpcId(value: unknown, field: RpcIdField): string {
  if (!isRpcId(value)) {
    throw new RpcError(status.INVALID_ARGUMENT, ID_CODES[field],
      `${field} must be 1..${RPC_ID_MAX_LENGTH} of A-Z a-z 0-9 . _ - and start with a letter or digit`);
  }
  return value;
}
