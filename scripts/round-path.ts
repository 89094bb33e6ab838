/**
 * Which source files one segment-stats round runs through, shop to released
 * table: a real cluster in this process (key holder, coordinator on
 * embedded PGlite, three merchant nodes), V8 precise coverage reset once
 * everything is started and enrolled, then the round — every shop builds,
 * encrypts, signs and sends its contribution, the coordinator checks and
 * stores it, the closer asks the key holder, the key holder checks again,
 * decrypts under disclosure control and signs, the coordinator finalises.
 * A file counts when at least one of its functions ran. Decryption inside
 * the key holder's SEAL worker thread is not seen (another isolate).
 *
 *   node --import tsx scripts/round-path.ts [--json]
 */
import { Session } from 'node:inspector/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, startCluster } from '../harness/cluster.js';
import { makeMerchants, makeShops } from '../harness/shops.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const SOURCE_FOLDERS = new Set(['crypto', 'protos', 'analytics', 'compliance', 'round', 'client-sdk', 'keyholder', 'coordinator']);

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write('usage: node --import tsx scripts/round-path.ts [--json]\n\nRuns one segment-stats round on a real in-process cluster and lists the source files it ran through.\n');
  process.exit(0);
}

interface FunctionCoverage {
  readonly functionName: string;
  readonly ranges: readonly { readonly count: number }[];
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const say = (m: string) => process.stderr.write(`${m}\n`);
  say('starting a cluster and three shops…');
  const cluster = await startCluster({ minMerchants: 3, minSubjects: 10 }, { coordinator: { closerIntervalMs: 3_600_000 } });
  try {
    const shops = await makeShops(3, 'round-path');
    const nodes = await makeMerchants(shops, cluster.coordinator.grpcAddress, cluster.keyholder.signingPublicKeyHex);
    const created = await api<{ queryId: string }>(cluster, 'POST', '/v1/queries', {
      kind: 'segment-stats',
      spec: { purpose: 'marketing-analytics', groupBy: 'lifecycle_stage' },
      targetMerchants: 3,
      deadlineSeconds: 600,
    });
    if (created.status !== 201) throw new Error(`query not created: HTTP ${created.status}`);
    const queryId = created.body.queryId;

    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
    await session.post('Profiler.takePreciseCoverage'); // counts start from here
    say(`round ${queryId}: three shops answer…`);
    for (const node of nodes) await node.answerOpenQueries();
    // The closer runs when the target is reached; wait on the stored status, not on the HTTP API.
    for (;;) {
      const q = await cluster.coordinator.store.getQuery(queryId);
      if (q?.status === 'released') break;
      if (q?.status === 'failed') throw new Error(`round failed: ${q.statusCode ?? ''}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const { result } = (await session.post('Profiler.takePreciseCoverage')) as { result: { url: string; functions: FunctionCoverage[] }[] };
    await session.post('Profiler.stopPreciseCoverage');
    session.disconnect();
    for (const node of nodes) node.close();

    const files = result
      .filter((s) => s.url.startsWith('file://'))
      .map((s) => ({ file: relative(ROOT, fileURLToPath(s.url)), ran: s.functions.some((f) => (f.ranges[0]?.count ?? 0) > 0) }))
      .filter((f) => f.ran && SOURCE_FOLDERS.has(f.file.split('/')[0] ?? '') && !f.file.includes('/gen/'))
      .map((f) => f.file)
      .sort();
    const byFolder = new Map<string, string[]>();
    for (const f of files) byFolder.set(f.split('/')[0]!, [...(byFolder.get(f.split('/')[0]!) ?? []), f]);
    if (json) {
      process.stdout.write(`${JSON.stringify({ files: files.length, folders: byFolder.size, byFolder: Object.fromEntries(byFolder) }, null, 2)}\n`);
    } else {
      for (const [folder, list] of byFolder) process.stdout.write(`${folder} (${list.length}): ${list.map((f) => f.slice(folder.length + 1)).join(', ')}\n`);
      process.stdout.write(`${files.length} source files in ${byFolder.size} folders (generated protobuf code not counted)\n`);
    }
  } finally {
    await cluster.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`round-path: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
