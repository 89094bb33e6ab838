/**
 * OpenTelemetry tracing of a merchant node, off by default.
 *
 * `fedmart merchant` turns it on with `FEDMART_OTEL=1`
 * ({@link startMerchantTracing}); export as for the coordinator
 * (protos/tracing.ts). Spans, all under the tracer `fedmart-merchant`:
 *
 * - `fedmart.merchant.answer`, a root span per query answered: the query id
 *   and kind, the outcome (`submitted`, `declined`, `refused`,
 *   `already-answered`) and a refusal's or declination's stable code;
 *   with the children
 * - `fedmart.merchant.compute`: the local statistic from the shop's rows
 *   (consent, purpose checks, slot encoding);
 * - `fedmart.merchant.encrypt`: encrypting the slots, with the number of
 *   ciphertexts and how many came from the Enc(0) pool;
 * - `fedmart.merchant.send`: the SubmitContribution call (client kind) with
 *   the bytes sent and the gRPC status code.
 *
 * What spans never carry: customer ids or any row, the statistic, slots,
 * ciphertexts, keys, signatures, enrolment tokens, the merchant id, the
 * query's specification, or error messages. The shop's trace is its own: no
 * trace context is sent to the coordinator, which starts its own traces for
 * calls from shops.
 */
import { trace, SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { errorCodeForSpan, failSpan, inTracerSpan, startTracing, type RunningTracing, type TracingOptions } from '../protos/tracing.js';

export type { TracingOptions as MerchantTracingOptions, RunningTracing } from '../protos/tracing.js';

export const MERCHANT_TRACER_NAME = 'fedmart-merchant';

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Registers the process's tracer provider with `service.name` fedmart-merchant (unless `options.serviceName`). */
export function startMerchantTracing(options: TracingOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<RunningTracing> {
  return startTracing('fedmart-merchant', options, env);
}

/** Runs async `fn` in a merchant-node span (a child of the active span unless `root`); a throw is recorded by its code and passed on. */
export function merchantSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, root = false): Promise<T> {
  return inTracerSpan(MERCHANT_TRACER_NAME, name, attributes, fn, root);
}

/** As {@link merchantSpan} for a synchronous step. */
export function merchantStep<T>(name: string, fn: () => T): T {
  return trace.getTracer(MERCHANT_TRACER_NAME).startActiveSpan(name, (span) => {
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

/** The client span of one SubmitContribution call: the gRPC status code, and on failure its stable code. */
export function sendSpan<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
  return trace.getTracer(MERCHANT_TRACER_NAME).startActiveSpan('fedmart.merchant.send', {
    kind: SpanKind.CLIENT,
    attributes: { 'rpc.system': 'grpc', 'rpc.service': 'fedmart.v1.MerchantService', 'rpc.method': 'SubmitContribution', 'fedmart.bytes': bytes },
  }, async (span) => {
    try {
      const value = await fn();
      span.setAttribute('rpc.grpc.status_code', 0);
      return value;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'number') span.setAttribute('rpc.grpc.status_code', code);
      failSpan(span, errorCodeForSpan(err));
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Records an answer's outcome on `span`; a code is kept only when it is a stable code (a coordinator's text is not). */
export function recordAnswer(span: Span, outcome: { readonly outcome: string; readonly code?: string }): void {
  span.setAttribute('fedmart.answer.outcome', outcome.outcome);
  if (outcome.code !== undefined) span.setAttribute('fedmart.error.code', CODE_RE.test(outcome.code) ? outcome.code : 'OTHER');
}
