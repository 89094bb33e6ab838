/**
 * The shell blocks of the documentation run as written, against the live
 * deployment they start: docs/deployment.md's "Running the parts yourself"
 * (init, synth, key holder, coordinator, enrolment tokens, three merchant
 * nodes, a marketer's query over TLS), then docs/people.md's people
 * commands against it (users, a marketer's query with their own token, a
 * compliance officer's signed audit export). Each line is taken from the
 * Markdown at test time, so a doc that drifts from the CLI fails here.
 *
 * What is interpreted rather than run by bash, and why:
 * - `npx fedmart` is this checkout's bin (`node bin/fedmart.mjs`), so nothing
 *   is fetched;
 * - the three services (keyholder, coordinator, merchant) run in the
 *   background until the test ends; the next line waits for their `ready`
 *   line on stdout, as a person waits for the prompt to come back;
 * - `<hex>` is the signing key the key holder prints in its ready line, and
 *   `fm_…` the token `users create` printed for the role the line's comment
 *   names (marketer or compliance officer);
 * - "# ... the same for shop-02 and shop-03" repeats the token and merchant
 *   lines above it for those shops.
 * Every other line runs in bash with the variables set so far, in one
 * working folder, and must exit 0. The ports are the documented ones
 * (7001, 7002, 7080): the test is skipped when one is taken.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'fedmart.mjs');
const PORTS = [7001, 7002, 7080];
const SERVICES = /\$F (keyholder|coordinator|merchant) /;

/** The first ```sh block of a Markdown file, as logical lines (continuations joined, blank lines dropped). */
function shellBlock(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const m = /```sh\n([\s\S]*?)```/.exec(text);
  if (m === null) throw new Error(`${file} has no sh block`);
  return m[1]!
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
  });
}
const portsFree = (await Promise.all(PORTS.map(portFree))).every(Boolean);

/** A running walkthrough: its folder, the shell variables set so far, what the services printed. */
class Walkthrough {
  readonly dir = mkdtempSync(join(tmpdir(), 'fedmart-docs-'));
  readonly services: ChildProcess[] = [];
  /** Shell assignments made so far (F=…, TOKEN=…, export …), replayed before every command. */
  private prelude: string[] = [];
  readonly placeholders = new Map<string, string>();
  readonly tokens = new Map<string, string>();
  readonly outputs: string[] = [];

