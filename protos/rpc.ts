/**
 * Helpers every fedmart gRPC endpoint shares: typed failures that map to
 * precise status codes, request decoding that never turns hostile bytes into
 * an INTERNAL error or a crash, and promise-based client calls.
 */
import {
  Metadata,
  status,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type handleClientStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { escapeUntrusted } from './untrusted-text.js';

/** Trailer key that carries the stable fedmart error code beside the gRPC status. */
export const ERROR_CODE_METADATA_KEY = 'fedmart-error-code';

/**
 * A failure meant for the peer: a gRPC status plus a stable, documented code
 * (e.g. `SIGNATURE_INVALID`) and a one-line message that leaks nothing secret.
 */
export class RpcError extends Error {
  constructor(
    readonly status: status,
    readonly code: string,
    message: string,
    /** Extra trailers for the peer, e.g. a retry hint beside RATE_LIMITED. */
    readonly metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Minimal logger shape (pino satisfies it). */
export interface RpcLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const decodeFailure = Symbol('fedmart.decodeFailure');

/** What a hardened deserializer yields for bytes that are not the expected message. */
export interface DecodeFailure {
  readonly [decodeFailure]: string;
}

function isDecodeFailure(value: unknown): value is DecodeFailure {
  return typeof value === 'object' && value !== null && decodeFailure in value;
}

/**
 * True if any string in a decoded message contains U+0000. Protobuf allows
 * it, but PostgreSQL text cannot hold it: such a merchant or query id would
 * fail in the database (INTERNAL) instead of being refused.
 */
function hasNulString(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) return value.some((v) => hasNulString(v, depth + 1));
  for (const v of Object.values(value)) if (hasNulString(v, depth + 1)) return true;
  return false;
}

/**
 * Returns a copy of a generated service definition whose request decoders
 * never throw. grpc-js answers a throwing decoder with INTERNAL; we want
 * INVALID_ARGUMENT, so the failure travels to the handler as a marker value.
 * A message with U+0000 in a string field is refused the same way.
 */
export function hardenService<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          const message: unknown = method.requestDeserialize(bytes);
          return hasNulString(message) ? { [decodeFailure]: 'a string field contains U+0000' } : message;
        } catch (err) {
          return { [decodeFailure]: err instanceof Error ? err.message : 'undecodable message' };
        }
      },
    };
  }
  return out as D;
}

/** Throws INVALID_ARGUMENT if a received message could not be decoded. */
export function assertDecoded<T>(message: T | DecodeFailure): T {
  if (isDecodeFailure(message)) {
    throw new RpcError(status.INVALID_ARGUMENT, 'MALFORMED_MESSAGE', 'message is not a valid protobuf encoding');
  }
  return message;
}

/**
 * A status message grpc-js can send and a peer can show safely: messages
 * quote ids and values peers sent, so control characters (ANSI escapes,
 * newlines) become `\uXXXX` and lone surrogates (which grpc-js's encodeURI
 * would throw on) U+FFFD; and at most 1000 characters in all. Echoes inside
 * a message are cut to 128 characters where they are made (`quoteUntrusted`).
 */
function safeDetails(details: string): string {
  const short = details.length > 1000 ? `${details.slice(0, 1000)}…` : details;
  return escapeUntrusted(short);
}

/** An error that marks itself retryable with a stable code (e.g. the coordinator's DatabaseUnavailableError). */
function isRetryable(err: unknown): err is Error & { code: string } {
  if (!(err instanceof Error)) return false;
  const { retryable, code } = err as Error & { retryable?: unknown; code?: unknown };
  return retryable === true && typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code);
}

/** Converts any thrown value to the status sent to the peer; internals stay in the log. */
export function toServiceStatus(err: unknown, log: RpcLogger, method: string): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof RpcError) {
    metadata.set(ERROR_CODE_METADATA_KEY, err.code);
    for (const [k, v] of Object.entries(err.metadata)) metadata.set(k, safeDetails(v));
    log.warn({ method, status: status[err.status], code: err.code, reason: err.message }, 'request refused');
    return { code: err.status, details: safeDetails(`${err.code}: ${err.message}`), metadata };
  }
  if (isRetryable(err)) {
    // A dependency (the database) cannot take work now: the peer should send again.
    metadata.set(ERROR_CODE_METADATA_KEY, err.code);
    log.warn({ method, code: err.code, reason: err.message }, 'request deferred');
    return { code: status.UNAVAILABLE, details: safeDetails(`${err.code}: ${err.message}`), metadata };
  }
  metadata.set(ERROR_CODE_METADATA_KEY, 'INTERNAL');
  log.error({ method, err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err) }, 'request failed');
  return { code: status.INTERNAL, details: 'INTERNAL: internal error', metadata };
}

function reply<Res>(callback: sendUnaryData<Res>, log: RpcLogger, method: string, work: Promise<Res>): void {
  work.then(
    (value) => callback(null, value),
    (err: unknown) => callback(toServiceStatus(err, log, method) as ServiceError),
  ).catch((err: unknown) => {
    // Sending failed (e.g. a response grpc-js cannot serialise): answer INTERNAL rather than leave an unhandled rejection.
    log.error({ method, err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'sending the answer failed');
    try {
      callback(toServiceStatus(new Error('answer not sendable'), log, method));
    } catch {
      /* the call is gone */
    }
  });
}

/** Wraps an async unary handler: decode failures and throws become precise statuses, never rejections. */
export function unaryHandler<Req, Res>(
  log: RpcLogger,
  method: string,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    reply(callback, log, method, (async () => fn(assertDecoded(call.request as Req | DecodeFailure), call))());
  };
}

/** Wraps an async client-streaming handler the same way. */
export function clientStreamHandler<Req, Res>(
  log: RpcLogger,
  method: string,
  fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    reply(callback, log, method, (async () => fn(call))());
  };
}

/**
 * Reads a client stream message by message, refusing undecodable messages.
 * Iterating the stream applies backpressure, so nothing is buffered beyond
 * what the caller keeps.
 */
export async function* readStream<Req>(call: ServerReadableStream<Req, unknown>): AsyncGenerator<Req> {
  for await (const message of call as AsyncIterable<Req | DecodeFailure>) {
    yield assertDecoded(message);
  }
}

/** The stable fedmart error code of a failed call, if the peer sent one. */
export function errorCodeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'metadata' in err && err.metadata instanceof Metadata) {
    const value = err.metadata.get(ERROR_CODE_METADATA_KEY)[0];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

/** Promise form of a generated unary client method. */
export function callUnary<Req, Res>(
  method: (request: Req, metadata: Metadata, options: { deadline: Date }, callback: (err: ServiceError | null, res?: Res) => void) => unknown,
  request: Req,
  timeoutMs = 30_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
      if (err) reject(err);
      else if (res === undefined) reject(new Error('empty response'));
      else resolve(res);
    });
  });
}
