/**
 * OpenTelemetry tracing of the key holder, off by default.
 *
 * `fedmart keyholder` turns it on with `FEDMART_OTEL=1` (the `tracing`
 * option of `startKeyHolder`); export as for the coordinator
 * (protos/tracing.ts). Spans, all under the tracer `fedmart-keyholder`:
 *
 * - `fedmart.v1.KeyHolderService/<Method>` for every gRPC call (server
 *   kind): rpc.* attributes, the gRPC status code and fedmart's stable
 *   error code; for Release also the query id and kind and the number of
 *   contributions. A Release call whose metadata carries the coordinator's
 *   W3C `traceparent` continues the coordinator's trace: its parent is the
 *   coordinator's `fedmart.round.keyholder-release` span.
 * - `fedmart.keyholder.release`, a child of the call: one release as the
 *   key holder runs it (after waiting its turn, releases run one at a time),
 *   with the children `fedmart.keyholder.verify` (request, contributions,
 *   admission and earlier releases), `fedmart.keyholder.aggregate` (re-adding
 *   the ciphertexts and comparing with the coordinator's sum),
 *   `fedmart.keyholder.decrypt` (the SEAL worker's decryption and the bounds
 *   check of the totals) and `fedmart.keyholder.disclose` (disclosure
 *   control, the signature and storing the release).
 *
 * What spans never carry: keys, signatures, ciphertexts, digests, merchant
 * ids, specifications, totals, or error messages; a refusal is recorded by
 * its stable code (`TOO_FEW_MERCHANTS`, `AGGREGATE_MISMATCH`, …).
 */
import { trace, type Attributes, type Span } from '@opentelemetry/api';
import { errorCodeForSpan, failSpan, inTracerSpan, startTracing, traceGrpcServiceWith, type RunningTracing, type TracingOptions } from '../protos/tracing.js';

export type { TracingOptions as KeyHolderTracingOptions } from '../protos/tracing.js';

export const KEYHOLDER_TRACER_NAME = 'fedmart-keyholder';

/** Registers the process's tracer provider with `service.name` fedmart-keyholder (unless `options.serviceName`). */
export function startKeyHolderTracing(options: TracingOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<RunningTracing> {
  return startTracing('fedmart-keyholder', options, env);
}

/** Runs async `fn` in a key-holder span (a child of the active span); a throw is recorded by its code and passed on. */
export function keyHolderSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return inTracerSpan(KEYHOLDER_TRACER_NAME, name, attributes, fn);
}

/** As {@link keyHolderSpan} for a synchronous step. */
export function keyHolderStep<T>(name: string, fn: () => T): T {
  return trace.getTracer(KEYHOLDER_TRACER_NAME).startActiveSpan(name, (span) => {
    try {
      return fn();
    } catch (err) {
      failSpan(span, errorCodeForSpan(err));
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Sets attributes on the active span, if any (no-op without tracing). */
export function annotateKeyHolderSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** Server spans for the key holder's gRPC service, continuing the coordinator's trace context. */
export function traceKeyHolderService<S extends object>(serviceName: string, implementation: S): S {
  return traceGrpcServiceWith(KEYHOLDER_TRACER_NAME, serviceName, implementation, { acceptTraceContext: true });
}
