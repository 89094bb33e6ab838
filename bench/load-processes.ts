/**
 * The load benchmark's services as separate processes (`fedmart keyholder`,
 * `fedmart coordinator`), and a sampler that reads their resident memory
 * and CPU time from /proc every 100 ms (Linux; elsewhere it records nothing).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnService, type ServiceProcess } from './spawn-service.js';
import { authorityPublicKeyOf, loadOrCreateSeedFile, toHex } from '../crypto/index.js';

export const LOAD_API_TOKEN = 'load-bench-token-0123456789abcdef';

export interface KeyHolderProcess {
  readonly service: ServiceProcess;
  readonly address: string;
  readonly signingKeyHex: string;
}

export interface CoordinatorProcess {
  readonly service: ServiceProcess;
  readonly grpc: string;
  readonly http: string;
}

/**
 * The deployment's identities, as `fedmart init` would make them: the
 * enrolment authority's seed (the administrator issues one token per
 * merchant with it) and the seed of the coordinators' release-request key.
 */
export interface Identities {
  readonly authoritySeed: Uint8Array;
  readonly authorityPublicKeyHex: string;
  readonly requestSeedFile: string;
}

export function createIdentities(dir: string): Identities {
  const authoritySeed = loadOrCreateSeedFile(join(dir, 'enrolment', 'authority.seed'));
  const requestSeedFile = join(dir, 'coordinator', 'request-signing.seed');
  loadOrCreateSeedFile(requestSeedFile);
  return { authoritySeed, authorityPublicKeyHex: toHex(authorityPublicKeyOf(authoritySeed)), requestSeedFile };
}

export async function startKeyHolderProcess(dir: string, ids: Identities): Promise<KeyHolderProcess> {
  const service = await spawnService(['keyholder', '--data', join(dir, 'keyholder'), '--listen', '127.0.0.1:0',
    '--enrolment-authority', ids.authorityPublicKeyHex, '--coordinator-key', ids.requestSeedFile], join(dir, 'keyholder.log'));
  return { service, address: String(service.ready.address), signingKeyHex: String(service.ready.signingKey) };
}

export interface CoordinatorProcessOptions {
  readonly dir: string;
  readonly name: string;
  readonly keyholder: KeyHolderProcess;
  readonly identities: Identities;
  /** `--db` value: a PGlite folder, `memory://` or a postgres:// URL. */
  readonly db: string;
  readonly extraArgs?: readonly string[];
}

export async function startCoordinatorProcess(o: CoordinatorProcessOptions): Promise<CoordinatorProcess> {
  const args = ['coordinator', '--keyholder', o.keyholder.address, '--keyholder-key', o.keyholder.signingKeyHex, '--db', o.db,
    '--enrolment-authority', o.identities.authorityPublicKeyHex, '--request-key', o.identities.requestSeedFile, '--audit-key', join(o.dir, 'audit.seed'), '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0', '--id', o.name, ...(o.extraArgs ?? [])];
  const service = await spawnService(args, join(o.dir, `${o.name}.log`), { FEDMART_API_TOKEN: LOAD_API_TOKEN });
  return { service, grpc: String(service.ready.grpc), http: String(service.ready.http) };
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS = 100;

/** User+system CPU seconds of process `pid`, or NaN without /proc. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS and VmHWM (peak RSS since start) of `pid` in KiB, or NaN without /proc. */
export function memoryOf(pid: number): { rssKiB: number; hwmKiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  } catch {
    return { rssKiB: Number.NaN, hwmKiB: Number.NaN };
  }
}

/** The 1, 5 and 15 minute load averages, or null without /proc. */
/** The machine's CPU time counters (`/proc/stat`, all CPUs, in ticks), or null without /proc. */
export interface CpuTimes {
  readonly busy: number;
  readonly idle: number;
  /** Time the hypervisor gave to other guests while this one wanted to run. */
  readonly steal: number;
}

export function machineCpuTimes(): CpuTimes | null {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return null;
  }
}

/** Shares of the machine's CPU time between two readings, in percent: busy, idle and stolen by the hypervisor. */
export function cpuShares(from: CpuTimes | null, to: CpuTimes | null): { readonly busyPercent: number; readonly idlePercent: number; readonly stealPercent: number } | null {
  if (!from || !to) return null;
  const busy = to.busy - from.busy;
  const idle = to.idle - from.idle;
  const steal = to.steal - from.steal;
  const all = busy + idle + steal;
  if (all <= 0) return null;
  const pct = (v: number) => Math.round((1000 * v) / all) / 10;
  return { busyPercent: pct(busy), idlePercent: pct(idle), stealPercent: pct(steal) };
}

export function loadAverage(): [number, number, number] | null {
  try {
    const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
    return [a ?? 0, b ?? 0, c ?? 0];
  } catch {
    return null;
  }
}

export interface Sample {
  /** Milliseconds since the sampler started. */
  readonly t: number;
  readonly rssKiB: number;
  readonly cpuS: number;
}

/** Samples one process every `intervalMs` until stopped. */
export class ProcessSampler {
  readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;
  readonly startedAt = performance.now();

  constructor(readonly pid: number, intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): Sample {
    const s = { t: performance.now() - this.startedAt, rssKiB: memoryOf(this.pid).rssKiB, cpuS: cpuSecondsOf(this.pid) };
    this.samples.push(s);
    return s;
  }

  /** Milliseconds since the sampler started, for marking phases. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  /** Largest RSS sampled in [from, to] (sampler milliseconds), KiB. */
  peakRssKiB(from: number, to: number): number {
    let peak = Number.NaN;
    for (const s of this.samples) if (s.t >= from && s.t <= to && !(s.rssKiB <= peak)) peak = s.rssKiB;
    return peak;
  }

  /** Median RSS sampled in [from, to] (sampler milliseconds), KiB. */
  medianRssKiB(from: number, to: number): number {
    const xs = this.samples.filter((s) => s.t >= from && s.t <= to && Number.isFinite(s.rssKiB)).map((s) => s.rssKiB).sort((a, b) => a - b);
    return xs.length === 0 ? Number.NaN : xs[Math.floor(xs.length / 2)]!;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
