/**
 * A merchant node: the shop-side half of fedmart. It reads the shop's own
 * export, computes a query's statistic locally, encodes it into slots,
 * encrypts it under the key holder's public key, signs the envelope and
 * streams it to the coordinator. Raw rows never leave this process: the only
 * bytes sent are ciphertexts, digests, identifiers of the shop and the query,
 * and a signature.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import {
  HeContext,
  HeEncryptor,
  PooledEncryptor,
  SealWorker,
  DEFAULT_ENC_ZERO_POOL_SIZE,
  blake2b256,
  constantTimeEqual,
  cryptoReady,
  enrolmentDigest,
  currentKeyOf,
  enrolmentEvidence,
  keyEvidenceFromJson,
  keyEvidenceToJson,
  keyEvidenceUpTo,
  rotateKeyEvidence,
  randomBytes,
  signDigest,
  toHex,
  DEFAULT_HE_PARAM_SET,
  type HeParamSetName,
  type SealWorkerOptions,
  type SigningKeyPair,
} from '../crypto/index.js';
import type { ShopData } from '../analytics/index.js';
import {
  PurposeError,
  type ConsentAttestation,
  type RoundReceipt,
} from '../compliance/index.js';
import type { ShopCompliance } from './consent-source.js';
import { DeclinedError, attestationFor, localStatistic, signedHeader, type LocalStatistic } from '../round/index.js';
import { merchantSpan, merchantStep, recordAnswer, sendSpan } from './merchant-node-tracing.js';
import {
  MerchantServiceClient,
  callUnary,
  checkPublicKeyBundle,
  errorCodeOf,
  grpcClientCredentials,
  type Pem,
  type ContributionHeader,
  type GetModelResponse,
  quoteUntrusted,
  type OpenQuery,
  type PublicKeyBundle,
  type SubmitContributionResponse,
  rightsReportDigest,
  modelRequestDigest,
  keyEvidenceToWire,
  keyRotationToWire,
} from '../protos/index.js';
import type { KeyEvidence } from '../crypto/index.js';
import { loadOrCreateSigningKey } from './signing-key.js';
import { rightsReportEvents } from './rights-report-events.js';
import { ModelScoringError, scoreModel, type LocalScores } from './model-scoring.js';

/** File in the state folder holding the node's key evidence (no secret; 0600 anyway). */
export const KEY_EVIDENCE_FILE = 'key-evidence.json';

/** Ciphertext bytes per gRPC message; well under the coordinator's 1 MiB limit. */
export const CHUNK_BYTES = 256 * 1024;

export interface MerchantNodeOptions {
  readonly merchantId: string;
  readonly coordinatorAddress: string;
  /** The shop's data, already loaded (see loadShopData). */
  readonly data: ShopData;
  /** The shop's consent ledger, purposes and pseudonym key (see loadShopCompliance). */
  readonly compliance: ShopCompliance;
  /** Folder for the node's signing key and receipts. */
  readonly stateDir: string;
  /** Hex Ed25519 key of the key holder; the public key bundle must be signed by it. */
  readonly keyholderSigningKeyHex?: string;
  /**
   * One-time enrolment token from the administrator (`fedmart enrol-token`).
   * Needed for the first enrolment only: the key evidence made from it is
   * kept in the state folder, so restarts do without it.
   */
  readonly enrolmentToken?: string;
  /**
   * The CA of the coordinator's TLS certificate (PEM): the coordinator is
   * reached over TLS trusting only this CA, not the system store. Without
   * it, only a loopback coordinator address may be used.
   */
  readonly coordinatorCa?: Pem;
  readonly paramSet?: HeParamSetName;
  readonly logger?: Logger;
  /**
   * Encrypt in a SEAL worker thread that is replaced if it faults (`fedmart
   * merchant` does). Default false: in process, as `buildContribution` does.
   */
  readonly encryptInWorker?: boolean | Pick<SealWorkerOptions, 'requestTimeoutMs' | 'testHooks'>;
  /**
   * Encryptions of zero kept ready under the key holder's public key
   * (default DEFAULT_ENC_ZERO_POOL_SIZE = 8; 0 or false: none). They are made
   * ahead of time — in the SEAL worker with `encryptInWorker`, otherwise in
   * this thread between other work — from `loadPublicKey` on and after each
   * use, so that encrypting at send time is a batch encode plus an addition
   * (`PooledEncryptor`). The pool lives as long as the key: fit rounds and
   * open queries under one key share it. When it is empty the node encrypts
   * fresh, as without a pool.
   */
  readonly encryptionPool?: number | false;
}

