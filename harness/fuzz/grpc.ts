/**
 * Fuzz targets of every gRPC method of the coordinator (MerchantService) and
 * the key holder (KeyHolderService). The methods are enumerated from the
 * service definitions, so a new method is fuzzed with random bytes and wrong
 * wire types even before it has seeds of its own.
 *
 * The property of each call: accepted, or refused with a status other than
 * INTERNAL/UNKNOWN and a stable `fedmart-error-code` trailer (the one
 * exception is grpc-js's own RESOURCE_EXHAUSTED for a message above the
 * server's maximum, which it refuses before our code runs); a refused call
 * changes no state (table counts, merchant keys, audit entries other than
 * refusals, key holder decryptions); the server keeps answering.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { Client, Metadata, credentials, status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import {
  blake2b256,
  enrolmentDigest,
  enrolmentEvidence,
  keyEvidenceUpTo,
  rotateKeyEvidence,
  generateSigningKeyPair,
  randomBytes,
  signDigest,
  signEnvelope,
  sumPackedContributions,
  SlotLayout,
  type SigningKeyPair,
} from '../../crypto/index.js';
import {
  ContributionChunk,
  EnrollRequest,
  GetModelRequest,
  KeyHolderServiceService,
  ListOpenQueriesRequest,
  MerchantServiceService,
  ReleasePart,
  ReportRightsEventsRequest,
  ERROR_CODE_METADATA_KEY,
  ReleaseHeader,
  envelopeOf,
  releaseRequestDigest,
  keyEvidenceToWire,
  keyRotationToWire,
  RotateKeyRequest,
  type MerchantKeyEvidence,
  rightsReportDigest,
  modelRequestDigest,
  type ContributionHeader,
} from '../../protos/index.js';
import { loadOrCreateSigningKey } from '../../client-sdk/index.js';
import { getQueryDefinition } from '../../analytics/index.js';
import { evidenceFor } from '../../coordinator/round-closer.js';
import type { StoredContribution } from '../../coordinator/store.js';
import { hostileBytes, hostileString, mutatedBytes, mutatedJson, violation, wireGarbage, type FuzzTarget, type PreparedTarget } from './common.js';
import type { FuzzCluster } from './env.js';
import { testEnrolmentToken } from '../identity.js';

const identity = (b: Buffer) => b;

interface RawOutcome {
  readonly ok: boolean;
  readonly status?: number;
  readonly code?: string;
  readonly details?: string;
}

function outcomeOf(err: ServiceError | null): RawOutcome {
  if (!err) return { ok: true };
  const code = err.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  return { ok: false, status: err.code, code: typeof code === 'string' ? code : undefined, details: err.details };
}

function unaryRaw(client: Client, path: string, bytes: Uint8Array, timeoutMs = 20_000): Promise<RawOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(path, identity, identity, Buffer.from(bytes), new Metadata(), { deadline: new Date(Date.now() + timeoutMs) },
      (err) => resolve(outcomeOf(err)));
  });
}

function streamRaw(client: Client, path: string, messages: readonly Uint8Array[], timeoutMs = 20_000): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest<Buffer, Buffer>(path, identity, identity, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) },
      (err) => resolve(outcomeOf(err)));
    call.on('error', () => undefined);
    for (const m of messages) call.write(Buffer.from(m));
    call.end();
  });
}

/** The outcome label, or a violation when the refusal is imprecise. */
export function judge(o: RawOutcome): string {
  if (o.ok) return 'OK';
  const name = status[o.status ?? -1] ?? String(o.status);
  if (o.status === status.INTERNAL || o.status === status.UNKNOWN) violation(`${name}: ${o.details}`);
  if (o.code) return `${name}:${o.code}`;
  if (o.status === status.RESOURCE_EXHAUSTED && /larger than max/.test(o.details ?? '')) return `${name}:(grpc max message)`;
  return violation(`${name} without a ${ERROR_CODE_METADATA_KEY} trailer: ${o.details}`);
}