  /** The line as it runs: this checkout's bin for npx, and the placeholders the earlier output filled in. */
  private resolve(line: string): string {
    let out = line.replaceAll('npx fedmart', `node ${BIN}`);
    const hex = this.placeholders.get('<hex>');
    if (hex !== undefined) out = out.replaceAll('<hex>', hex);
    if (out.includes('fm_…')) {
      const role = /compliance/.test(line) ? 'compliance' : 'marketer';
      const token = this.tokens.get(role);
      if (token === undefined) throw new Error(`no ${role} token was printed before: ${line}`);
      out = out.replaceAll('fm_…', token);
    }
    return out.replace(/\s+#.*$/, '');
  }

  private bash(script: string): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('bash', ['-c', `set -e\n${this.prelude.join('\n')}\n${script}`], { cwd: this.dir, encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts a service line in the background and resolves with its ready event. */
  private async service(line: string): Promise<Record<string, unknown>> {
    // Its own process group, so that the service bash started goes down with it.
    const child = spawn('bash', ['-c', `${this.prelude.join('\n')}\n${line}`], { cwd: this.dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.services.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    return new Promise((ok, fail) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        for (const l of buf.split('\n').slice(0, -1)) {
          const event = JSON.parse(l) as Record<string, unknown>;
          if (event['event'] === 'ready') ok(event);
        }
        buf = buf.slice(buf.lastIndexOf('\n') + 1);
      });
      child.once('exit', (code) => fail(new Error(`${line}\nexited ${code} before it was ready:\n${stderr}`)));
    });
  }

  /** Runs one logical line of a block. */
  async run(raw: string, previous: readonly string[]): Promise<void> {
    if (/^#\s*\.\.\. the same for (shop-\d+) and (shop-\d+)/.test(raw)) {
      const [, a, b] = /(shop-\d+) and (shop-\d+)/.exec(raw)!;
      const template = previous.filter((l) => /shop-01/.test(l) && !l.startsWith('#'));
      for (const shop of [a!, b!]) for (const l of template) await this.run(l.replaceAll('shop-01', shop), []);
      return;
    }
    if (raw.startsWith('#')) return;
    const line = this.resolve(raw);
    if (SERVICES.test(raw.replaceAll('npx fedmart', '$F')) || / (keyholder|coordinator) --deployment/.test(line) || /fedmart\.mjs merchant --deployment/.test(line)) {
      const ready = await this.service(line);
      if (ready['role'] === 'keyholder') this.placeholders.set('<hex>', String(ready['signingKey']));
      return;
    }
    // NAME=value or NAME=$(command): an assignment the later lines use.
    const assign = /^([A-Z_]+)=(.*)$/.exec(line);
    if (assign !== null && !/\s/.test(assign[2]!.replace(/"[^"]*"|\$\([^)]*\)/g, ''))) {
      const r = this.bash(`${assign[1]}=${assign[2]}\nprintf %s "$${assign[1]}"`);
      expect(r.status, `${raw}\n${r.stderr}`).toBe(0);
      this.prelude.push(`${assign[1]}=${shellQuote(r.stdout)}`);
      return;
    }
    if (line.startsWith('export ')) {
      this.prelude.push(line);
      return;
    }
    const r = this.bash(line);
    this.outputs.push(`$ ${raw}\n${r.stdout}`);
    expect(r.status, `${raw}\n${r.stdout}\n${r.stderr}`).toBe(0);
    const token = /^token: (fm_\S+)$/m.exec(r.stdout);
    const role = /--role (\w+)/.exec(line);
    if (token !== null && role !== null) this.tokens.set(role[1]!, token[1]!);
  }

  close(): void {
    for (const c of this.services) if (c.exitCode === null && c.pid !== undefined) process.kill(-c.pid, 'SIGTERM');
  }
}

/** The environment without FEDMART_* settings of whoever runs the tests: the lines set what they need. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FEDMART_')));
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe.skipIf(!portsFree)(`the documentation's shell blocks run as written${portsFree ? '' : ` (skipped: one of ports ${PORTS.join(', ')} is taken)`}`, () => {
  let walk: Walkthrough;
  beforeAll(() => {
    walk = new Walkthrough();
  });
  afterAll(async () => {
    const exited = walk.services.map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
    walk.close();
    await Promise.all(exited);
    rmSync(walk.dir, { recursive: true, force: true });
  });

  it("deployment.md: starts the parts, enrols three shops and releases a marketer's segment table over TLS", async () => {
    const lines = shellBlock('docs/deployment.md');
    expect(lines.some((l) => /query segment/.test(l))).toBe(true);
    for (let i = 0; i < lines.length; i++) await walk.run(lines[i]!, lines.slice(0, i));
    expect(walk.services.filter((c) => c.exitCode === null)).toHaveLength(5);
    const query = walk.outputs.at(-1)!;
    // The released table: one row per lifecycle stage with its customers.
    expect(query).toMatch(/active/);
  }, 600_000);

  it('people.md: creates a marketer and a compliance officer, who query and export a signed audit report with their own tokens', async () => {
    const lines = shellBlock('docs/people.md');
    for (let i = 0; i < lines.length; i++) await walk.run(lines[i]!, lines.slice(0, i));
    expect([...walk.tokens.keys()].sort()).toEqual(['compliance', 'marketer']);
    const report = JSON.parse(readFileSync(join(walk.dir, 'report.json'), 'utf8')) as { sections?: unknown };
    expect(report.sections).toBeDefined();
    if (existsSync('/usr/bin/chromium')) expect(existsSync(join(walk.dir, 'report.pdf'))).toBe(true);
  }, 600_000);
});