/** How this node's ciphertexts were made since it started. */
export interface EncryptionStats {
  /** Ciphertexts made from a precomputed Enc(0). */
  readonly pooled: number;
  /** Ciphertexts encrypted fresh (no pool, or the pool was empty). */
  readonly fresh: number;
  /** Enc(0)s ready now. */
  readonly ready: number;
}

/** A signed contribution as built for a query. */
export interface BuiltContribution {
  readonly header: ContributionHeader;
  readonly ciphertexts: Uint8Array[];
  readonly attestation: ConsentAttestation;
  readonly recordIds: string[];
}

/** What happened to one open query. */
export type AnswerOutcome =
  | { readonly queryId: string; readonly outcome: 'submitted'; readonly receipt: SubmitContributionResponse }
  | { readonly queryId: string; readonly outcome: 'already-answered' }
  | { readonly queryId: string; readonly outcome: 'declined'; readonly code: string; readonly message: string }
  | { readonly queryId: string; readonly outcome: 'refused'; readonly code: string; readonly message: string };

export class MerchantNode {
  private encryptor: HeEncryptor | undefined;
  /** Enc(0) pool under the current public key, unless `encryptionPool` is 0/false. */
  private pooled: PooledEncryptor | undefined;
  private freshCount = 0;
  private pooledCountBefore = 0;
  private bundle: PublicKeyBundle | undefined;
  /** With `encryptInWorker`: the SEAL worker encrypting under the current public key. */
  sealWorker: SealWorker | undefined;

  private constructor(
    private readonly options: MerchantNodeOptions,
    private readonly ctx: HeContext,
    private signing: SigningKeyPair,
    private readonly client: MerchantServiceClient,
    private readonly log: Logger,
  ) {}

  static async create(options: MerchantNodeOptions): Promise<MerchantNode> {
    const creds = grpcClientCredentials(options.coordinatorAddress, options.coordinatorCa === undefined ? undefined : { ca: options.coordinatorCa },
      'gRPC to the coordinator', 'give --coordinator-ca (the deployment CA)');
    await cryptoReady();
    const ctx = await HeContext.create(options.paramSet ?? DEFAULT_HE_PARAM_SET);
    mkdirSync(join(options.stateDir, 'receipts'), { recursive: true, mode: 0o700 });
    // A rotation the coordinator accepted whose key file was not yet moved into place: finish it.
    const nextFile = join(options.stateDir, 'signing.next.seed');
    const evidenceFile = join(options.stateDir, KEY_EVIDENCE_FILE);
    if (existsSync(nextFile) && existsSync(evidenceFile)) {
      const current = currentKeyOf(keyEvidenceFromJson(readFileSync(evidenceFile, 'utf8')));
      if (constantTimeEqual(current, loadOrCreateSigningKey(nextFile).publicKey)) renameSync(nextFile, join(options.stateDir, 'signing.seed'));
    }
    const signing = loadOrCreateSigningKey(join(options.stateDir, 'signing.seed'));
    const client = new MerchantServiceClient(options.coordinatorAddress, creds, {
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
    });
    const log = options.logger ?? pino({ name: 'merchant' });
    return new MerchantNode(options, ctx, signing, client, log);
  }

  get merchantId(): string {
    return this.options.merchantId;
  }

  /** The shop's data the node answers from. */
  get data(): ShopData {
    return this.options.data;
  }

  /** The shop's consent ledger, purposes and pseudonym key. */
  get compliance(): ShopCompliance {
    return this.options.compliance;
  }

  /** Folder holding this node's signing key and receipts. */
  get stateDir(): string {
    return this.options.stateDir;
  }

  get signingPublicKey(): Uint8Array {
    return this.signing.publicKey;
  }

  close(): void {
    this.pooled?.close();
    this.encryptor?.close();
    void this.sealWorker?.close();
    this.client.close();
    this.ctx.close();
  }

  /** The key evidence kept in the state folder, if any. */
  keyEvidence(): KeyEvidence | undefined {
    const file = join(this.options.stateDir, KEY_EVIDENCE_FILE);
    return existsSync(file) ? keyEvidenceFromJson(readFileSync(file, 'utf8')) : undefined;
  }

  private saveKeyEvidence(evidence: KeyEvidence): void {
    const file = join(this.options.stateDir, KEY_EVIDENCE_FILE);
    writeFileSync(file + '.tmp', keyEvidenceToJson(evidence), { mode: 0o600 });
    renameSync(file + '.tmp', file);
  }

