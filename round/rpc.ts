/**
 * The transport edge of round errors for gRPC: the coordinator's intake and
 * the key holder answer a `RoundError` with the same status and code.
 */
import { status } from '@grpc/grpc-js';
import { RpcError } from '../protos/index.js';
import type { RoundError, RoundFailure } from './errors.js';

const GRPC_STATUS: Readonly<Record<RoundFailure, status>> = {
  invalid: status.INVALID_ARGUMENT,
  unauthenticated: status.UNAUTHENTICATED,
  denied: status.PERMISSION_DENIED,
  precondition: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
};

/** `err` as the gRPC error a peer receives; `context` (already escaped) prefixes the message. */
export function rpcErrorOf(err: RoundError, context?: string): RpcError {
  return new RpcError(GRPC_STATUS[err.failure], err.code, context === undefined ? err.message : `${context}: ${err.message}`);
}
