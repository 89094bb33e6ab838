/**
 * The services as a deployment runs them, over TLS on 127.0.0.1 (certificates
 * from `fedmart init`): key holder, coordinator (mutual TLS to the key
 * holder) and a merchant node (TLS to the coordinator) write nothing but
 * JSON lines on stderr, so log shippers parse every line. A TLS client
 * that sent the IP address as server name made Node print a plain-text
 * DEP0123 warning there. The stderr files are kept under test-output/logs/
 * for scripts/scan-logs.mjs as well.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, DEPLOYMENT_FILES } from '../../cli/deployment.js';
import { spawnService, type ServiceProcess } from '../../bench/spawn-service.js';
import { cryptoReady, issueEnrolmentToken } from '../../crypto/index.js';
import { readSeedFile } from '../../cli/identity-options.js';
import { writeSynth } from '../../synth/index.js';
import { notJsonLines } from '../../scripts/scan-logs.mjs';
import { testLogCopyPath } from '../../harness/test-logs.js';

const TOKEN = 'service-stderr-test-token-0123456789';

describe('services write only JSON on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmart-stderr-'));
  const logs: Record<string, string> = {};
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    await cryptoReady();
    const deployment = join(dir, 'deployment');
    await createDeployment(deployment);
    const manifest = await writeSynth(join(dir, 'data'), { shops: 3, seed: 'stderr', stateDir: join(dir, 'state') });
    const shop = manifest.shops[0]!;
    const start = async (name: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
      logs[name] = testLogCopyPath(join(dir, `${name}.log`));
      const service = await spawnService(args, logs[name], env, 150_000);
      services.push(service);
      return service;
    };
    const keyholder = await start('keyholder', ['keyholder', '--data', join(dir, 'keyholder'), '--listen', '127.0.0.1:0', '--deployment', deployment]);
    const coordinator = await start('coordinator', ['coordinator', '--keyholder', String(keyholder.ready.address),
      '--keyholder-key', String(keyholder.ready.signingKey), '--db', 'memory://', '--deployment', deployment,
      '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0'], { FEDMART_API_TOKEN: TOKEN });
    const authoritySeed = readSeedFile(join(deployment, DEPLOYMENT_FILES.enrolmentAuthoritySeed), 'authority');
    await start('merchant', ['merchant', '--id', shop.shopId, '--data', join(dir, 'data', shop.dir), '--state', join(dir, 'state', shop.shopId),
      '--coordinator', String(coordinator.ready.grpc), '--coordinator-ca', join(deployment, DEPLOYMENT_FILES.caCert),
      '--keyholder-key', String(keyholder.ready.signingKey), '--poll-ms', '200'],
    { FEDMART_ENROL_TOKEN: issueEnrolmentToken({ authoritySeed, merchantId: shop.shopId }) });
    // Each service has now made its TLS connections: the coordinator fetched the key holder's key, the merchant enrolled.
    for (const s of services.reverse()) await s.stop();
  }, 300_000);

  afterAll(async () => {
    for (const s of services) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['keyholder', 'coordinator', 'merchant'])('%s', async (name) => {
    const file = logs[name]!;
    // The log stream is closed once the process is gone and its stderr pipe has ended.
    let text = readFileSync(file, 'utf8');
    for (let i = 0; i < 50 && text !== '' && !text.endsWith('\n'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = readFileSync(file, 'utf8');
    }
    const lines = text.split('\n');
    // The key holder and the coordinator log their start; a merchant node may say nothing.
    if (name !== 'merchant') expect(lines.filter((l) => l.trim() !== '').length).toBeGreaterThan(0);
    expect(notJsonLines(lines).map((n) => lines[n - 1])).toEqual([]);
  });
});
