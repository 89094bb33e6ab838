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
 * Folder changes come from the CPU profiler, sampling every 50 µs during
 * the same round. Its call tree says which function called which; a call
 * from a file in one folder into a file in another is a folder change. The
 * script counts the distinct (calling file, called file) pairs that cross
 * folders, and among them those that return to a folder the call had
 * already passed through on its stack (a → b → a). Sampling misses calls
 * shorter than the interval, so these counts vary a little between runs
 * (the file count does not); run it a few times and compare ranges. The
 * third count is the part of those calls that go from a process's file
 * straight into a library's: round logic the process still does itself.
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

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly url: string };
  readonly children?: readonly number[];
}

/** The source folder of a script URL, or undefined when it is not one of ours (or generated code). */
function sourceFolder(url: string): string | undefined {
  if (!url.startsWith('file://')) return undefined;
  const file = relative(ROOT, fileURLToPath(url));
  const folder = file.split('/')[0] ?? '';
  return SOURCE_FOLDERS.has(folder) && !file.includes('/gen/') ? folder : undefined;
}

/**
 * Calls that cross folders in the profile's call tree: distinct
 * (calling file → called file) pairs between source files of different
 * folders, and those whose called folder is already on the caller's stack.
 */
export function folderChanges(nodes: readonly ProfileNode[]): { readonly changes: number; readonly returns: number; readonly arrows: readonly string[] } {
  const children = new Map(nodes.map((n) => [n.id, n.children ?? []]));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const isChild = new Set(nodes.flatMap((n) => n.children ?? []));
  const changes = new Set<string>();
  const returns = new Set<string>();
  // Depth-first with the stack of source files above each node.
  const stack: { id: number; files: readonly string[] }[] = nodes.filter((n) => !isChild.has(n.id)).map((n) => ({ id: n.id, files: [] }));
  while (stack.length > 0) {
    const { id, files } = stack.pop()!;
    const url = byId.get(id)?.callFrame.url ?? '';
    const folder = sourceFolder(url);
    let here = files;
    if (folder !== undefined) {
      const file = relative(ROOT, fileURLToPath(url));
      const caller = files.at(-1);
      if (caller !== undefined && caller !== file) {
        const callerFolder = caller.split('/')[0];
        if (callerFolder !== folder) {
          const arrow = `${caller} -> ${file}`;
          changes.add(arrow);
          if (files.some((f) => f.split('/')[0] === folder)) returns.add(arrow);
        }
      }
      if (caller !== file) here = [...files, file];
    }
    for (const c of children.get(id) ?? []) stack.push({ id: c, files: here });
  }
  return { changes: changes.size, returns: returns.size, arrows: [...changes].sort() };
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
    await session.post('Profiler.setSamplingInterval', { interval: 50 });
    await session.post('Profiler.takePreciseCoverage'); // counts start from here
    await session.post('Profiler.start');
    say(`round ${queryId}: three shops answer…`);
    for (const node of nodes) await node.answerOpenQueries();
    // The closer runs when the target is reached; wait on the stored status, not on the HTTP API.
    for (;;) {
      const q = await cluster.coordinator.store.getQuery(queryId);
      if (q?.status === 'released') break;
      if (q?.status === 'failed') throw new Error(`round failed: ${q.statusCode ?? ''}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[] } };
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
    const { changes, returns, arrows } = folderChanges(profile.nodes);
    // Round logic a process still does itself: its files calling straight into a library's.
    const PROCESSES = ['client-sdk/', 'coordinator/', 'keyholder/'];
    const LIBRARIES = ['crypto/', 'protos/', 'analytics/', 'compliance/'];
    const processToLibrary = arrows.filter((a) => {
      const [from = '', to = ''] = a.split(' -> ');
      return PROCESSES.some((p) => from.startsWith(p)) && LIBRARIES.some((l) => to.startsWith(l));
    }).length;
    if (json) {
      process.stdout.write(`${JSON.stringify({ files: files.length, folders: byFolder.size, folderChanges: changes, folderReturns: returns, processToLibrary, samples: profile.samples.length, arrows, byFolder: Object.fromEntries(byFolder) }, null, 2)}\n`);
    } else {
      for (const [folder, list] of byFolder) process.stdout.write(`${folder} (${list.length}): ${list.map((f) => f.slice(folder.length + 1)).join(', ')}\n`);
      process.stdout.write(`${files.length} source files in ${byFolder.size} folders (generated protobuf code not counted)\n`);
      process.stdout.write(`${changes} calls between files of different folders, ${returns} of them back into a folder already on the stack, ${processToLibrary} from a process (client-sdk, coordinator, keyholder) straight into a library (crypto, protos, analytics, compliance) (${profile.samples.length} samples at 50 µs)\n`);
    }
  } finally {
    await cluster.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`round-path: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
