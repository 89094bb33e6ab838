/**
 * Fuzz targets of the parsers that read untrusted input. The property: the
 * input is accepted, or refused with the module's typed error (or, for
 * argument checks, the documented TypeError/RangeError naming the argument);
 * never a TypeError from inside, never a crash.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CiphertextFormatError,
  blake2b256,
  envelopeDigest,
  randomBytes,
  validateEnvelope,
  validatePackedCiphertext,
  type ContributionEnvelope,
} from '../../crypto/index.js';
import {
  AttestationError,
  ConsentLedger,
  ConsentLedgerError,
  ConsentRecordError,
  parseAttestation,
  parseConsentRecord,
  zeroReasonCounts,
} from '../../compliance/index.js';
import { verifyAuditBundle } from '../../compliance/audit-bundle-verify.js';
import { CsvParser, ConsentSourceError, ShopDataError, parseCsv, readConsentRecords } from '../../client-sdk/index.js';
import { parseShopSchema, readBoolean, readDecimalCents, readInteger, readPeriod, readString, readTimestamp, standardShopSchema } from '../../client-sdk/schema.js';
import { hostileBytes, hostileString, mutatedBytes, mutatedJson, oversized, violation, type FuzzTarget } from './common.js';

/** The name of a thrown value's class, or a violation when it is not one of `allowed`. */
function refusedWith(err: unknown, allowed: readonly (new (...a: any[]) => Error)[], label: (e: any) => string): string {
  for (const cls of allowed) if (err instanceof cls) return label(err);
  return violation(`unexpected ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
}

/** An argument-check error of the crypto module: TypeError/RangeError whose message names the argument. */
function argumentError(err: unknown, prefix: string): string {
  if ((err instanceof TypeError || err instanceof RangeError) && err.message.startsWith(prefix)) return `${err.name}(argument)`;
  return violation(`unexpected ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
}

/** Wrong JS types in place of bytes. */
const wrongTypes = fc.oneof(fc.anything(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer()), fc.string(), fc.constant(new Uint16Array(8)), fc.constant(new ArrayBuffer(8)));

export const packedCiphertextTarget: FuzzTarget = {
  name: 'parser.packed-ciphertext',
  async prepare(env) {
    const ctx = await env.ctx();
    const seed = await env.packedCiphertext();
    validatePackedCiphertext(ctx, seed);
    const arbitrary = fc.oneof(
      { arbitrary: mutatedBytes([seed]), weight: 8 },
      { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 1 },
      { arbitrary: fc.uint8Array({ minLength: seed.length, maxLength: seed.length }), weight: 1 },
      { arbitrary: oversized(seed.length + 1, seed.length * 3), weight: 1 },
      { arbitrary: wrongTypes, weight: 1 },
    );
    return {
      arbitrary,
      run: async (input: unknown) => {
        try {
          validatePackedCiphertext(ctx, input as Uint8Array);
          return 'OK';
        } catch (err) {
          if (err instanceof CiphertextFormatError) return err.code;
          return argumentError(err, 'packed');
        }
      },
    };
  },
};

function validEnvelope(): ContributionEnvelope {
  return {
    queryId: 'q-0001', merchantId: 'shop-01', specDigest: randomBytes(32), keyId: randomBytes(32), paramSet: 'bfv-8192-t40',
    layoutDigest: randomBytes(32), ciphertextDigests: [randomBytes(32), randomBytes(32)], ciphertextLengths: [122993, 122993],
    createdUnixMs: 1_750_000_000_000n, nonce: randomBytes(32), attestationDigest: blake2b256(Uint8Array.of(1)),
  };
}

const envelopeFieldValue = fc.oneof(
  fc.anything(),
  fc.uint8Array({ maxLength: 80 }),
  hostileString,
  fc.bigInt(),
  fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 4 }),
  fc.array(fc.oneof(fc.integer(), fc.double()), { maxLength: 4 }),
  fc.constant(undefined),
);

