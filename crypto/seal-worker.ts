/**
 * `SealWorker`: SEAL in a worker thread that is replaced when it faults.
 *
 * A C++ exception inside SEAL leaks WebAssembly memory, and hostile bytes can
 * abort or corrupt the instance for good (docs/hardening.md). The supervisor owns
 * one `worker_threads` Worker holding a HeContext and, as configured, the
 * secret key (passed once in workerData, wiped in the worker after loading)
 * and/or a public key. Requests (decrypt packed ciphertexts -> slot values;
 * encrypt slot values -> packed ciphertexts) are served one at a time by
 * message passing; buffers are transferred, not copied.
 *
 * When the worker exits, throws, reports a SEAL failure or does not answer
 * within the request timeout, the request fails with `SealWorkerFaultError`,
 * the worker is terminated and a fresh one is started at once. Requests are
 * idempotent (decryption trivially; encryption gives another but equally
 * valid ciphertext), so a faulted request is retried once on the fresh worker
 * and the caller only sees a second fault.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { CiphertextFormatError, FedmartCryptoError, NoiseBudgetExhaustedError } from './errors.js';
import type { CiphertextFormatErrorCode } from './errors.js';
import { DEFAULT_HE_PARAM_SET, getHeParamSet } from './params.js';
import type { HeParamSetName } from './params.js';

/** Faults a test can inject (only when the worker was started with `testHooks`). */
export type TestFault = 'exit' | 'throw' | 'hang' | 'wasm-abort';

/** @internal start data of a worker */
export interface SealWorkerData {
  readonly paramSet: HeParamSetName;
  readonly secretKey?: Uint8Array;
  readonly publicKey?: Uint8Array;
  readonly testHooks: boolean;
}

/** @internal */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

/** @internal */
export type SealWorkerStartMessage = { readonly type: 'ready' } | { readonly type: 'start-error'; readonly error: SerializedError };

/** @internal */
export interface SealWorkerRequest {
  readonly id: number;
  readonly op: 'decrypt' | 'encrypt' | 'encrypt-zeros' | 'set-public-key' | 'ping';
  readonly data: ArrayBuffer;
  readonly count: number;
  readonly fault?: TestFault;
}

/** @internal */
export type SealWorkerResponse =
  | { readonly id: number; readonly ok: true; readonly data: ArrayBuffer; readonly count: number }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError; readonly fatal: boolean };

export type SealWorkerFaultCode =
  | 'SEAL_WORKER_EXITED'
  | 'SEAL_WORKER_ERROR'
  | 'SEAL_WORKER_TIMEOUT'
  | 'SEAL_WORKER_SEAL_FAILURE'
  | 'SEAL_WORKER_START'
  | 'SEAL_WORKER_CLOSED';

/** The SEAL worker died, hung or reported a SEAL failure while serving a request. */
export class SealWorkerFaultError extends FedmartCryptoError {
  declare readonly code: SealWorkerFaultCode;

  constructor(code: SealWorkerFaultCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SealWorkerFaultError';
  }
}

export interface SealWorkerOptions {
  readonly paramSet?: HeParamSetName;
  /** Serialized BFV secret key: the worker can decrypt (key holder). */
  readonly secretKey?: Uint8Array;
  /** Serialized BFV public key: the worker can encrypt (shop). */
  readonly publicKey?: Uint8Array;
  /** A request not answered in this time is a fault (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** A worker not ready in this time failed to start (default 30 s). */
  readonly startTimeoutMs?: number;
  /**
   * Keep a second, ready worker so that a fault is answered by promoting it
   * (about a millisecond) instead of starting one (0.3–1.3 s); the spare is
   * then replaced in the background. Costs one more SEAL heap (default false).
   */
  readonly spare?: boolean;
  /** Lets `injectFaultForTest` reach the worker. Never set outside tests. */
  readonly testHooks?: boolean;
  /** Called after a faulted worker was replaced, with the time the fresh one took to be ready. */
  readonly onReplaced?: (info: { code: SealWorkerFaultCode; readyMs: number }) => void;
}

const ENTRY = new URL('./seal-worker-entry.mjs', import.meta.url);

const FORMAT_CODES: ReadonlySet<string> = new Set<CiphertextFormatErrorCode>([
  'CIPHERTEXT_TYPE', 'CIPHERTEXT_LENGTH', 'CIPHERTEXT_HEADER', 'CIPHERTEXT_COMPRESSED',
  'CIPHERTEXT_PARMS_ID', 'CIPHERTEXT_METADATA', 'CIPHERTEXT_COEFFICIENT',
]);

