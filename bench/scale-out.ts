/**
 * Scale-out benchmark: contributions per second accepted by 1 and by N
 * coordinator processes sharing one PostgreSQL database.
 *
 *   node --import tsx bench/scale-out.ts --db postgres://postgres@127.0.0.1:5432/test
 *        [--coordinators 1,3] [--merchants 60] [--queries 4] [--concurrency 24] [--out bench/scale-out.json]
 *
 * `--db` names a database the bench may connect to in order to create (and
 * afterwards drop) a database of its own. The bench prepares every
 * contribution first — real merchant nodes on synthetic shops encrypt and
 * sign them, and are closed again — so that only the coordinators' work is
 * timed: reading the stream, checking sizes, signature, binding, consent
 * attestation and every ciphertext coefficient, the transaction that
 * stores the contribution and appends the audit entry, and adding it to
 * the coordinator's running sum in memory. Each configuration gets its own set of queries (kept
 * open: their target is above the number of merchants), so no release
 * runs while measuring. Contributions go out `--concurrency` at a time,
 * spread round-robin over the coordinators' gRPC addresses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, Metadata } from '@grpc/grpc-js';
import { pino } from 'pino';
import { authorityPublicKeyOf, cryptoReady, issueEnrolmentToken, loadOrCreateSeedFile, signingKeyPairFromSeed, toHex } from '../crypto/index.js';
import { MerchantNode, loadShopCompliance, loadShopData } from '../client-sdk/index.js';
import { startKeyHolder } from '../keyholder/index.js';
import { MerchantServiceClient, type ContributionChunk, type ContributionHeader, type OpenQuery } from '../protos/index.js';
import { writeSynth } from '../synth/index.js';
import { createScratchDatabase } from './scratch-database.js';
import { percentile } from './stats.js';

const BIN = fileURLToPath(new URL('../bin/fedmart.mjs', import.meta.url));
const TOKEN = 'scale-out-bench-token-0123456789';
const CHUNK = 256 * 1024;

interface Prepared {
  readonly header: ContributionHeader;
  readonly body: Uint8Array;
}

interface Coordinator {
  readonly child: ChildProcess;
  readonly grpc: string;
  readonly http: string;
}

/** Result of one configuration. */
export interface ScaleOutFigure {
  readonly coordinators: number;
  readonly contributions: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly max: number };
  readonly bytesPerContribution: number;
  /**
   * CPU milliseconds per contribution while sending, from /proc (Linux):
   * all coordinator processes together, all PostgreSQL server processes,
   * and this load generator.
   */
  readonly cpuMsPerContribution: { readonly coordinators: number; readonly postgres: number; readonly loadGenerator: number } | null;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS = 100;

