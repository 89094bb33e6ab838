/**
 * OpenTelemetry tracing shared by fedmart's processes (coordinator, key
 * holder, merchant node), off by default.
 *
 * {@link startTracing} registers the process's one tracer provider: spans are
 * exported over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; default http://localhost:4318), or
 * printed on stdout with `FEDMART_OTEL_EXPORTER=console`; tests pass an
 * in-memory exporter. The SDK is loaded only then; without it every span
 * below is the API's no-op span.
 *
 * Trace context crosses processes as a W3C `traceparent` entry of gRPC
 * metadata ({@link injectTraceContext}, {@link extractTraceContext}): the
 * coordinator sends it with its Release calls, and the key holder continues
 * the coordinator's trace. Only the trace id, span id and sampled flag
 * travel; `tracestate` and baggage are neither sent nor read.
 *
 * Spans carry ids and stable codes only, never keys, tokens, headers,
 * personal data or error messages (they may quote untrusted input).
 */
import { context, trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ERROR_CODE_METADATA_KEY } from './rpc.js';

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** The gRPC metadata key of the W3C trace context. */
export const TRACEPARENT_METADATA_KEY = 'traceparent';

export interface TracingOptions {
  /** Where spans go (tests: an InMemorySpanExporter). Default: from the environment, see the module comment. */
  readonly exporter?: SpanExporter;
  /** `service.name` of the spans (default: the process's, e.g. `fedmart-coordinator`). */
  readonly serviceName?: string;
}

export interface RunningTracing {
  /** Exports what is pending and unregisters the provider. */
  shutdown(): Promise<void>;
}

let active = false;

/** Whether a tracer provider of {@link startTracing} is registered in this process. */
export function tracingActive(): boolean {
  return active;
}

/**
 * Registers the process's tracer provider (one per process: it is global),
 * exporting to `options.exporter` or as the environment says.
 */
export async function startTracing(serviceName: string, options: TracingOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<RunningTracing> {
  if (active) throw new Error('OpenTelemetry tracing is already started in this process');
  active = true;
  try {
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
      resource: resourceFromAttributes({ 'service.name': options.serviceName ?? serviceName }),
      spanProcessors: [processor],
    });
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(provider);
    return {
      shutdown: async () => {
        if (!active) return;
        active = false;
        await provider.shutdown().catch(() => undefined);
        trace.disable();
        context.disable();
      },
    };
  } catch (err) {
    active = false;
    throw err;
  }
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
 * Runs `fn` in a span named `name` of tracer `tracerName` (a child of the
 * active span unless `root`); an exception is recorded by its code and
 * passed on.
 */
export async function inTracerSpan<T>(tracerName: string, name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, root = false): Promise<T> {
  return trace.getTracer(tracerName).startActiveSpan(name, { attributes, root }, async (span) => {
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

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Adds the active span's W3C `traceparent` to `metadata` (nothing when no
 * span is recording or the context has no valid span).
 */
export function injectTraceContext(metadata: Metadata, ctx: Context = context.active()): Metadata {
  const span = trace.getSpanContext(ctx);
  if (span && trace.isSpanContextValid(span)) {
    const flags = (span.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
    metadata.set(TRACEPARENT_METADATA_KEY, `00-${span.traceId}-${span.spanId}-${flags}`);
  }
  return metadata;
}

/**
 * The context a server span continues: `base` with the caller's span from
 * a well-formed W3C `traceparent` (version 00) in `metadata` as remote
 * parent, else `base` unchanged. Anything malformed is ignored.
 */
export function extractTraceContext(metadata: Metadata | undefined, base: Context = ROOT_CONTEXT): Context {
  const values = metadata?.get(TRACEPARENT_METADATA_KEY) ?? [];
  const value = values.length === 1 ? values[0] : undefined;
  const m = typeof value === 'string' ? TRACEPARENT_RE.exec(value) : null;
  if (!m) return base;
  const spanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  return trace.isSpanContextValid(spanContext) ? trace.setSpanContext(base, spanContext) : base;
}

type UnaryLikeHandler = (call: unknown, callback: (err: ServiceError | null, value?: unknown, trailer?: Metadata, flags?: number) => void) => void;

export interface TraceGrpcOptions {
  /**
   * Continue the caller's trace from its `traceparent` metadata (default
   * false: every call starts a trace). Only for callers trusted to name
   * traces, such as the coordinator calling the key holder over mutual TLS.
   */
  readonly acceptTraceContext?: boolean;
}

/**
 * Wraps every method of a gRPC service implementation whose handlers take
 * `(call, callback)` (unary and client-streaming) in a server span named
 * `<service>/<Method>` of tracer `tracerName`, ended when the callback
 * answers: rpc.* attributes, the gRPC status code and fedmart's stable
 * error code.
 */
export function traceGrpcServiceWith<S extends object>(tracerName: string, serviceName: string, implementation: S, options: TraceGrpcOptions = {}): S {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(implementation)) {
    if (typeof handler !== 'function' || handler.length !== 2) {
      wrapped[method] = handler;
      continue;
    }
    const rpc = method.charAt(0).toUpperCase() + method.slice(1);
    const fn = handler as UnaryLikeHandler;
    wrapped[method] = ((call, callback) => {
      const tracer = trace.getTracer(tracerName);
      const parent = options.acceptTraceContext ? extractTraceContext((call as { metadata?: Metadata }).metadata, context.active()) : context.active();
      const span = tracer.startSpan(`${serviceName}/${rpc}`, {
        kind: SpanKind.SERVER,
        attributes: { 'rpc.system': 'grpc', 'rpc.service': serviceName, 'rpc.method': rpc },
      }, parent);
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
      context.with(trace.setSpan(parent, span), () => fn(call, answer));
    }) satisfies UnaryLikeHandler;
  }
  return wrapped as S;
}
