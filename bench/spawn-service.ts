/**
 * Starts a fedmart subcommand as a separate process and waits for the JSON
 * "ready" line it prints on stdout. Its stderr (pino logs) goes to a file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const BIN = fileURLToPath(new URL('../bin/fedmart.mjs', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly ready: Record<string, unknown>;
  /** Later JSON event lines from stdout. */
  readonly events: Record<string, unknown>[];
  stop(): Promise<void>;
}

export function spawnService(args: readonly string[], logFile: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<ServiceProcess> {
  // FEDMART_BENCH_CPU_PROF=DIR writes a V8 CPU profile of each service into DIR (read with
  // Chrome's DevTools or bench/profile-summary.ts) when the service exits.
  const profileDir = process.env['FEDMART_BENCH_CPU_PROF'];
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stderr.pipe(log);
  const events: Record<string, unknown>[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`fedmart ${args[0]} did not become ready within ${timeoutMs} ms (log: ${logFile})`));
    }, timeoutMs);
    let ready: Record<string, unknown> | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!ready && event.event === 'ready') {
        ready = event;
        clearTimeout(timer);
        resolve({ child, ready, events, stop });
      } else {
        events.push(event);
      }
    });
    child.once('exit', (code, signal) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`fedmart ${args[0]} exited (${code ?? signal}) before it was ready; see ${logFile}`));
      }
    });
  });
}