  /**
   * Registers this node's signing key with the coordinator (idempotent), with
   * key evidence made from the enrolment token on first use and kept in the
   * state folder. Resolves false when already enrolled (or since rotated).
   */
  async enrol(): Promise<boolean> {
    const id = this.options.merchantId;
    let evidence = this.keyEvidence();
    if (!evidence) {
      const token = this.options.enrolmentToken;
      if (!token) throw new Error(`merchant ${id} has no key evidence in ${this.options.stateDir}: enrol once with an enrolment token (--enrol-token or FEDMART_ENROL_TOKEN)`);
      evidence = enrolmentEvidence(token, id, this.signing.publicKey);
      // Kept before the coordinator sees it, so a retry after a lost reply sends the same evidence.
      this.saveKeyEvidence(evidence);
    }
    if (evidence.rotations.length > 0) return false; // enrolled, and the key was rotated since
    const res = await callUnary(this.client.enroll.bind(this.client), {
      merchantId: id,
      signingPublicKey: Buffer.from(this.signing.publicKey),
      proofOfPossession: Buffer.from(signDigest(enrolmentDigest(id, this.signing.publicKey), this.signing.secretKey)),
      keyEvidence: keyEvidenceToWire(keyEvidenceUpTo(evidence, 0)),
    });
    return res.newlyEnrolled;
  }

  /**
   * Replaces the signing key: a new key (kept as signing.next.seed until the
   * coordinator accepted it, so an interrupted rotation is resent unchanged),
   * signed by the current key, with the new key's proof of possession.
   * Contributions already sent stay valid; later ones are signed with the new key.
   * Resolves with the new key's sequence.
   */
  async rotateKey(): Promise<number> {
    const evidence = this.keyEvidence();
    if (!evidence) throw new Error('this node has no key evidence: enrol with a token first');
    const nextFile = join(this.options.stateDir, 'signing.next.seed');
    const next = loadOrCreateSigningKey(nextFile);
    const { evidence: extended, rotation } = rotateKeyEvidence(evidence, this.signing.secretKey, next);
    const res = await callUnary(this.client.rotateKey.bind(this.client), { merchantId: this.options.merchantId, rotation: keyRotationToWire(rotation) });
    this.saveKeyEvidence(extended);
    renameSync(nextFile, join(this.options.stateDir, 'signing.seed'));
    this.signing = next;
    this.log.info({ sequence: res.sequence }, 'signing key rotated');
    return res.sequence;
  }

  /** Fetches and checks the public key to encrypt under. */
  async loadPublicKey(): Promise<PublicKeyBundle> {
    const bundle = await callUnary(this.client.getPublicKey.bind(this.client), {});
    checkPublicKeyBundle(bundle, this.ctx, this.options.keyholderSigningKeyHex);
    // A new key: the old pool goes first, before the worker encrypts under the new key.
    if (this.pooled !== undefined && !constantTimeEqual(this.pooled.keyId, bundle.keyId)) {
      this.pooledCountBefore += this.pooled.pooled;
      this.pooled.close();
      this.pooled = undefined;
    }
    this.encryptor?.close();
    this.encryptor = new HeEncryptor(this.ctx, bundle.publicKey);
    const inWorker = this.options.encryptInWorker;
    if (inWorker !== undefined && inWorker !== false) {
      if (this.sealWorker === undefined) {
        this.sealWorker = await SealWorker.start({ paramSet: this.ctx.paramSet.name, publicKey: bundle.publicKey, ...(inWorker === true ? {} : inWorker) });
      } else {
        await this.sealWorker.setPublicKey(bundle.publicKey);
      }
    }
    this.bundle = bundle;
    this.startEncryptionPool(bundle.publicKey);
    return bundle;
  }

  /** Counts of pool-made and fresh ciphertexts, and the Enc(0)s ready now. */
  encryptionStats(): EncryptionStats {
    return {
      pooled: this.pooledCountBefore + (this.pooled?.pooled ?? 0),
      fresh: this.freshCount,
      ready: this.pooled?.pool.size ?? 0,
    };
  }

  /** Resolves when the Enc(0) pool is full (at once without a pool); rejects if filling fails. */
  async encryptionPoolFilled(): Promise<void> {
    if (this.pooled !== undefined && !this.pooled.closed) await this.pooled.refill();
  }

