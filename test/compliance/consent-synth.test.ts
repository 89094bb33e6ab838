/**
 * The consent files `fedmart synth` writes: deterministic per seed, loadable,
 * in agreement with the `consent_analytics` column, and recomputable from the
 * pooled files by an evaluator that shares no code with compliance/.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConsentLedger } from '../../client-sdk/consent-source.js';
import { loadShopData } from '../../client-sdk/load-shop-data.js';
import { DEFAULT_PURPOSES, loadOrCreatePseudonymKey, parsePurposeRegistry, pseudonymise } from '../../compliance/consent.js';
import { EXCLUSION_REASONS } from '../../compliance/consent-evaluate.js';
import { parseFieldClassification } from '../../compliance/deidentify.js';
import { writeSynth } from '../../synth/index.js';
import { generateSynth } from '../../synth/generate.js';
import type { SynthManifest } from '../../synth/write.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'fedmart-consent-synth-'));
const KEY_FILE = join('.fedmart-state', 'pseudonym.key');
const NEW_FILES = ['consents.jsonl', 'rights-requests.jsonl', 'fields.json', 'purposes.json', KEY_FILE];
const MARKETING = DEFAULT_PURPOSES.find((p) => p.name === 'marketing-analytics')!;
const END = new Date('2026-01-01T00:00:00Z');

let dirA: string;
let dirB: string;
let manifest: SynthManifest;

beforeAll(async () => {
  dirA = tmp();
  dirB = tmp();
  manifest = await writeSynth(dirA, { shops: 4, seed: 'consent-7', customersPerShop: { min: 300, max: 900 } });
  await writeSynth(dirB, { shops: 4, seed: 'consent-7', customersPerShop: { min: 300, max: 900 } });
});

describe('synth consent files', () => {
  it('are byte-identical for the same seed and differ for another seed', async () => {
    for (const s of manifest.shops) {
      for (const f of NEW_FILES) expect(readFileSync(join(dirB, s.dir, f)).equals(readFileSync(join(dirA, s.dir, f))), `${s.dir}/${f}`).toBe(true);
    }
    for (const f of ['consents.jsonl', 'rights-requests.jsonl']) expect(readFileSync(join(dirB, 'pooled', f)).equals(readFileSync(join(dirA, 'pooled', f))), f).toBe(true);
    const other = generateSynth({ shops: 1, seed: 'consent-8', customersPerShop: 300 }).shops[0]!.consent;
    const same = generateSynth({ shops: 1, seed: 'consent-7', customersPerShop: 300 }).shops[0]!.consent;
    expect(other.consents.map((c) => c.record.recordId)).not.toEqual(same.consents.map((c) => c.record.recordId));
  });

  it('leave the customer and order data of a seed unchanged', async () => {
    // SHA-256 over these CSVs as written before consent, session and
    // shop-metrics files existed: those streams are forked separately, so
    // adding them moved nothing. (campaigns.csv has since gained the opened
    // column and a hold-out campaign, so it is no longer part of the digest.)
    const dir = tmp();
    const m = await writeSynth(dir, { shops: 2, seed: 42, customersPerShop: 50 });
    const h = createHash('sha256');
    for (const s of m.shops) for (const f of ['customers.csv', 'orders.csv']) h.update(readFileSync(join(dir, s.dir, f)));
    for (const f of ['customers.csv', 'orders.csv']) h.update(readFileSync(join(dir, 'pooled', f)));
    expect(h.digest('hex')).toBe('390fb31cf7332b05826adf3283888abbbb22dd0ffe5a8cc6bc5ae5a457e8cdda');
  });

  it('keep the pseudonym key private, in the state folder, and the records keyed by it', async () => {
    const dir = join(dirA, manifest.shops[0]!.dir);
    expect(statSync(join(dir, KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, '.fedmart-state')).mode & 0o777).toBe(0o700);
    expect(existsSync(join(dir, 'pseudonym.key'))).toBe(false);
    const key = await loadOrCreatePseudonymKey(join(dir, KEY_FILE));
    const first = JSON.parse(readFileSync(join(dir, 'consents.jsonl'), 'utf8').split('\n')[0]!) as { customerId: string; subjectPseudonym: string };
    expect(first.subjectPseudonym).toBe(pseudonymise(first.customerId, key));
    expect(JSON.stringify(first)).not.toMatch(/"name"|"phone"/);
  });

  it('ship a valid field classification and purpose registry', () => {
    const dir = join(dirA, manifest.shops[0]!.dir);
    const fields = parseFieldClassification(JSON.parse(readFileSync(join(dir, 'fields.json'), 'utf8')));
    const registry = parsePurposeRegistry(JSON.parse(readFileSync(join(dir, 'purposes.json'), 'utf8')), fields);
    expect(registry.purposes.map((p) => p.name)).toEqual(['marketing-analytics', 'churn-modelling']);
  });

  it('load into ledgers that agree with consent_analytics and have a realistic mix', async () => {
    const totals = Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, 0])) as Record<string, number>;
    const notices = new Set<string>();
    let included = 0;
    let customers = 0;
    for (const s of manifest.shops) {
      const dir = join(dirA, s.dir);
      const key = await loadOrCreatePseudonymKey(join(dir, KEY_FILE));
      const ledger = await loadConsentLedger(dir, { pseudonymKey: key, handledAt: END });
      const data = await loadShopData(dir);
      const ids = data.customers.map((c) => c.customerId);
      for (const cutoff of [END, new Date('2026-11-25T00:00:00Z'), new Date('2028-12-31T00:00:00Z')]) {
        const f = ledger.filterForRound({ purpose: MARKETING, cutoff, customerIds: ids });
        for (const c of data.customers) expect(f.includedCustomerIds.has(c.customerId), `${s.shopId}/${c.customerId}`).toBe(c.consentAnalytics);
      }
      const f = ledger.filterForRound({ purpose: MARKETING, cutoff: END, customerIds: ids });
      included += f.includedCustomerIds.size;
      customers += ids.length;
      for (const r of EXCLUSION_REASONS) totals[r]! += f.excludedByReason[r];
      for (const n of f.noticeVersions) notices.add(n);
      const rate = f.includedCustomerIds.size / ids.length;
      expect(rate).toBeGreaterThan(0.8);
      expect(rate).toBeLessThan(0.97);
    }
    expect(included / customers).toBeGreaterThan(0.85);
    expect(included / customers).toBeLessThan(0.95);
    for (const r of ['rights-request', 'no-record', 'withdrawn', 'expired', 'not-for-purpose', 'opted-out-personalised-marketing']) expect(totals[r], r).toBeGreaterThan(0);
    expect(totals['sensitive-without-separate-consent']).toBe(0);
    expect(notices.size).toBe(2 * manifest.shops.length);
  });
});

// ---------------------------------------------------------------------------
// An independent evaluator over the pooled files (no compliance/ code).

interface PooledEvent {
  type: string;
  at: string;
  actor: string;
  purposes?: string[];
}
interface PooledRecord {
  shopId: string;
  customerId: string;
  purposes: { purpose: string; legalBasis: string }[];
  explicit: boolean;
  personalisedMarketingOptOut: boolean;
  events: PooledEvent[];
  expiresAt?: string;
}
interface PooledRequest {
  shopId: string;
  customerId: string;
  type: string;
  receivedAt: string;
}

function jsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

function independentlyIncluded(pooledDir: string, purpose: string, cutoffMs: number): Set<string> {
  const requests = jsonl<PooledRequest>(join(pooledDir, 'rights-requests.jsonl'));
  const erased = new Set(requests.filter((r) => r.type === 'deletion').map((r) => `${r.shopId}/${r.customerId}`));
  const optedOut = new Set(requests.filter((r) => r.type === 'marketing-opt-out').map((r) => `${r.shopId}/${r.customerId}`));
  const withdrawals = new Map(requests.filter((r) => r.type === 'withdrawal').map((r) => [`${r.shopId}/${r.customerId}`, Date.parse(r.receivedAt)]));
  const out = new Set<string>();
  for (const r of jsonl<PooledRecord>(join(pooledDir, 'consents.jsonl'))) {
    const k = `${r.shopId}/${r.customerId}`;
    if (erased.has(k) || optedOut.has(k) || r.personalisedMarketingOptOut || !r.explicit) continue;
    if (!r.purposes.some((p) => p.purpose === purpose && p.legalBasis === 'consent')) continue;
    const events = r.events.map((e) => ({ ...e, t: Date.parse(e.at) }));
    const w = withdrawals.get(k);
    if (w !== undefined) events.push({ type: 'withdrawn', at: '', actor: 'subject', t: w });
    events.sort((a, b) => a.t - b.t);
    let granted = false;
    for (const e of events) {
      if (e.t > cutoffMs) break;
      if (e.purposes !== undefined && !e.purposes.includes(purpose)) continue;
      if (e.type === 'given' || (e.type === 'modified' && e.purposes !== undefined && e.actor === 'subject')) granted = true;
      if (e.type === 'withdrawn' || e.type === 'expired') granted = false;
    }
    if (granted && r.expiresAt !== undefined && Date.parse(r.expiresAt) <= cutoffMs) granted = false;
    if (granted) out.add(k);
  }
  return out;
}

describe('pooled consent files', () => {
  it('give the same consented population as the shop ledgers and the CSV column', async () => {
    const pooled = independentlyIncluded(join(dirA, 'pooled'), 'marketing-analytics', END.getTime());
    const fromLedgers = new Set<string>();
    for (const s of manifest.shops) {
      const dir = join(dirA, s.dir);
      const ledger = await loadConsentLedger(dir, { handledAt: END });
      const data = await loadShopData(dir);
      const f = ledger.filterForRound({ purpose: MARKETING, cutoff: END, customerIds: data.customers.map((c) => c.customerId) });
      for (const id of f.includedCustomerIds) fromLedgers.add(`${s.shopId}/${id}`);
    }
    expect(pooled.size).toBeGreaterThan(0);
    expect([...pooled].sort()).toEqual([...fromLedgers].sort());
    const csv = readFileSync(join(dirA, 'pooled', 'customers.csv'), 'utf8').split('\n').slice(1).filter((l) => l !== '');
    const consented = csv.map((l) => l.split(',')).filter((c) => c[8] === 'true').map((c) => `${c[0]}/${c[1]}`);
    expect(consented.sort()).toEqual([...pooled].sort());
  });
});
