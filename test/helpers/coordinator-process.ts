/**
 * `fedmart coordinator` as a separate process on fixed ports, for tests
 * that kill it with SIGKILL. A {@link CoordinatorChain} keeps a warm
 * standby (`--standby`) on the same PGlite folder and ports, so a restart
 * after a kill costs the take-over (open the folder, bind the ports), not
 * a whole process start-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { testLogCopyPath } from '../../harness/test-logs.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));

/** A fedmart process whose child is reachable before it is ready (to kill a waiting standby). */
export interface FedmartProcess {
  readonly child: ChildProcess;
  /** The JSON `ready` line; rejects if the process exits first. */
  readonly ready: Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after 5 s; resolves when gone. */
  stop(): Promise<void>;
}

export function spawnFedmart(args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = {}): FedmartProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(createWriteStream(logFile));
  // A copy under test-output/logs/ for scripts/scan-logs.mjs.
  child.stderr.pipe(createWriteStream(testLogCopyPath(logFile)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as Record<string, unknown>;
        if (event.event === 'ready') resolve(event);
      } catch {
        // not an event line
      }
    });
    void exited.then(() => reject(new Error(`fedmart ${args[0]} exited before it was ready; see ${logFile}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface CoordinatorProcessOptions {
  readonly dir: string;
  readonly token: string;
  readonly keyholderAddress: string;
  readonly keyholderKeyHex: string;
  /** `--db` value (a PGlite folder for a chain). */
  readonly db: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly extraArgs?: readonly string[];
}

/** Arguments of a coordinator process; `o.dir` must hold the seeds `testIdentity(o.dir)` writes. */
export function coordinatorArgs(o: CoordinatorProcessOptions): string[] {
  return ['coordinator', '--keyholder', o.keyholderAddress, '--keyholder-key', o.keyholderKeyHex, '--db', o.db,
    '--enrolment-authority', join(o.dir, 'enrolment', 'authority.seed'), '--request-key', join(o.dir, 'coordinator', 'request-signing.seed'),
    '--audit-key', join(o.dir, 'audit.seed'), '--grpc', `127.0.0.1:${o.grpcPort}`, '--http', `127.0.0.1:${o.httpPort}`, ...(o.extraArgs ?? [])];
}

/** Sends SIGKILL to a process and waits until it is gone. */
export async function killHard(p: { readonly child: ChildProcess }): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGKILL');
  await exited;
}

export class CoordinatorChain {
  private started = 0;
  private current: FedmartProcess | undefined;
  private next: FedmartProcess | undefined;
  /** Milliseconds from each kill until the successor was ready. */
  readonly takeoverMs: number[] = [];

  constructor(private readonly options: CoordinatorProcessOptions) {}

  get http(): string {
    return `http://127.0.0.1:${this.options.httpPort}`;
  }

  get grpc(): string {
    return `127.0.0.1:${this.options.grpcPort}`;
  }

  private spawn(standby: boolean): FedmartProcess {
    const n = ++this.started;
    const args = [...coordinatorArgs(this.options), ...(standby ? ['--standby'] : [])];
    return spawnFedmart(args, join(this.options.dir, `coordinator-${n}.log`), { FEDMART_API_TOKEN: this.options.token });
  }

  /** The pid of the coordinator serving now. */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  async start(): Promise<void> {
    this.current = this.spawn(false);
    await this.current.ready;
    this.next = this.spawn(true);
  }

  /** SIGKILLs the running coordinator and waits for the standby to take over; starts a new standby. */
  async crash(): Promise<void> {
    if (!this.current || !this.next) throw new Error('chain not started');
    const t0 = performance.now();
    await killHard(this.current);
    this.current = this.next;
    await this.current.ready;
    this.takeoverMs.push(performance.now() - t0);
    this.next = this.spawn(true);
  }

  /** Stops the standby (still waiting for the folder), then the running coordinator gracefully. */
  async stop(): Promise<void> {
    await this.next?.stop();
    this.next = undefined;
    await this.current?.stop();
    this.current = undefined;
  }
}