  /**
   * Keeps the pool of the current key (loadPublicKey has wiped a pool under
   * an older key), or starts one; filling starts at once in the background.
   */
  private startEncryptionPool(publicKey: Uint8Array): void {
    const size = this.options.encryptionPool ?? DEFAULT_ENC_ZERO_POOL_SIZE;
    const keyId = this.bundle!.keyId;
    if (this.pooled !== undefined) return;
    if (size === false || size === 0) return;
    const worker = this.sealWorker;
    const onFillError = (err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'filling the encryption pool failed; encrypting fresh until it refills');
    const pooled = new PooledEncryptor(this.ctx, publicKey, {
      poolSize: size,
      onFillError,
      // The worker encrypts under the key last set on it, which is this one: a pool is replaced before the worker's key changes.
      ...(worker === undefined ? {} : { source: (n: number) => worker.encryptZeros(n) }),
    });
    if (!constantTimeEqual(pooled.keyId, keyId)) {
      pooled.close();
      throw new Error('the public key bundle names another key id than its key');
    }
    this.pooled = pooled;
    pooled.refill().catch(onFillError);
  }

  /** Encrypts one slot vector in this thread: from the pool, else fresh. */
  private encryptHere(slots: BigUint64Array): Uint8Array {
    const fromPool = this.pooled?.tryEncryptPacked(slots);
    if (fromPool !== undefined) return fromPool;
    this.freshCount++;
    return this.encryptor!.encryptPacked(slots);
  }

  async openQueries(): Promise<OpenQuery[]> {
    const res = await callUnary(this.client.listOpenQueries.bind(this.client), { merchantId: this.options.merchantId });
    return res.queries;
  }

  private receiptFile(queryId: string): string {
    return join(this.options.stateDir, 'receipts', Buffer.from(queryId, 'utf8').toString('base64url') + '.json');
  }

  hasAnswered(queryId: string): boolean {
    return existsSync(this.receiptFile(queryId));
  }

  /**
   * Builds the signed contribution for `query`: local statistic, slot
   * encoding, encryption, envelope and signature. Exposed so tests can
   * inspect or tamper with what would be sent.
   */
  buildContribution(query: OpenQuery): BuiltContribution {
    const stat = this.localStatistic(query);
    const attestation = attestationFor(stat, this.options.merchantId);
    const ciphertexts = stat.slots.map((slots) => this.encryptHere(slots));
    return { header: signedHeader(stat, this.options.merchantId, attestation, ciphertexts, this.sign), ciphertexts, attestation, recordIds: stat.recordIds };
  }

  /**
   * As `buildContribution`; ciphertexts the pool cannot make are encrypted
   * fresh in the SEAL worker when the node has one (a worker fault is
   * retried once on a fresh worker), else in this thread. The shop's side
   * of `contribute` (round/contribute.ts), step by step in the spans
   * `fedmart.merchant.compute` and `fedmart.merchant.encrypt`
   * (merchant-node-tracing.ts).
   */
  async buildContributionAsync(query: OpenQuery): Promise<BuiltContribution> {
    this.checkUnderCurrentKey(query);
    const stat = merchantStep('fedmart.merchant.compute', () => localStatistic(this.ctx, query, this.options));
    const attestation = attestationFor(stat, this.options.merchantId);
    const ciphertexts = await merchantSpan('fedmart.merchant.encrypt', { 'fedmart.ciphertexts': stat.slots.length }, async (span) => {
      const freshBefore = this.freshCount;
      const made = await this.encryptAsync(stat.slots);
      span.setAttribute('fedmart.ciphertexts.pooled', stat.slots.length - (this.freshCount - freshBefore));
      return made;
    });
    return { header: signedHeader(stat, this.options.merchantId, attestation, ciphertexts, this.sign), ciphertexts, attestation, recordIds: stat.recordIds };
  }

  private readonly sign = (digest: Uint8Array): Uint8Array => signDigest(digest, this.signing.secretKey);

  /** Encrypts slot vectors: from the pool where it can, the rest fresh (in the SEAL worker when the node has one). */
  private async encryptAsync(slots: readonly BigUint64Array[]): Promise<Uint8Array[]> {
    const ciphertexts: (Uint8Array | undefined)[] = slots.map((s) => this.pooled?.tryEncryptPacked(s));
    const missing = slots.filter((_, i) => ciphertexts[i] === undefined);
    if (missing.length > 0) {
      this.freshCount += missing.length;
      const made = this.sealWorker ? await this.sealWorker.encryptPacked(missing) : missing.map((s) => this.encryptor!.encryptPacked(s));
      let next = 0;
      for (let i = 0; i < ciphertexts.length; i++) if (ciphertexts[i] === undefined) ciphertexts[i] = made[next++];
    }
    return ciphertexts as Uint8Array[];
  }

