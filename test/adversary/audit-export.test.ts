/**
 * Audit export completeness against a running coordinator. The attack
 * found: a bundle whose last in-range entries were withheld (sections
 * recomputed, re-signed with the audit key) passed `fedmart audit verify`.
 * Here a compliance officer exports a range from the coordinator process,
 * the entries at the end of the range are withheld exactly that way with the
 * coordinator's own audit key, and `fedmart audit verify` fails naming the
 * first missing entry; the untouched bundle verifies.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeyPairFromSeed, toHex } from '../../crypto/index.js';
import { deriveSections, type AuditBundle } from '../../compliance/index.js';
import { parseAuditEntry } from '../../compliance/audit-events.js';
import { signAuditBundle } from '../../compliance/audit-bundle.js';
import { startAdversaryCluster, type AdversaryCluster } from './adversary-cluster.js';

const BIN = fileURLToPath(new URL('../../bin/fedmart.mjs', import.meta.url));

function verify(file: string, keyHex: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, 'audit', 'verify', file, '--key', keyHex], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('a compliance officer\'s export cannot lose entries unnoticed', () => {
  let cluster: AdversaryCluster;

  beforeAll(async () => {
    cluster = await startAdversaryCluster({ shops: 3, seed: 'adversary-audit', customersPerShop: { min: 40, max: 80 }, purposes: ['marketing-analytics'] });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('fails verification when the last in-range entries are withheld and everything is re-signed with the audit key', async () => {
    const started = new Date(Date.now() - 3_600_000).toISOString();
    for (const groupBy of ['lifecycle_stage', 'age_band']) {
      const q = await cluster.query('segment-stats', { purpose: 'marketing-analytics', groupBy });
      expect(q.status, q.statusReason ?? '').toBe('released');
    }
    const officer = await cluster.admin<{ token: string }>('POST', '/v1/users', { userId: 'dpo-check', role: 'compliance' });
    expect(officer.status).toBe(201);
    const job = await fetch(`${cluster.http}/v1/audit/exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${officer.body.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: started, to: new Date().toISOString() }),
    });
    expect(job.status).toBeLessThan(300);
    const bundle = (await job.json()) as AuditBundle;
    const keys = signingKeyPairFromSeed(readFileSync(cluster.auditSeedFile));
    const intact = join(cluster.dir, 'intact.json');
    writeFileSync(intact, JSON.stringify(bundle));
    expect(verify(intact, toHex(keys.publicKey)).code).toBe(0);

    // The operator holding the audit key drops the last two entries of the range, recomputes the sections
    // from what is left and signs again: shape, proofs, sections and signature all check out.
    const { signature: _signature, ...unsigned } = JSON.parse(JSON.stringify(bundle)) as AuditBundle;
    const kept = unsigned.entries.slice(0, -2);
    const withheldSeq = unsigned.entries.at(-2)!.seq;
    const forged = signAuditBundle({
      ...unsigned,
      entries: kept,
      range: { ...unsigned.range, lastSeq: kept.at(-1)?.seq ?? null },
      sections: deriveSections(kept.map((e) => parseAuditEntry(e.entry)), unsigned.registers),
    }, keys.secretKey);
    const file = join(cluster.dir, 'forged.json');
    writeFileSync(file, JSON.stringify(forged));
    const r = verify(file, toHex(keys.publicKey));
    expect(r.code).toBe(1);
    expect(r.out).toContain(`entry ${withheldSeq} is missing`);
  }, 180_000);
});
