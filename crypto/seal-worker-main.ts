/**
 * Body of a SEAL worker thread, supervised by `SealWorker` (seal-worker.ts).
 * Holds one HeContext and, as configured at start, a decryptor (key holder)
 * and/or an encryptor (shop). Serves one request at a time; results travel
 * back as transferred buffers. The secret key arrives once in workerData and
 * the copy here is wiped as soon as SEAL has loaded it; it is never logged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HeContext } from './context.js';
import { internalsOf } from './context-internals.js';
import { HeDecryptor, HeEncryptor } from './keys.js';
import { FedmartCryptoError } from './errors.js';
import type { SealWorkerData, SealWorkerRequest, SealWorkerResponse, SealWorkerStartMessage, SerializedError, TestFault } from './seal-worker.js';

const port = parentPort;
if (port === null) throw new Error('seal-worker-main.ts must run in a worker thread');
const data = workerData as SealWorkerData;

function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const code = e instanceof FedmartCryptoError ? e.code : undefined;
    return { name: e.name, message: e.message, ...(code === undefined ? {} : { code }) };
  }
  return { name: 'Error', message: String(e) };
}

/**
 * Test-only faults; reachable only when the supervisor was started with
 * testHooks. Returns true when the request must get no reply.
 */
function fault(mode: TestFault, ctx: HeContext): boolean {
  switch (mode) {
    case 'exit':
      process.exit(70);
      return true;
    case 'throw':
      // An uncaught exception ends the thread with an 'error' event.
      setImmediate(() => {
        throw new Error('test fault: uncaught exception in the SEAL worker');
      });
      return true;
    case 'hang':
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    case 'wasm-abort': {
      // What hostile bytes do to SEAL without validation: load garbage into it.
      const { seal, context } = internalsOf(ctx);
      const c = seal.CipherText();
      try {
        c.loadArray(context, new Uint8Array(64).fill(0x5e));
      } catch (e) {
        throw new FedmartCryptoError('SEAL_FAILURE', `test fault: SEAL rejected garbage: ${String(e)}`);
      }
      return false;
    }
  }
}

async function main(): Promise<void> {
  let ctx: HeContext | undefined;
  let decryptor: HeDecryptor | undefined;
  let encryptor: HeEncryptor | undefined;
  try {
    ctx = await HeContext.create(data.paramSet);
    if (data.secretKey !== undefined) {
      try {
        decryptor = new HeDecryptor(ctx, data.secretKey);
      } finally {
        data.secretKey.fill(0);
      }
    }
    if (data.publicKey !== undefined) encryptor = new HeEncryptor(ctx, data.publicKey);
  } catch (e) {
    port!.postMessage({ type: 'start-error', error: serializeError(e) } satisfies SealWorkerStartMessage);
    return;
  }
  const he = ctx;
  const slotCount = he.slotCount;
  const packedLength = he.packedCiphertextByteLength;

  port!.on('message', (req: SealWorkerRequest) => {
    let reply: SealWorkerResponse;
    const transfer: ArrayBuffer[] = [];
    try {
      if (req.fault !== undefined) {
        if (!data.testHooks) throw new FedmartCryptoError('SEAL_WORKER_TEST_HOOKS_OFF', 'test faults are disabled');
        if (fault(req.fault, he)) return;
      }
      switch (req.op) {
        case 'decrypt': {
          if (decryptor === undefined) throw new FedmartCryptoError('SEAL_WORKER_NO_SECRET_KEY', 'this SEAL worker holds no secret key');
          const packed = new Uint8Array(req.data);
          if (packed.length !== req.count * packedLength) throw new RangeError(`expected ${req.count} packed ciphertexts of ${packedLength} bytes`);
          const out = new BigUint64Array(req.count * slotCount);
          for (let i = 0; i < req.count; i++) {
            out.set(decryptor.decryptPacked(packed.subarray(i * packedLength, (i + 1) * packedLength)), i * slotCount);
          }
          transfer.push(out.buffer);
          reply = { id: req.id, ok: true, data: out.buffer, count: req.count };
          break;
        }
        case 'encrypt': {
          if (encryptor === undefined) throw new FedmartCryptoError('SEAL_WORKER_NO_PUBLIC_KEY', 'this SEAL worker holds no public key');
          const slots = new BigUint64Array(req.data);
          if (slots.length !== req.count * slotCount) throw new RangeError(`expected ${req.count} slot vectors of ${slotCount} values`);
          const out = new Uint8Array(req.count * packedLength);
          for (let i = 0; i < req.count; i++) {
            out.set(encryptor.encryptPacked(slots.subarray(i * slotCount, (i + 1) * slotCount)), i * packedLength);
          }
          transfer.push(out.buffer);
          reply = { id: req.id, ok: true, data: out.buffer, count: req.count };
          break;
        }
        case 'encrypt-zeros': {
          if (encryptor === undefined) throw new FedmartCryptoError('SEAL_WORKER_NO_PUBLIC_KEY', 'this SEAL worker holds no public key');
          const length = he.ciphertextByteLength;
          const out = new Uint8Array(req.count * length);
          const zeros = encryptor.encryptZeros(req.count);
          zeros.forEach((z, i) => {
            out.set(z, i * length);
            z.fill(0);
          });
          transfer.push(out.buffer);
          reply = { id: req.id, ok: true, data: out.buffer, count: req.count };
          break;
        }
        case 'set-public-key': {
          const next = new HeEncryptor(he, new Uint8Array(req.data));
          encryptor?.close();
          encryptor = next;
          reply = { id: req.id, ok: true, data: new ArrayBuffer(0), count: 0 };
          break;
        }
        case 'ping':
          reply = { id: req.id, ok: true, data: new ArrayBuffer(0), count: 0 };
          break;
      }
    } catch (e) {
      // A C++ exception inside SEAL leaks WASM memory and may have corrupted
      // the instance: the supervisor replaces this worker.
      const error = serializeError(e);
      reply = { id: req.id, ok: false, error, fatal: error.code === 'SEAL_FAILURE' || error.name === 'RuntimeError' };
    }
    port!.postMessage(reply, transfer);
  });
  port!.postMessage({ type: 'ready' } satisfies SealWorkerStartMessage);
}

void main();