  /** A query under another key than the one loaded is not answered (the key holder would refuse it). */
  private checkUnderCurrentKey(query: OpenQuery): void {
    if (!this.encryptor || !this.bundle) throw new Error('loadPublicKey() must run before answering queries');
    if (query.paramSet !== this.bundle.paramSet || !constantTimeEqual(query.keyId, this.bundle.keyId)) {
      throw new Error(`query ${query.queryId} is not under the key holder's current public key`);
    }
  }

  private localStatistic(query: OpenQuery): LocalStatistic {
    this.checkUnderCurrentKey(query);
    return localStatistic(this.ctx, query, this.options);
  }

  /** Streams a contribution: the header, then the ciphertexts in chunks. */
  submit(header: ContributionHeader, ciphertexts: readonly Uint8Array[], timeoutMs = 60_000): Promise<SubmitContributionResponse> {
    return new Promise((resolve, reject) => {
      const call = this.client.submitContribution(new Metadata(), { deadline: new Date(Date.now() + timeoutMs) },
        (err: ServiceError | null, res?: SubmitContributionResponse) => (err ? reject(err) : res ? resolve(res) : reject(new Error('empty response'))));
      void (async () => {
        const write = async (msg: Parameters<typeof call.write>[0]) => {
          if (!call.write(msg)) await new Promise((r) => call.once('drain', r));
        };
        await write({ header });
        const body = Buffer.concat(ciphertexts);
        for (let off = 0; off < body.length; off += CHUNK_BYTES) await write({ data: body.subarray(off, off + CHUNK_BYTES) });
        call.end();
      })().catch(reject);
    });
  }

  /** Answers one open query unless already answered; records the receipt durably. */
  async answer(query: OpenQuery): Promise<AnswerOutcome> {
    // One root span per answer (a no-op without tracing): the query's id and kind, the outcome and its code.
    return merchantSpan('fedmart.merchant.answer', { 'fedmart.query.id': query.queryId, 'fedmart.query.kind': query.kind }, async (span) => {
      const outcome = await this.answerNow(query);
      recordAnswer(span, outcome);
      return outcome;
    }, true);
  }

  private async answerNow(query: OpenQuery): Promise<AnswerOutcome> {
    if (this.hasAnswered(query.queryId)) return { queryId: query.queryId, outcome: 'already-answered' };
    let built;
    try {
      built = await this.buildContributionAsync(query);
    } catch (err) {
      if (!(err instanceof DeclinedError || err instanceof PurposeError)) throw err;
      const code = err.code;
      // Declining is final for this query: remember it so the node does not retry every poll.
      writeFileSync(this.receiptFile(query.queryId), JSON.stringify({ queryId: query.queryId, declined: code }), { mode: 0o600 });
      this.log.warn({ queryId: query.queryId, code }, 'query declined');
      return { queryId: query.queryId, outcome: 'declined', code, message: (err as Error).message };
    }
    const { header, ciphertexts, attestation, recordIds } = built;
    try {
      const receipt = await sendSpan(ciphertexts.reduce((n, c) => n + c.length, 0), () => this.submit(header, ciphertexts));
      // The receipt stays at the shop: it answers data-subject access requests
      // (which rounds a customer's data went into, in aggregate).
      const stored: StoredReceipt = {
        queryId: receipt.queryId,
        purpose: attestation.purpose,
        cutoff: attestation.cutoff,
        submittedAt: new Date(Number(receipt.storedUnixMs)).toISOString(),
        recordIds,
        envelopeDigest: toHex(receipt.envelopeDigest),
      };
      writeFileSync(this.receiptFile(query.queryId), JSON.stringify(stored), { mode: 0o600 });
      this.log.info({ queryId: query.queryId }, 'contribution acknowledged');
      return { queryId: query.queryId, outcome: 'submitted', receipt };
    } catch (err) {
      const e = err as ServiceError;
      if (e.code === status.ALREADY_EXISTS) {
        writeFileSync(this.receiptFile(query.queryId), JSON.stringify({ queryId: query.queryId, note: 'already stored' }), { mode: 0o600 });
        return { queryId: query.queryId, outcome: 'already-answered' };
      }
      if (typeof e.code === 'number' && e.code !== status.UNAVAILABLE) {
        const outcome = { queryId: query.queryId, outcome: 'refused', code: errorCodeOf(err) ?? status[e.code] ?? 'UNKNOWN', message: e.details } as const;
        this.log.warn({ queryId: query.queryId, code: outcome.code }, 'contribution refused');
        return outcome;
      }
      throw err;
    }
  }