/** User+system CPU seconds of process `pid` so far, or 0 if it is gone or /proc is missing. */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process named `name` on this machine (e.g. the PostgreSQL server's). */
function cpuOfNamed(name: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === name) total += cpuOf(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

function hasProc(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}


function startCoordinator(args: readonly string[], log: string): Promise<Coordinator> {
  const child = spawn(process.execPath, [BIN, 'coordinator', ...args], { env: { ...process.env, FEDMART_API_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(createWriteStream(log));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`coordinator exited (${code}) before it was ready; see ${log}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as { event?: string; grpc?: string; http?: string };
        if (e.event === 'ready') resolve({ child, grpc: String(e.grpc), http: String(e.http) });
      } catch {
        // not an event line
      }
    });
  });
}

async function stop(c: Coordinator): Promise<void> {
  if (c.child.exitCode !== null) return;
  const exited = new Promise((r) => c.child.once('exit', r));
  c.child.kill('SIGTERM');
  await exited;
}

async function createQuery(c: Coordinator, target: number): Promise<string> {
  const res = await fetch(`${c.http}/v1/queries`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'segment-stats', spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' }, targetMerchants: target, deadlineSeconds: 3600 }),
  });
  const body = (await res.json()) as { queryId?: string };
  if (res.status !== 201 || !body.queryId) throw new Error(`query not created: ${res.status} ${JSON.stringify(body)}`);
  return body.queryId;
}

function send(client: MerchantServiceClient, p: Prepared): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.submitContribution(new Metadata(), { deadline: new Date(Date.now() + 120_000) }, (err) => (err ? reject(err) : resolve()));
    call.write({ header: p.header } satisfies ContributionChunk);
    for (let off = 0; off < p.body.length; off += CHUNK) call.write({ data: Buffer.from(p.body.subarray(off, off + CHUNK)) } satisfies ContributionChunk);
    call.end();
  });
}

/** Sends every prepared contribution, `concurrency` in flight, round-robin over `addresses`. */
async function drive(addresses: readonly string[], work: readonly Prepared[], concurrency: number): Promise<{ seconds: number; latencies: number[] }> {
  const clients = addresses.map((a) => new MerchantServiceClient(a, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 }));
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < work.length; i = next++) {
      const started = performance.now();
      await send(clients[i % clients.length]!, work[i]!);
      latencies.push(performance.now() - started);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return { seconds, latencies };
}

export async function runScaleOutBench(o: { db: string; coordinators: number[]; merchants: number; queries: number; concurrency: number }, progress: (m: string) => void): Promise<ScaleOutFigure[]> {
  await cryptoReady();
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-scale-bench-'));
  const scratch = await createScratchDatabase(o.db, 'fedmart_bench');
  // The enrolment authority (the administrator's, issuing one token per merchant) and the coordinators' request key.
  const authoritySeed = loadOrCreateSeedFile(join(dir, 'enrolment', 'authority.seed'));
  const requestSeedFile = join(dir, 'coordinator', 'request-signing.seed');
  const keyholder = await startKeyHolder({
    dataDir: join(dir, 'keyholder'), logger: pino({ level: 'silent' }),
    enrolmentAuthorityPublicKeyHex: toHex(authorityPublicKeyOf(authoritySeed)),
    coordinatorRequestKeyHex: toHex(signingKeyPairFromSeed(loadOrCreateSeedFile(requestSeedFile)).publicKey),
  });
  const args = (id: string) => ['--keyholder', keyholder.address, '--keyholder-key', keyholder.signingPublicKeyHex, '--db', scratch.url,
    '--enrolment-authority', toHex(authorityPublicKeyOf(authoritySeed)), '--request-key', requestSeedFile,
    '--audit-key', join(dir, 'audit.seed'), '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0', '--id', id];
  const figures: ScaleOutFigure[] = [];
  try {
    progress(`synthesising ${o.merchants} shops`);
    const manifest = await writeSynth(join(dir, 'shops'), { shops: o.merchants, seed: 'scale-out-bench', customersPerShop: { min: 50, max: 120 } });
    // One coordinator to enrol merchants and publish every configuration's queries up front.
    const setup = await startCoordinator(args('setup'), join(dir, 'setup.log'));
    const queryIds = new Map<number, string[]>();
    for (const n of o.coordinators) {
      const ids: string[] = [];
      for (let q = 0; q < o.queries; q++) ids.push(await createQuery(setup, Math.min(100, o.merchants + 1)));
      queryIds.set(n, ids);
    }
    const work = new Map<number, Prepared[]>(o.coordinators.map((n) => [n, []]));
    for (const [i, s] of manifest.shops.entries()) {
      if (i % 10 === 0) progress(`preparing contributions: merchant ${i + 1} of ${manifest.shops.length}`);
      const shopDir = join(dir, 'shops', s.dir);
      const node = await MerchantNode.create({
        merchantId: s.shopId, coordinatorAddress: setup.grpc, data: await loadShopData(shopDir, s.shopId),
        compliance: await loadShopCompliance(shopDir), stateDir: join(dir, 'state', s.shopId), keyholderSigningKeyHex: keyholder.signingPublicKeyHex,
        enrolmentToken: issueEnrolmentToken({ authoritySeed, merchantId: s.shopId }),
        logger: pino({ level: 'silent' }),
      });
      try {
        await node.enrol();
        await node.loadPublicKey();
        const open = new Map((await node.openQueries()).map((q) => [q.queryId, q] as [string, OpenQuery]));
        for (const [n, ids] of queryIds) {
          for (const id of ids) {
            const built = node.buildContribution(open.get(id)!);
            work.get(n)!.push({ header: built.header, body: Buffer.concat(built.ciphertexts) });
          }
        }
      } finally {
        node.close();
      }
    }
    await stop(setup);
    for (const n of o.coordinators) {
      progress(`${n} coordinator(s): starting`);
      const running = await Promise.all(Array.from({ length: n }, (_, k) => startCoordinator(args(`c${k + 1}`), join(dir, `c${n}-${k + 1}.log`))));
      try {
        const items = work.get(n)!;
        // Interleave queries so that concurrent contributions go to different rounds, as in production.
        const ordered = items.map((p, i) => ({ p, k: (i % o.queries) * items.length + Math.floor(i / o.queries) })).sort((a, b) => a.k - b.k).map((x) => x.p);
        progress(`${n} coordinator(s): sending ${ordered.length} contributions, ${o.concurrency} at a time`);
        const proc = hasProc();
        const coordinatorCpu = () => running.reduce((t, c) => t + cpuOf(c.child.pid ?? 0), 0);
        const before = proc ? { c: coordinatorCpu(), pg: cpuOfNamed('postgres'), self: process.cpuUsage() } : undefined;
        const { seconds, latencies } = await drive(running.map((c) => c.grpc), ordered, o.concurrency);
        const perContribution = (cpuSeconds: number) => Number(((cpuSeconds * 1000) / ordered.length).toFixed(2));
        const self = before ? process.cpuUsage(before.self) : undefined;
        const cpu = before && self
          ? {
              coordinators: perContribution(coordinatorCpu() - before.c),
              postgres: perContribution(cpuOfNamed('postgres') - before.pg),
              loadGenerator: perContribution((self.user + self.system) / 1e6),
            }
          : null;
        latencies.sort((a, b) => a - b);
        figures.push({
          coordinators: n,
          contributions: ordered.length,
          seconds: Number(seconds.toFixed(2)),
          perSecond: Number((ordered.length / seconds).toFixed(1)),
          latencyMs: { p50: Math.round(percentile(latencies, 0.5)), p95: Math.round(percentile(latencies, 0.95)), max: Math.round(latencies[latencies.length - 1] ?? 0) },
          bytesPerContribution: ordered[0]?.body.length ?? 0,
          cpuMsPerContribution: cpu,
        });
        progress(`${n} coordinator(s): ${figures[figures.length - 1]!.perSecond} contributions/s`);
      } finally {
        for (const c of running) await stop(c);
      }
    }
    return figures;
  } finally {
    await keyholder.close();
    await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      coordinators: { type: 'string', default: '1,3' },
      merchants: { type: 'string', default: '60' },
      queries: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '24' },
      out: { type: 'string', default: fileURLToPath(new URL('./scale-out.json', import.meta.url)) },
    },
  });
  const db = values.db ?? process.env.FEDMART_TEST_DATABASE_URL;
  if (!db) throw new Error('--db postgres://... (or FEDMART_TEST_DATABASE_URL) is required');
  const options = {
    db,
    coordinators: values.coordinators.split(',').map(Number),
    merchants: Number(values.merchants),
    queries: Number(values.queries),
    concurrency: Number(values.concurrency),
  };
  const figures = await runScaleOutBench(options, (m) => process.stderr.write(`${m}\n`));
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
  writeFileSync(values.out, JSON.stringify({ measuredAt: new Date().toISOString(), machine, options: { ...options, db: undefined }, figures }, null, 2) + '\n');
  console.log(`${machine.cpus} CPUs (${machine.cpu}), node ${machine.node}; ${figures[0]?.bytesPerContribution ?? 0} bytes of ciphertext per contribution`);
  console.log('coordinators  contributions  seconds  contributions/s  p50 ms  p95 ms  CPU ms per contribution: coordinators / postgres / load generator');
  for (const f of figures) {
    const cpu = f.cpuMsPerContribution ? `${f.cpuMsPerContribution.coordinators} / ${f.cpuMsPerContribution.postgres} / ${f.cpuMsPerContribution.loadGenerator}` : 'n/a';
    console.log(`${String(f.coordinators).padStart(12)}  ${String(f.contributions).padStart(13)}  ${f.seconds.toFixed(2).padStart(7)}  ${f.perSecond.toFixed(1).padStart(15)}  ${String(f.latencyMs.p50).padStart(6)}  ${String(f.latencyMs.p95).padStart(6)}  ${cpu}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