/** Runs `call`, judges its outcome and checks that a refusal changed nothing. */
async function checked(c: Pick<FuzzCluster, 'fingerprint' | 'changedSince'>, call: () => Promise<RawOutcome>): Promise<string> {
  const before = await c.fingerprint();
  const label = judge(await call());
  if (label !== 'OK') {
    const change = await c.changedSince(before);
    if (change !== null) violation(`refused (${label}) but state changed: ${change}`);
  }
  return label;
}

const UNARY_OVERSIZE: [number, number] = [1024 * 1024 - 64, 1024 * 1024 + 4096];

function encodeChunk(c: ContributionChunk): Uint8Array {
  return ContributionChunk.encode(c).finish();
}

const seedCache = new WeakMap<FuzzCluster, Promise<Record<string, Uint8Array[]>>>();

/** Seeds of the coordinator's unary methods, by method name (made once per cluster); others get the empty message. */
function merchantSeeds(c: FuzzCluster): Promise<Record<string, Uint8Array[]>> {
  let seeds = seedCache.get(c);
  if (!seeds) {
    seeds = makeMerchantSeeds(c);
    seedCache.set(c, seeds);
  }
  return seeds;
}

async function makeMerchantSeeds(c: FuzzCluster): Promise<Record<string, Uint8Array[]>> {
  const key: SigningKeyPair = generateSigningKeyPair();
  // With key evidence from a one-time token of the test authority, so mutations reach the checks behind it.
  const evidence = enrolmentEvidence(await testEnrolmentToken('fuzz-enrol'), 'fuzz-enrol', key.publicKey);
  const enrol = EnrollRequest.fromPartial({
    merchantId: 'fuzz-enrol', signingPublicKey: Buffer.from(key.publicKey),
    proofOfPossession: Buffer.from(signDigest(enrolmentDigest('fuzz-enrol', key.publicKey), key.secretKey)),
    keyEvidence: keyEvidenceToWire(keyEvidenceUpTo(evidence, 0)),
  });
  const m = c.merchants[0]!;
  const mkey = loadOrCreateSigningKey(join(m.stateDir, 'signing.seed'));
  const report = { merchantId: m.merchantId, events: [{ type: 'access', handledUnixMs: BigInt(Date.now() - 60_000) }], createdUnixMs: BigInt(Date.now()), nonce: Buffer.from(randomBytes(32)) };
  const signed = ReportRightsEventsRequest.fromPartial({ ...report, signature: Buffer.from(signDigest(rightsReportDigest(report), mkey.secretKey)) });
  // A model request signed by an enrolled merchant, so mutations reach the checks behind the signature.
  const modelRequest = { modelId: 'fit-0000', merchantId: m.merchantId, createdUnixMs: BigInt(Date.now()), nonce: Buffer.from(randomBytes(16)) };
  // The merchant fuzz-enrol rotating to a new key (valid once it is enrolled).
  const { rotation } = rotateKeyEvidence(evidence, key.secretKey, generateSigningKeyPair());
  const rotate = RotateKeyRequest.fromPartial({ merchantId: 'fuzz-enrol', rotation: keyRotationToWire(rotation) });
  return {
    enroll: [EnrollRequest.encode(enrol).finish()],
    rotateKey: [RotateKeyRequest.encode(rotate).finish()],
    listOpenQueries: [ListOpenQueriesRequest.encode({ merchantId: m.merchantId }).finish()],
    reportRightsEvents: [ReportRightsEventsRequest.encode(signed).finish()],
    getModel: [GetModelRequest.encode({ ...modelRequest, signature: Buffer.from(signDigest(modelRequestDigest(modelRequest), mkey.secretKey)) }).finish()],
  };
}