export const envelopeTarget: FuzzTarget = {
  name: 'parser.envelope',
  async prepare(env) {
    await env.ctx();
    const seed = validEnvelope();
    validateEnvelope(seed);
    const keys = Object.keys(seed) as (keyof ContributionEnvelope)[];
    const arbitrary = fc.oneof(
      { arbitrary: fc.array(fc.tuple(fc.constantFrom(...keys), envelopeFieldValue), { minLength: 1, maxLength: 3 }).map((edits) => {
        const env: Record<string, unknown> = { ...seed };
        for (const [k, v] of edits) env[k] = v;
        return env;
      }), weight: 6 },
      { arbitrary: fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...keys)).map(([a, b]) => ({ ...seed, [a]: seed[b], [b]: seed[a] })), weight: 2 },
      { arbitrary: wrongTypes, weight: 1 },
    );
    return {
      arbitrary,
      run: async (input: unknown) => {
        try {
          validateEnvelope(input as ContributionEnvelope);
        } catch (err) {
          return argumentError(err, 'env');
        }
        // Accepted: the digest must then be computable too.
        try {
          envelopeDigest(input as ContributionEnvelope);
        } catch (err) {
          violation(`validateEnvelope accepted what envelopeDigest refuses: ${(err as Error).message}`);
        }
        return 'OK';
      },
    };
  },
};

export const ATTESTATION_SEED = {
  version: 2, queryId: 'q-0001', merchantId: 'shop-01', purpose: 'marketing-analytics', cutoff: '2026-01-01T00:00:00.000Z',
  noticeVersions: ['notice-a@v1', 'notice-b@v2'], subjectsIncluded: 5, excludedByReason: zeroReasonCounts(), recordsUsed: 5, consentRoot: 'ab'.repeat(32),
  terms: {
    purpose: 'marketing-analytics',
    declared: { mode: 'exact', minSubjects: null, minMerchants: null, dominance: null, maxSaturation: null, dp: null },
    minSubjects: 2,
  },
  rowSet: {
    powers: 6,
    members: ['0000000000000005', '00000000000000ff', '1ffffffffffffffe', '0000000000000000', '0123456789abcdef', '0000000000000001'],
    fields: { 'order.amount': ['0000000000000001', '0000000000000002', '0000000000000003', '0000000000000004', '0000000000000005', '0000000000000006'] },
    shop: {},
  },
};

export const attestationTarget: FuzzTarget = {
  name: 'parser.attestation',
  async prepare() {
    parseAttestation(ATTESTATION_SEED);
    const seedBytes = Buffer.from(JSON.stringify(ATTESTATION_SEED));
    const arbitrary = fc.oneof(
      { arbitrary: mutatedJson(ATTESTATION_SEED).map((value) => ({ json: value })), weight: 6 },
      { arbitrary: fc.anything().map((value) => ({ json: value })), weight: 1 },
      // As the coordinator reads it: bytes, UTF-8, JSON.parse, then the schema.
      { arbitrary: mutatedBytes([seedBytes]).map((bytes) => ({ bytes })), weight: 3 },
    );
    return {
      arbitrary,
      run: async (input: { json?: unknown; bytes?: Uint8Array }) => {
        let json = input.json;
        if (input.bytes) {
          try {
            json = JSON.parse(Buffer.from(input.bytes).toString('utf8'));
          } catch (err) {
            if (err instanceof SyntaxError) return 'SyntaxError(JSON)';
            throw err;
          }
        }
        try {
          parseAttestation(json);
          return 'OK';
        } catch (err) {
          return refusedWith(err, [AttestationError], (e: AttestationError) => e.code);
        }
      },
    };
  },
};