/** Rebuilds a data error thrown in the worker as the same class here. */
function reviveError(e: SerializedError): Error {
  if (e.code !== undefined && FORMAT_CODES.has(e.code)) return new CiphertextFormatError(e.code as CiphertextFormatErrorCode, e.message);
  if (e.code === 'NOISE_BUDGET_EXHAUSTED') return new NoiseBudgetExhaustedError(e.message);
  if (e.code !== undefined) return new FedmartCryptoError(e.code, e.message);
  if (e.name === 'RangeError') return new RangeError(e.message);
  if (e.name === 'TypeError') return new TypeError(e.message);
  return new FedmartCryptoError('SEAL_WORKER_REQUEST', `${e.name}: ${e.message}`);
}

interface Pending {
  readonly resolve: (r: SealWorkerResponse & { ok: true }) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Live {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  dead: boolean;
}

/** A worker being started, with its outcome once known. */
interface Starting {
  readonly promise: Promise<Live>;
  state: 'starting' | 'ready' | 'failed';
}

function track(promise: Promise<Live>): Starting {
  const s: Starting = { promise, state: 'starting' };
  promise.then(() => { s.state = 'ready'; }, () => { s.state = 'failed'; });
  return s;
}

export class SealWorker {
  readonly #options: SealWorkerOptions;
  readonly #slotCount: number;
  #publicKey: Uint8Array | undefined;
  #current: Promise<Live> | undefined;
  #spare: Starting | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #closed = false;
  #testFaults: TestFault[] = [];
  /** Workers replaced after a fault since start. */
  replacements = 0;
  /** Requests retried on a fresh worker after a fault. */
  retries = 0;
  /** Milliseconds from the last fault until its replacement was ready. */
  lastReplacementMs: number | undefined;

  private constructor(options: SealWorkerOptions) {
    this.#options = options;
    this.#slotCount = getHeParamSet(options.paramSet ?? DEFAULT_HE_PARAM_SET).polyModulusDegree;
    this.#publicKey = options.publicKey === undefined ? undefined : Uint8Array.from(options.publicKey);
  }

  /**
   * Starts the first worker and waits until it is ready (~0.3–0.6 s: thread,
   * TypeScript loader, WASM, SEAL self-test, key loading). A bad key is
   * reported as the worker's error (e.g. CiphertextFormatError), not as a fault.
   */
  static async start(options: SealWorkerOptions = {}): Promise<SealWorker> {
    const w = new SealWorker(options);
    const first = w.#spawn();
    w.#current = first;
    try {
      await first;
    } catch (e) {
      w.#closed = true;
      throw e;
    }
    w.#refillSpare();
    return w;
  }

  /** Number of slots per ciphertext of this worker's parameter set. */
  get slotCount(): number {
    return this.#slotCount;
  }