function unaryTarget(service: 'merchant' | 'keyholder', method: string, path: string): FuzzTarget {
  return {
    name: `grpc.${service === 'merchant' ? 'MerchantService' : 'KeyHolderService'}.${method}`,
    async prepare(env) {
      const c = await env.cluster();
      const address = service === 'merchant' ? c.coordinator.grpcAddress : c.keyholder.address;
      const client = new Client(address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
      const key = method.charAt(0).toLowerCase() + method.slice(1);
      const all = service === 'merchant' ? await merchantSeeds(c) : {};
      const seeds = all[key] ?? [new Uint8Array()];
      // RotateKey's seed is for fuzz-enrol, which must be enrolled first.
      if (key === 'rotateKey' && all.enroll) await unaryRaw(client, '/fedmart.v1.MerchantService/Enroll', all.enroll[0]!);
      const prepared: PreparedTarget<Uint8Array> = {
        arbitrary: fc.oneof({ arbitrary: hostileBytes(seeds, { oversize: UNARY_OVERSIZE }), weight: 12 }, { arbitrary: fc.constantFrom(...seeds), weight: 1 }),
        run: (bytes) => checked(c, () => unaryRaw(client, path, bytes)),
        after: async () => {
          const alive = judge(await unaryRaw(client, service === 'merchant' ? '/fedmart.v1.MerchantService/GetPublicKey' : '/fedmart.v1.KeyHolderService/GetPublicKey', new Uint8Array()));
          client.close();
          if (alive !== 'OK') throw new Error(`the server no longer answers GetPublicKey: ${alive}`);
        },
      };
      return prepared;
    },
  };
}

// ---------------------------------------------------------------------------
// SubmitContribution

const headerFieldValues: Record<keyof ContributionHeader, fc.Arbitrary<unknown>> = {
  queryId: hostileString,
  merchantId: hostileString,
  specDigest: fc.uint8Array({ maxLength: 40 }).map(Buffer.from),
  keyId: fc.uint8Array({ maxLength: 40 }).map(Buffer.from),
  paramSet: hostileString,
  layoutDigest: fc.uint8Array({ maxLength: 40 }).map(Buffer.from),
  ciphertextDigests: fc.array(fc.uint8Array({ maxLength: 40 }).map(Buffer.from), { maxLength: 5 }),
  ciphertextLengths: fc.array(fc.oneof(fc.nat(200_000), fc.constant(0xffffffff), fc.constant(122_993)), { maxLength: 5 }),
  createdUnixMs: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  nonce: fc.uint8Array({ maxLength: 100 }).map(Buffer.from),
  signature: fc.uint8Array({ maxLength: 80 }).map(Buffer.from),
  consentAttestation: fc.uint8Array({ maxLength: 300 }).map(Buffer.from),
};

interface StreamPlan {
  readonly raw: Uint8Array[] | null;
  readonly merchant: number;
  readonly edits: [keyof ContributionHeader, unknown][];
  readonly attestation: unknown;
  readonly ct: Uint8Array | null;
  readonly resign: boolean;
  readonly chunk: number;
  readonly order: 'normal' | 'drop-last' | 'duplicate' | 'header-twice' | 'no-header' | 'extra' | 'header-only' | 'reverse' | 'big-chunk';
}

export const submitContributionTarget: FuzzTarget = {
  name: 'grpc.MerchantService.SubmitContribution',
  slow: true,
  async prepare(env) {
    const c = await env.cluster();
    const client = new Client(c.coordinator.grpcAddress, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    const path = '/fedmart.v1.MerchantService/SubmitContribution';
    const seeds = c.merchants.map((m) => {
      const built = m.buildContribution(c.query);
      return { header: built.header, ct: built.ciphertexts[0]!, key: loadOrCreateSigningKey(join(m.stateDir, 'signing.seed')), attestation: JSON.parse(Buffer.from(built.header.consentAttestation).toString('utf8')) as unknown };
    });
    const s0 = seeds[0]!;
    const headerBytes = encodeChunk({ header: s0.header });
    const dataBytes = encodeChunk({ data: Buffer.from(s0.ct.subarray(0, 4096)) });
    const fields = Object.keys(headerFieldValues) as (keyof ContributionHeader)[];
    const plan: fc.Arbitrary<StreamPlan> = fc.oneof(
      { weight: 3, arbitrary: fc.array(hostileBytes([headerBytes, dataBytes], { oversize: UNARY_OVERSIZE }), { minLength: 0, maxLength: 4 })
        .map((raw) => ({ raw, merchant: 0, edits: [], attestation: null, ct: null, resign: false, chunk: 0, order: 'normal' as const })) },
      { weight: 7, arbitrary: fc.record({
        raw: fc.constant(null),
        merchant: fc.nat(seeds.length - 1),
        edits: fc.array(fc.constantFrom(...fields).chain((f) => headerFieldValues[f].map((v) => [f, v] as [keyof ContributionHeader, unknown])), { maxLength: 3 }),
        attestation: fc.option(mutatedJson(s0.attestation), { freq: 4 }),
        ct: fc.option(mutatedBytes([s0.ct]), { freq: 2 }),
        resign: fc.boolean(),
        chunk: fc.oneof(fc.constant(256 * 1024), fc.integer({ min: 1, max: 300 * 1024 })),
        order: fc.constantFrom('normal', 'normal', 'drop-last', 'duplicate', 'header-twice', 'no-header', 'extra', 'header-only', 'reverse', 'big-chunk'),
      }) },
    );
    let n = 0;
    const prepared: PreparedTarget<StreamPlan> = {
      arbitrary: plan,
      run: async (p) => {
        if (p.raw) return checked(c, () => streamRaw(client, path, p.raw!));
        const seed = seeds[p.merchant]!;
        // Seeds differ from merchant to merchant only in who signs; the ciphertext seed is shared.
        const ct = p.ct ?? seed.ct;
        let h: ContributionHeader = { ...seed.header };
        if (p.attestation !== null) h.consentAttestation = Buffer.from(JSON.stringify(p.attestation) ?? '');
        if (p.ct) h = { ...h, ciphertextDigests: [Buffer.from(blake2b256(ct))], ciphertextLengths: [ct.length] };
        for (const [f, v] of p.edits) (h as unknown as Record<string, unknown>)[f] = v;
        if (p.resign) {
          // A merchant signing its own hostile contribution: reaches the checks behind the signature.
          h.nonce = Buffer.from(randomBytes(32));
          try {
            h.signature = Buffer.from(signEnvelope(envelopeOf(h), seed.key.secretKey));
          } catch {
            /* a malformed envelope cannot be signed: send it as it is */
          }
        }
        const chunks: Uint8Array[] = [];
        const size = p.order === 'big-chunk' ? 2 * 1024 * 1024 : p.chunk;
        for (let off = 0; off < ct.length; off += size) chunks.push(encodeChunk({ data: Buffer.from(ct.subarray(off, off + size)) }));
        const head = encodeChunk({ header: h });
        let messages = [head, ...chunks];
        if (p.order === 'drop-last') messages = messages.slice(0, -1);
        else if (p.order === 'duplicate') messages = [...messages, ...chunks.slice(0, 1)];
        else if (p.order === 'header-twice') messages = [head, head, ...chunks];
        else if (p.order === 'no-header') messages = chunks;
        else if (p.order === 'extra') messages = [...messages, encodeChunk({ data: Buffer.alloc(1 + (n++ % 1000)) })];
        else if (p.order === 'header-only') messages = [head];
        else if (p.order === 'reverse') messages = [head, ...chunks.reverse()];
        return checked(c, () => streamRaw(client, path, messages));
      },
      after: async () => {
        const alive = judge(await unaryRaw(client, '/fedmart.v1.MerchantService/GetPublicKey', new Uint8Array()));
        client.close();
        if (alive !== 'OK') throw new Error(`the coordinator no longer answers: ${alive}`);
      },
    };
    return prepared;
  },
};

// ---------------------------------------------------------------------------
// Release

interface ReleasePlan {
  readonly raw: Uint8Array[] | null;
  readonly headerEdits: [string, unknown][];
  readonly contributions: number[];
  readonly ct: Uint8Array | null;
  readonly target: number;
  readonly count: number | null;
  /** Signed with the coordinator's request key after the edits (else the seed's signature stays). */
  readonly sign: boolean;
}

export const releaseTarget: FuzzTarget = {
  name: 'grpc.KeyHolderService.Release',
  slow: true,
  async prepare(env) {
    const c = await env.cluster();
    const ctx = await env.ctx();
    const client = new Client(c.keyholder.address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    const path = '/fedmart.v1.KeyHolderService/Release';
    const q = c.query;
    const built = c.merchants.map((m) => ({ built: m.buildContribution(q), key: loadOrCreateSigningKey(join(m.stateDir, 'signing.seed')) }));
    const definition = getQueryDefinition(q.kind);
    const spec = definition.parseSpec(JSON.parse(q.specJson));
    const layout = new SlotLayout(definition.fields(spec), { plainModulus: ctx.plainModulus, slotCount: ctx.slotCount, maxContributors: q.maxContributors });
    const sorted = [...built].sort((a, b) => (a.built.header.merchantId < b.built.header.merchantId ? -1 : 1));
    const sums = sumPackedContributions(ctx, sorted.map((b) => b.built.ciphertexts[0]!), layout.ciphertextCount);
    const requestKey = c.cluster.identity.requestKey;
    const sign = (h: ReleaseHeader): ReleaseHeader => {
      try {
        return { ...h, coordinatorSignature: Buffer.from(signDigest(releaseRequestDigest(h), requestKey.secretKey)) };
      } catch {
        return h; // fields the digest cannot encode: sent unsigned
      }
    };
    const header = sign(ReleaseHeader.fromPartial({
      queryId: q.queryId, kind: q.kind, specJson: q.specJson, specDigest: q.specDigest, paramSet: q.paramSet, keyId: q.keyId,
      maxContributors: q.maxContributors, aggregateDigest: Buffer.from(blake2b256(Buffer.concat(sums))), contributionCount: built.length, cutoffUnixMs: q.cutoffUnixMs,
    }));
    const evidence = new Map<string, MerchantKeyEvidence | undefined>();
    for (const row of await c.coordinator.store.db.query<{ merchant_id: string; key_evidence: string | null; key_sequence: number }>('SELECT merchant_id, key_evidence, key_sequence FROM merchants')) {
      evidence.set(row.merchant_id, evidenceFor({ keyEvidenceJson: row.key_evidence, keySequence: row.key_sequence } as StoredContribution));
    }
    const contributionPart = (i: number, ct?: Uint8Array) => {
      const b = built[i]!;
      return ReleasePart.encode(ReleasePart.fromPartial({ contribution: {
        header: b.built.header, merchantSigningKey: Buffer.from(b.key.publicKey), ciphertexts: Buffer.from(ct ?? b.built.ciphertexts[0]!),
        keyEvidence: evidence.get(b.built.header.merchantId),
      } })).finish();
    };
    const headerFields: Record<string, fc.Arbitrary<unknown>> = {
      queryId: hostileString, kind: hostileString, specJson: fc.oneof(hostileString, mutatedJson(JSON.parse(q.specJson)).map((v) => JSON.stringify(v) ?? '')),
      specDigest: fc.uint8Array({ maxLength: 40 }).map(Buffer.from), paramSet: hostileString, keyId: fc.uint8Array({ maxLength: 40 }).map(Buffer.from),
      maxContributors: fc.oneof(fc.nat(300), fc.constant(0xffffffff)), aggregateDigest: fc.uint8Array({ maxLength: 40 }).map(Buffer.from),
      contributionCount: fc.oneof(fc.nat(20), fc.constant(0xffffffff)), cutoffUnixMs: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    };
    const headerBytes = ReleasePart.encode(ReleasePart.fromPartial({ header })).finish();
    const plan: fc.Arbitrary<ReleasePlan> = fc.oneof(
      { weight: 3, arbitrary: fc.array(hostileBytes([headerBytes, contributionPart(0).subarray(0, 2048)], { oversize: [16 * 1024 * 1024 - 64, 16 * 1024 * 1024 + 4096] }), { maxLength: 4 })
        .map((raw) => ({ raw, headerEdits: [], contributions: [], ct: null, target: 0, count: null, sign: false })) },
      { weight: 7, arbitrary: fc.record({
        raw: fc.constant(null),
        headerEdits: fc.array(fc.constantFrom(...Object.keys(headerFields)).chain((f) => headerFields[f]!.map((v) => [f, v] as [string, unknown])), { maxLength: 2 }),
        contributions: fc.oneof(fc.constant([0, 1, 2]), fc.array(fc.nat(built.length - 1), { maxLength: 5 })),
        ct: fc.option(mutatedBytes([built[0]!.built.ciphertexts[0]!]), { freq: 2 }),
        target: fc.nat(built.length - 1),
        count: fc.option(fc.nat(6), { freq: 3 }),
        sign: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      }) as fc.Arbitrary<ReleasePlan> },
    );
    const prepared: PreparedTarget<ReleasePlan> = {
      arbitrary: plan,
      run: async (p) => {
        if (p.raw) return checked(c, () => streamRaw(client, path, p.raw!));
        const h: Record<string, unknown> = { ...header, contributionCount: p.count ?? p.contributions.length };
        for (const [f, v] of p.headerEdits) h[f] = v;
        const signed = p.sign ? sign(h as unknown as ReleaseHeader) : h;
        const messages = [ReleasePart.encode(ReleasePart.fromPartial({ header: signed as never })).finish()];
        for (const i of p.contributions) messages.push(contributionPart(i, p.ct && i === p.target ? p.ct : undefined));
        return checked(c, () => streamRaw(client, path, messages, 60_000));
      },
      after: async () => {
        const alive = judge(await unaryRaw(client, '/fedmart.v1.KeyHolderService/GetPublicKey', new Uint8Array()));
        client.close();
        if (alive !== 'OK') throw new Error(`the key holder no longer answers: ${alive}`);
      },
    };
    return prepared;
  },
};

/** A client-streaming method without seeds of its own: streams of hostile messages. */
function genericStreamTarget(service: 'merchant' | 'keyholder', method: string, path: string): FuzzTarget {
  return {
    name: `grpc.${service === 'merchant' ? 'MerchantService' : 'KeyHolderService'}.${method}`,
    slow: true,
    async prepare(env) {
      const c = await env.cluster();
      const client = new Client(service === 'merchant' ? c.coordinator.grpcAddress : c.keyholder.address, credentials.createInsecure());
      return {
        arbitrary: fc.array(fc.oneof(wireGarbage, fc.uint8Array({ maxLength: 512 })), { maxLength: 4 }),
        run: (messages: Uint8Array[]) => checked(c, () => streamRaw(client, path, messages)),
        after: async () => client.close(),
      };
    },
  };
}

function targetsOf(service: 'merchant' | 'keyholder', definition: ServiceDefinition): FuzzTarget[] {
  return Object.values(definition).map((m) => {
    const method = m.path.slice(m.path.lastIndexOf('/') + 1);
    if (service === 'merchant' && method === 'SubmitContribution') return submitContributionTarget;
    if (service === 'keyholder' && method === 'Release') return releaseTarget;
    if (m.requestStream) return genericStreamTarget(service, method, m.path);
    return unaryTarget(service, method, m.path);
  });
}

/** One target per method of each service, from the service definitions. */
export const GRPC_TARGETS: readonly FuzzTarget[] = [
  ...targetsOf('merchant', MerchantServiceService),
  ...targetsOf('keyholder', KeyHolderServiceService),
];