export const CONSENT_RECORD_SEED = {
  recordId: 'rec-0001', subjectPseudonym: 'ab'.repeat(32), controller: 'Shop One Ltd',
  notice: { id: 'notice-a', version: 'v1', hash: 'cd'.repeat(32) },
  purposes: [
    { purpose: 'marketing-analytics', legalBasis: 'consent', dataCategories: ['orders'], sensitive: false, recipients: ['fedmart'], retentionDays: 365 },
    { purpose: 'personalised-offers', legalBasis: 'separate-consent', dataCategories: ['orders', 'age'], sensitive: true, recipients: ['fedmart'], retentionDays: 30 },
  ],
  channel: 'app', explicit: true, separateConsent: true, personalisedMarketingOptOut: false,
  events: [
    { type: 'given', at: '2025-01-01T00:00:00Z', actor: 'subject' },
    { type: 'withdrawn', at: '2025-06-01T00:00:00Z', actor: 'subject', purposes: ['personalised-offers'] },
  ],
  expiresAt: '2027-01-01T00:00:00Z',
};

export const consentImportTarget: FuzzTarget = {
  name: 'parser.consent-import',
  async prepare() {
    parseConsentRecord(CONSENT_RECORD_SEED);
    const dir = mkdtempSync(join(tmpdir(), 'fedmart-fuzz-consent-'));
    const file = join(dir, 'consents.jsonl');
    const line = Buffer.from(JSON.stringify({ customerId: 'c-1', ...CONSENT_RECORD_SEED }) + '\n');
    let n = 0;
    const arbitrary = fc.oneof(
      { arbitrary: mutatedJson(CONSENT_RECORD_SEED).map((record) => ({ kind: 'record' as const, record })), weight: 5 },
      { arbitrary: fc.anything().map((record) => ({ kind: 'record' as const, record })), weight: 1 },
      // A consents.jsonl file: the seed line twice, mutated as bytes (invalid UTF-8, broken JSON, lines).
      { arbitrary: mutatedBytes([Buffer.concat([line, line])]).map((bytes) => ({ kind: 'file' as const, bytes })), weight: 3 },
    );
    return {
      arbitrary,
      run: async (input: { kind: 'record'; record: unknown } | { kind: 'file'; bytes: Uint8Array }) => {
        if (input.kind === 'record') {
          try {
            new ConsentLedger().add(`c-${n++}`, input.record as never);
            return 'OK';
          } catch (err) {
            if (err instanceof TypeError && err.message.startsWith('record:')) return 'TypeError(argument)';
            return refusedWith(err, [ConsentRecordError, ConsentLedgerError], (e: { code: string }) => e.code);
          }
        }
        writeFileSync(file, input.bytes);
        try {
          const records = await readConsentRecords(file);
          new ConsentLedger(records.map((r) => [r.customerId, r.record] as const));
          return 'OK';
        } catch (err) {
          return refusedWith(err, [ConsentSourceError, ConsentLedgerError], (e: { code: string }) => `file:${e.code}`);
        }
      },
      after: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

const CSV_SEED = 'customer_id,signup_at,city,"note, with comma"\r\nc-1,2025-01-01T00:00:00Z,北京,"say ""hi"""\r\nc-2,1735689600,上海,\r\n';

export const csvTarget: FuzzTarget = {
  name: 'parser.csv-schema',
  async prepare() {
    parseCsv(CSV_SEED);
    const schemaSeed = JSON.parse(JSON.stringify(standardShopSchema())) as unknown;
    parseShopSchema(schemaSeed);
    const csvBytes = Buffer.from(CSV_SEED);
    const arbitrary = fc.oneof(
      { arbitrary: mutatedBytes([csvBytes]).map((b) => ({ kind: 'csv' as const, text: Buffer.from(b).toString('utf8'), cut: 0 })), weight: 4 },
      { arbitrary: fc.tuple(fc.string({ unit: 'binary', maxLength: 300 }), fc.nat(300)).map(([text, cut]) => ({ kind: 'csv' as const, text, cut })), weight: 2 },
      { arbitrary: mutatedJson(schemaSeed).map((json) => ({ kind: 'schema' as const, json })), weight: 4 },
      { arbitrary: hostileString.map((cell) => ({ kind: 'cell' as const, cell })), weight: 2 },
    );
    return {
      arbitrary,
      run: async (input: { kind: 'csv'; text: string; cut: number } | { kind: 'schema'; json: unknown } | { kind: 'cell'; cell: string }) => {
        try {
          if (input.kind === 'csv') {
            if (input.cut > 0) {
              // Incremental: the same text in two pieces must parse the same way.
              const p = new CsvParser({ maxFieldLength: 1000 });
              const a = [...p.push(input.text.slice(0, input.cut)), ...p.push(input.text.slice(input.cut)), ...p.end()];
              const b = parseCsv(input.text, { maxFieldLength: 1000 });
              if (JSON.stringify(a) !== JSON.stringify(b)) violation('pieces parse differently from the whole');
            } else parseCsv(input.text, { maxFieldLength: 1000 });
          } else if (input.kind === 'schema') parseShopSchema(input.json);
          else {
            // Cell readers answer a CellResult and never throw.
            readString(input.cell, { maxLength: 64 });
            readInteger(input.cell, { min: 0, max: 1000 });
            readDecimalCents(input.cell, { scale: 2 });
            readBoolean(input.cell, {});
            readTimestamp(input.cell, { format: 'iso8601' });
            readTimestamp(input.cell, { format: 'unix-seconds' });
            readPeriod(input.cell);
          }
          return `${input.kind}:OK`;
        } catch (err) {
          if (err instanceof PropertyViolationLike) throw err;
          return refusedWith(err, [ShopDataError], (e: ShopDataError) => `${input.kind}:${e.code}`);
        }
      },
    };
  },
};

/** Identity check for rethrowing violations from inside a try. */
const PropertyViolationLike = class {
  static [Symbol.hasInstance](v: unknown): boolean {
    return v instanceof Error && v.name === 'PropertyViolation';
  }
};

export const auditBundleTarget: FuzzTarget = {
  name: 'parser.audit-bundle',
  async prepare(env) {
    const fx = await env.http();
    const res = await fx.call(fx.users.compliance.token, 'POST', '/v1/audit/exports', { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
    if (res.status !== 200) throw new Error(`audit export: ${res.status}`);
    const seed = res.body as unknown;
    const first = verifyAuditBundle(seed);
    if (!first.ok) throw new Error(`the seed bundle does not verify: ${first.reason}`);
    const seedBytes = Buffer.from(JSON.stringify(seed));
    const arbitrary = fc.oneof(
      { arbitrary: mutatedJson(seed).map((json) => ({ json })), weight: 7 },
      { arbitrary: fc.anything().map((json) => ({ json })), weight: 1 },
      { arbitrary: hostileBytes([seedBytes]).map((bytes) => ({ bytes })), weight: 2 },
    );
    return {
      arbitrary,
      run: async (input: { json?: unknown; bytes?: Uint8Array }) => {
        let json = input.json;
        if (input.bytes) {
          try {
            json = JSON.parse(Buffer.from(input.bytes).toString('utf8'));
          } catch {
            return 'SyntaxError(JSON)';
          }
        }
        let out: ReturnType<typeof verifyAuditBundle>;
        try {
          out = verifyAuditBundle(json);
        } catch (err) {
          return violation(`verifyAuditBundle threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        }
        if (out.ok) return 'OK';
        // The verifier turns anything unforeseen into 'unexpected: ...': that is an internal error.
        if (out.reason.startsWith('unexpected:')) violation(`internal error at ${out.firstBroken}: ${out.reason}`);
        return `broken:${out.firstBroken.replace(/\[\d+\]/g, '[]').split('.').slice(0, 2).join('.')}`;
      },
    };
  },
};

export const PARSER_TARGETS: readonly FuzzTarget[] = [packedCiphertextTarget, envelopeTarget, attestationTarget, consentImportTarget, csvTarget, auditBundleTarget];