  private reportedFile(): string {
    return join(this.options.stateDir, 'reported-rights.json');
  }

  /**
   * Tells the coordinator which data-subject requests this shop received and
   * handled, as type, days and an opaque reference only (never who; see
   * rights-report-events.ts). Each request is reported once while pending
   * and once when handled.
   */
  async reportRightsRequests(): Promise<number> {
    const file = this.reportedFile();
    const reported = new Set<string>(existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as string[]) : []);
    const { events, keys } = rightsReportEvents(this.options.compliance.ledger.requests(), reported, this.options.compliance.pseudonymKey);
    if (events.length === 0) return 0;
    const unsigned = {
      merchantId: this.options.merchantId,
      events,
      createdUnixMs: BigInt(Date.now()),
      nonce: Buffer.from(randomBytes(16)),
    };
    const signature = Buffer.from(signDigest(rightsReportDigest(unsigned), this.signing.secretKey));
    const res = await callUnary(this.client.reportRightsEvents.bind(this.client), { ...unsigned, signature });
    for (const k of keys) reported.add(k);
    writeFileSync(file, JSON.stringify([...reported].sort()), { mode: 0o600 });
    return res.recorded;
  }

  /**
   * Downloads a fitted model and scores this shop's own rows locally (its
   * consented customers, or the rows of the declared table a tree model was
   * fitted on). The scores stay in the returned object: nothing is sent.
   * Throws ModelScoringError: an unknown fit, a fit without a model yet, a
   * kind that cannot be scored, or data that cannot be read as the fit did.
   */
  async scoreCustomers(modelId: string): Promise<LocalScores> {
    let res: GetModelResponse;
    try {
      // Models go to enrolled shops only: the request is signed with this node's current key.
      const unsigned = { modelId, merchantId: this.options.merchantId, createdUnixMs: BigInt(Date.now()), nonce: Buffer.from(randomBytes(16)) };
      const signature = Buffer.from(signDigest(modelRequestDigest(unsigned), this.signing.secretKey));
      res = await callUnary(this.client.getModel.bind(this.client), { ...unsigned, signature });
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === 'MODEL_UNKNOWN') throw new ModelScoringError('MODEL_UNKNOWN', `the coordinator knows no fit ${modelId}`);
      if (code === 'MODEL_NOT_READY') throw new ModelScoringError('MODEL_NOT_READY', `fit ${modelId} has no model to score yet: ${quoteUntrusted((err as ServiceError).details ?? '')}`);
      if (code === 'SIGNATURE_INVALID' || code === 'MERCHANT_NOT_ENROLLED' || code === 'MERCHANT_REVOKED') {
        const why = code === 'MERCHANT_REVOKED' ? `merchant ${this.options.merchantId} is revoked` : `this node's key is not the one enrolled for ${this.options.merchantId} (${code}): score with the --state folder of the node that enrolled`;
        throw new ModelScoringError('MODEL_ACCESS_REFUSED', `the coordinator gives models to enrolled shops only; ${why}`);
      }
      throw err;
    }
    if (!constantTimeEqual(blake2b256(Buffer.from(res.modelJson, 'utf8')), res.modelDigest)) throw new ModelScoringError('MODEL_DIGEST_MISMATCH', 'model_digest does not match model_json');
    return scoreModel(res, { data: this.options.data, compliance: this.options.compliance });
  }

  /** Enrols, loads the key and answers every open query once. */
  async answerOpenQueries(): Promise<AnswerOutcome[]> {
    if (!this.encryptor) await this.loadPublicKey();
    const outcomes: AnswerOutcome[] = [];
    for (const q of await this.openQueries()) {
      if (!this.hasAnswered(q.queryId)) outcomes.push(await this.answer(q));
    }
    return outcomes;
  }
}


/** A contribution receipt as kept at the shop. */
export interface StoredReceipt extends RoundReceipt {
  readonly envelopeDigest: string;
}

/** Receipts of the rounds this node contributed to (declined or replayed rounds have none). */
export function readReceipts(stateDir: string): StoredReceipt[] {
  const dir = join(stateDir, 'receipts');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Partial<StoredReceipt>)
    .filter((r): r is StoredReceipt => Array.isArray(r.recordIds) && typeof r.purpose === 'string')
    .sort((a, b) => (a.queryId < b.queryId ? -1 : 1));
}
