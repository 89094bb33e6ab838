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
 * The SDK is loaded only when tracing is started; without it the spans
 * above are the API's no-op spans. One tracing setup per process: it
 * registers the global tracer provider and async context manager.
 */
import { context, trace, SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ERROR_CODE_METADATA_KEY } from '../protos/index.js';

export const TRACER_NAME = 'fedmart-coordinator';

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

export interface TracingOptions {
  /** Where spans go (tests: an InMemorySpanExporter). Default: from the environment, see the module comment. */
  readonly exporter?: SpanExporter;
  /** `service.name` of the spans (default `fedmart-coordinator`). */
  readonly serviceName?: string;
}

export interface RunningTracing {
  /** Exports what is pending and unregisters the provider. */
  shutdown(): Promise<void>;
}

let active = false;

/** Registers a tracer provider exporting to `options.exporter` or as the environment says. */
export async function startTracing(options: TracingOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<RunningTracing> {
  if (active) throw new Error('OpenTelemetry tracing is already started in this process');
  const { TracerProvider, BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter } = await import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  let processor;
  if (options.exporter) {
    processor = new SimpleSpanProcessor({ exporter: options.exporter });
  } else if (env.FEDMART_OTEL_EXPORTER === 'console') {
    processor = new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() });
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'fedmart-coordinator' }),
    spanProcessors: [processor],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  active = true;
  return {
    shutdown: async () => {
      if (!active) return;
      active = false;
      await provider.shutdown().catch(() => undefined);
      trace.disable();
      context.disable();
    },
  };
}

/** The stable code of an error: its `code` when it is one (RpcError, HttpProblem, storage errors), else its class name. */
export function errorCodeForSpan(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CODE_RE.test(code)) return code;
  // A gRPC client error: fedmart's code from the trailers, else the status name.
  const metadata = (err as { metadata?: unknown } | null)?.metadata;
  const fedmart = metadata instanceof Metadata ? metadata.get(ERROR_CODE_METADATA_KEY)[0] : undefined;
  if (typeof fedmart === 'string' && CODE_RE.test(fedmart)) return fedmart;
  if (typeof code === 'number' && grpcStatus[code] !== undefined) return grpcStatus[code];
  return err instanceof Error ? err.name.replace(/[^A-Za-z0-9_]/g, '').slice(0, 64) || 'Error' : 'UNKNOWN';
}

/** Marks `span` failed with `code` (never an error message). */
export function failSpan(span: Span, code: string): void {
  span.setAttribute('fedmart.error.code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/**
 * Runs `fn` in a span named `name` (a child of the active span unless
 * `root`); an exception is recorded by its code and passed on.
 */
export async function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, root = false): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes, root }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, errorCodeForSpan(err));
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Sets attributes on the active span, if any (no-op without tracing). */
export function annotateActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

type UnaryLikeHandler = (call: unknown, callback: (err: ServiceError | null, value?: unknown, trailer?: Metadata, flags?: number) => void) => void;

/**
 * Wraps every method of a gRPC service implementation whose handlers take
 * `(call, callback)` (unary and client-streaming) in a server span named
 * `<service>/<Method>`, ended when the callback answers.
 */
export function traceGrpcService<S extends object>(serviceName: string, implementation: S): S {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(implementation)) {
    if (typeof handler !== 'function' || handler.length !== 2) {
      wrapped[method] = handler;
      continue;
    }
    const rpc = method.charAt(0).toUpperCase() + method.slice(1);
    const fn = handler as UnaryLikeHandler;
    wrapped[method] = ((call, callback) => {
      const tracer = trace.getTracer(TRACER_NAME);
      const span = tracer.startSpan(`${serviceName}/${rpc}`, {
        kind: SpanKind.SERVER,
        attributes: { 'rpc.system': 'grpc', 'rpc.service': serviceName, 'rpc.method': rpc },
      });
      const answer: typeof callback = (err, ...rest) => {
        const code = err ? (err.code ?? grpcStatus.UNKNOWN) : grpcStatus.OK;
        span.setAttribute('rpc.grpc.status_code', code);
        if (err) {
          const metadata = err.metadata instanceof Metadata ? err.metadata.get(ERROR_CODE_METADATA_KEY)[0] : undefined;
          failSpan(span, typeof metadata === 'string' && CODE_RE.test(metadata) ? metadata : grpcStatus[code] ?? 'UNKNOWN');
        }
        span.end();
        callback(err, ...rest);
      };
      context.with(trace.setSpan(context.active(), span), () => fn(call, answer));
    }) satisfies UnaryLikeHandler;
  }
  return wrapped as S;
}