  /**
   * Decrypts packed ciphertexts (each validated in the worker before SEAL
   * sees it) into their slot values. Retried once after a worker fault.
   * @throws CiphertextFormatError, NoiseBudgetExhaustedError, SealWorkerFaultError
   */
  async decryptPacked(packed: readonly Uint8Array[]): Promise<BigUint64Array[]> {
    const r = await this.#request('decrypt', () => concat(packed), packed.length);
    const all = new BigUint64Array(r.data);
    return Array.from({ length: r.count }, (_, i) => all.subarray(i * this.#slotCount, (i + 1) * this.#slotCount));
  }

  /**
   * Encrypts slot vectors (each exactly slotCount values below t) into packed
   * ciphertexts. Retried once after a worker fault.
   * @throws RangeError, SealWorkerFaultError
   */
  async encryptPacked(slots: readonly BigUint64Array[]): Promise<Uint8Array[]> {
    for (const [i, s] of slots.entries()) {
      if (!(s instanceof BigUint64Array) || s.length !== this.#slotCount) {
        throw new RangeError(`slots[${i}] must be a BigUint64Array of ${this.#slotCount} values`);
      }
    }
    const r = await this.#request('encrypt', () => {
      const out = new BigUint64Array(slots.length * this.#slotCount);
      slots.forEach((s, i) => out.set(s, i * this.#slotCount));
      return out.buffer;
    }, slots.length);
    const all = new Uint8Array(r.data);
    const len = all.length / Math.max(r.count, 1);
    return Array.from({ length: r.count }, (_, i) => all.subarray(i * len, (i + 1) * len));
  }

  /**
   * `count` fresh encryptions of zero under the current public key, in
   * SEAL's uncompressed format, for an `EncZeroPool` (`PooledEncryptor`'s
   * `source`). Retried once after a worker fault.
   * @throws RangeError, SealWorkerFaultError
   */
  async encryptZeros(count: number): Promise<Uint8Array[]> {
    if (!Number.isInteger(count) || count < 0 || count > 4096) throw new RangeError(`count must be an integer from 0 to 4096, got ${String(count)}`);
    const r = await this.#request('encrypt-zeros', () => new ArrayBuffer(0), count);
    const all = new Uint8Array(r.data);
    const len = all.length / Math.max(r.count, 1);
    // Copies, so that each entry owns its buffer and can be wiped on its own.
    const zeros = Array.from({ length: r.count }, (_, i) => all.slice(i * len, (i + 1) * len));
    all.fill(0);
    return zeros;
  }

  /** Replaces the public key to encrypt under (kept for replacement workers too). */
  async setPublicKey(publicKey: Uint8Array): Promise<void> {
    const copy = Uint8Array.from(publicKey);
    await this.#request('set-public-key', () => Uint8Array.from(copy).buffer, 0);
    this.#publicKey = copy;
    // A spare started with the old key is of no use any more.
    this.#dropSpare();
    this.#refillSpare();
  }

  /** A round trip to the worker (starts a replacement if none is running). */
  async ping(): Promise<void> {
    await this.#request('ping', () => new ArrayBuffer(0), 0);
  }

  /** Resolves when the serving worker (and the spare, if any) finished starting, whether or not they succeeded. */
  async settled(): Promise<void> {
    await Promise.allSettled([this.#current, this.#spare?.promise]);
  }

  /** True when a ready spare would take over the next fault at once. */
  get spareReady(): boolean {
    return this.#spare?.state === 'ready';
  }

  /**
   * Test only: the next `count` requests sent to a worker fault in `mode`
   * (count 1: the retry succeeds; 2: the caller sees the fault).
   * @throws unless started with testHooks
   */
  injectFaultForTest(mode: TestFault, count = 1): void {
    if (this.#options.testHooks !== true) throw new Error('SealWorker was not started with testHooks');
    for (let i = 0; i < count; i++) this.#testFaults.push(mode);
  }

  /** Terminates the worker; pending and later requests fail with SEAL_WORKER_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropSpare();
    const current = this.#current;
    this.#current = undefined;
    if (current === undefined) return;
    try {
      const live = await current;
      this.#kill(live, new SealWorkerFaultError('SEAL_WORKER_CLOSED', 'the SEAL worker was closed'));
      await live.worker.terminate();
    } catch {
      // it never started: nothing to stop
    }
  }

  #request(op: SealWorkerRequest['op'], payload: () => ArrayBuffer, count: number): Promise<SealWorkerResponse & { ok: true }> {
    const run = async (): Promise<SealWorkerResponse & { ok: true }> => {
      try {
        return await this.#once(op, payload(), count);
      } catch (e) {
        if (!(e instanceof SealWorkerFaultError) || this.#closed || e.code === 'SEAL_WORKER_START') throw e;
        this.retries++;
        return this.#once(op, payload(), count);
      }
    };
    const p = this.#chain.then(run, run);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  async #once(op: SealWorkerRequest['op'], data: ArrayBuffer, count: number): Promise<SealWorkerResponse & { ok: true }> {
    if (this.#closed) throw new SealWorkerFaultError('SEAL_WORKER_CLOSED', 'the SEAL worker was closed');
    this.#current ??= this.#spawn();
    const starting = this.#current;
    let live: Live;
    try {
      live = await starting;
    } catch (e) {
      if (this.#current === starting) this.#current = undefined; // the next request tries a fresh start
      throw new SealWorkerFaultError('SEAL_WORKER_START', `no SEAL worker could be started: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const id = this.#nextId++;
    const fault = this.#testFaults.shift();
    const timeoutMs = this.#options.requestTimeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fault(live, new SealWorkerFaultError('SEAL_WORKER_TIMEOUT', `the SEAL worker did not answer a ${op} request within ${timeoutMs} ms`));
      }, timeoutMs);
      live.pending.set(id, { resolve, reject, timer });
      const msg: SealWorkerRequest = { id, op, data, count, ...(fault === undefined ? {} : { fault }) };
      live.worker.postMessage(msg, [data]);
    });
  }

  #spawn(): Promise<Live> {
    const publicKey = this.#publicKey;
    const secretKey = this.#options.secretKey;
    const workerData: SealWorkerData = {
      paramSet: this.#options.paramSet ?? DEFAULT_HE_PARAM_SET,
      testHooks: this.#options.testHooks === true,
      ...(secretKey === undefined ? {} : { secretKey }),
      ...(publicKey === undefined ? {} : { publicKey }),
    };
    const worker = new Worker(ENTRY, { workerData, stdout: false, stderr: false });
    const live: Live = { worker, pending: new Map(), dead: false };
    const startTimeoutMs = this.#options.startTimeoutMs ?? 30_000;
    return new Promise<Live>((resolve, reject) => {
      let started = false;
      const timer = setTimeout(() => fail(new SealWorkerFaultError('SEAL_WORKER_TIMEOUT', `the SEAL worker was not ready within ${startTimeoutMs} ms`)), startTimeoutMs);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        if (!started) {
          started = true;
          live.dead = true;
          void worker.terminate();
          reject(e);
          return;
        }
        this.#fault(live, e instanceof SealWorkerFaultError ? e : new SealWorkerFaultError('SEAL_WORKER_ERROR', e.message, { cause: e }));
      };
      worker.on('message', (msg: SealWorkerStartMessage | SealWorkerResponse) => {
        if ('type' in msg) {
          if (msg.type === 'ready') {
            clearTimeout(timer);
            started = true;
            resolve(live);
          } else {
            fail(reviveError(msg.error));
          }
          return;
        }
        const p = live.pending.get(msg.id);
        if (p === undefined) return;
        live.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) {
          p.resolve(msg);
        } else if (msg.fatal) {
          p.reject(new SealWorkerFaultError('SEAL_WORKER_SEAL_FAILURE', `SEAL failed inside the worker: ${msg.error.message}`));
          this.#fault(live, new SealWorkerFaultError('SEAL_WORKER_SEAL_FAILURE', 'SEAL failed inside the worker'));
        } else {
          p.reject(reviveError(msg.error));
        }
      });
      worker.on('error', (e) => fail(new SealWorkerFaultError('SEAL_WORKER_ERROR', `the SEAL worker threw: ${e.message}`, { cause: e })));
      worker.on('exit', (code) => {
        if (!live.dead) fail(new SealWorkerFaultError('SEAL_WORKER_EXITED', `the SEAL worker exited with code ${code}`));
      });
      worker.unref();
    });
  }

  /** Fails everything pending on `live`, terminates it and starts a replacement. */
  #fault(live: Live, error: SealWorkerFaultError): void {
    if (live.dead) return;
    this.#kill(live, error);
    void live.worker.terminate();
    if (this.#closed) return;
    const t0 = performance.now();
    const spare = this.#spare;
    this.#spare = undefined;
    const replacement = spare !== undefined && spare.state !== 'failed' ? spare.promise : this.#spawn();
    if (spare !== undefined && spare.state === 'failed') void spare.promise.catch(() => undefined);
    this.#current = replacement;
    this.replacements++;
    // The new spare starts once the replacement is serving, so the two do not compete for the CPU.
    replacement.then(() => this.#refillSpare(), () => undefined);
    replacement.then(
      () => {
        this.lastReplacementMs = performance.now() - t0;
        this.#options.onReplaced?.({ code: error.code, readyMs: this.lastReplacementMs });
      },
      () => undefined,
    );
  }

  #refillSpare(): void {
    if (this.#options.spare !== true || this.#closed || this.#spare !== undefined) return;
    const spare = track(this.#spawn());
    this.#spare = spare;
    spare.promise.catch(() => {
      if (this.#spare === spare) this.#spare = undefined;
    });
  }

  #dropSpare(): void {
    const spare = this.#spare;
    this.#spare = undefined;
    spare?.promise.then((live) => {
      live.dead = true;
      void live.worker.terminate();
    }, () => undefined);
  }

  #kill(live: Live, error: SealWorkerFaultError): void {
    live.dead = true;
    for (const p of live.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    live.pending.clear();
  }
}

function concat(parts: readonly Uint8Array[]): ArrayBuffer {
  let n = 0;
  for (const [i, p] of parts.entries()) {
    if (!(p instanceof Uint8Array)) throw new TypeError(`packed[${i}] must be a Uint8Array`);
    n += p.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out.buffer;
}
