/**
 * OpenTelemetry tracing of the coordinator, off by default.
 *
 * `fedmart coordinator` turns it on with `FEDMART_OTEL=1` (the `tracing`
 * option of `startCoordinator`): spans are then exported over OTLP/HTTP to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`;
 * default http://localhost:4318), or printed on stdout with
 * `FEDMART_OTEL_EXPORTER=console`. Tests pass an in-memory exporter.
 *
 * Spans (all under the tracer `fedmart-coordinator`):
 *
 * - `HTTP <METHOD> <route pattern>` for every HTTP request (server kind):
 *   method, the route's pattern (`/v1/queries/:id`, never the URL itself),
 *   status code.
 * - `fedmart.v1.MerchantService/<Method>` for every gRPC call (server kind):
 *   the gRPC status code and fedmart's stable error code.
 * - `fedmart.round.finish` for each round this coordinator finishes (a root
 *   span): query id, kind, purpose, contributions, outcome (`released`,
 *   `failed`, `retry`) and error code; with the children
 *   `fedmart.round.keyholder-release` (the Release call to the key holder)
 *   and `fedmart.round.store-release` (storing the release and its audit
 *   entries).
 *
 * What spans never carry: merchant or user ids, tokens, headers, request
 * URLs or bodies, query specifications, error messages (they may quote
 * untrusted ids); errors are recorded by their stable code only.
 *
 * The key holder's Release calls carry the round's trace context (W3C
 * `traceparent` in the gRPC metadata, see keyholder-client.ts), so the key
 * holder's spans join the round's trace. Calls from merchants start their
 * own traces here: a shop's `traceparent` is not followed.
 *
 * The SDK is loaded only when tracing is started; without it the spans
 * above are the API's no-op spans. One tracing setup per process: it
 * registers the global tracer provider and async context manager (the
 * shared part is protos/tracing.ts).
 */
import { trace, type Attributes, type Span } from '@opentelemetry/api';
import {
  startTracing as startProcessTracing,
  inTracerSpan,
  traceGrpcServiceWith,
  type RunningTracing,
  type TracingOptions,
} from '../protos/tracing.js';

export { errorCodeForSpan, failSpan, type RunningTracing, type TracingOptions } from '../protos/tracing.js';

export const TRACER_NAME = 'fedmart-coordinator';

/** Registers a tracer provider exporting to `options.exporter` or as the environment says (`service.name` fedmart-coordinator by default). */
export async function startTracing(options: TracingOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<RunningTracing> {
  return startProcessTracing('fedmart-coordinator', options, env);
}

/**
 * Runs `fn` in a span named `name` (a child of the active span unless
 * `root`); an exception is recorded by its code and passed on.
 */
export async function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, root = false): Promise<T> {
  return inTracerSpan(TRACER_NAME, name, attributes, fn, root);
}

/** Sets attributes on the active span, if any (no-op without tracing). */
export function annotateActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Wraps every method of a gRPC service implementation whose handlers take
 * `(call, callback)` (unary and client-streaming) in a server span named
 * `<service>/<Method>`, ended when the callback answers. The caller's trace
 * context is not followed (merchants are other organisations).
 */
export function traceGrpcService<S extends object>(serviceName: string, implementation: S): S {
  return traceGrpcServiceWith(TRACER_NAME, serviceName, implementation);
}
