/**
 * The query form's starting specs (coordinator/console/spec-templates.js):
 * for every kind the console offers, the spec it fills in is one that kind's
 * parser accepts, follows the kind guide's worked example, and refers to
 * data the synthetic demo shops hold (as-of instant at the end of their
 * history, campaign ids, channels and months they export), so running the
 * form unchanged gives a result with something in it.
 */
import { describe, expect, it } from 'vitest';
import { kindGuide } from '../../analytics/kind-guide.js';
import { getQueryDefinition, listQueryKinds } from '../../analytics/registry.js';
import { MESSAGES } from '../../coordinator/console/i18n.js';
import { EXAMPLE_AS_OF, EXAMPLE_CAMPAIGN_ID, USER_KINDS, fitTemplate, specProblem, specTemplate } from '../../coordinator/console/spec-templates.js';
import { gbtFitDefinition } from '../../analytics/gradient-boosted-trees.js';
import { getModelDefinition, listModelKinds } from '../../analytics/registry.js';
import { DEFAULT_PURPOSES, assertFieldsAllowed } from '../../compliance/index.js';
import { makeShops } from '../../harness/shops.js';
import { generateSynth } from '../../synth/generate.js';
import { consentedViews, fitGbtInProcess } from '../helpers/gbt-in-process.js';

const PURPOSE = 'marketing-analytics';

describe('spec-templates.js', () => {
  it('offers only registered query kinds', () => {
    const registered = listQueryKinds();
    for (const kind of USER_KINDS) expect(registered, kind).toContain(kind);
  });

  it.each(USER_KINDS)('fills in a %s spec that its parser accepts', (kind) => {
    const spec = specTemplate(kind, PURPOSE);
    expect(spec.purpose).toBe(PURPOSE);
    expect(() => getQueryDefinition(kind).parseSpec({ ...spec, kind })).not.toThrow();
    expect(specProblem(kind, spec)).toBeNull();
  });

  it('follows the kind guide examples (segment statistics are built from the form fields)', () => {
    for (const kind of USER_KINDS.filter((k) => k !== 'segment-stats')) {
      const { purpose: _p, ...example } = kindGuide(kind)!.example;
      const { purpose: _q, ...template } = specTemplate(kind, PURPOSE);
      expect(template, kind).toEqual(example);
    }
    // The segment form's first grouping, with no other options.
    expect(specTemplate('segment-stats', PURPOSE)).toEqual({ purpose: PURPOSE, groupBy: 'lifecycle_stage' });
  });

  it('carries the purpose picked, and just the purpose for a kind without a template', () => {
    expect(specTemplate('rfm', 'churn-modelling').purpose).toBe('churn-modelling');
    expect(specTemplate('no-such-kind', PURPOSE)).toEqual({ purpose: PURPOSE });
  });

  it('asks for a campaign id before an A/B lift is sent without one, in both languages', () => {
    for (const campaignId of [undefined, '', '   ', 7]) {
      expect(specProblem('ab-lift', { ...specTemplate('ab-lift', PURPOSE), campaignId }), String(campaignId)).toBe('q.campaignRequired');
    }
    expect(specProblem('ab-lift', null)).toBe('q.campaignRequired');
    expect(specProblem('rfm', {})).toBeNull();
    for (const key of ['q.campaignRequired', 'q.campaignHelp', 'q.liftCheckCampaign', 'q.retentionAllWithheld']) {
      expect(MESSAGES.en[key], key).toBeTruthy();
      expect(MESSAGES.zh[key], key).toBeTruthy();
    }
  });

  it('refers to data the synthetic demo shops hold', () => {
    const data = generateSynth({ shops: 3, seed: 1, customersPerShop: 300 });
    // As of the end of the demo history: recent orders exist, cohorts are not all in the future of the data.
    expect(EXAMPLE_AS_OF).toBe(new Date(data.historyEndUnixS * 1000).toISOString().replace('.000Z', 'Z'));
    for (const kind of USER_KINDS) {
      const asOf = specTemplate(kind, PURPOSE).asOf;
      if (asOf !== undefined) expect(asOf, kind).toBe(EXAMPLE_AS_OF);
    }
    const campaigns = new Set(data.shops.flatMap((s) => s.campaigns.map((c) => c.campaignId)));
    expect(campaigns).toContain(EXAMPLE_CAMPAIGN_ID);
    expect(campaigns).toContain(specTemplate('ab-lift', PURPOSE).campaignId);
    for (const id of specTemplate('funnel', PURPOSE).campaigns as string[]) expect(campaigns).toContain(id);
    const channels = new Set(data.shops.flatMap((s) => s.sessions.map((x) => x.channel)));
    for (const c of specTemplate('funnel', PURPOSE).channels as string[]) expect(channels).toContain(c);
    const periods = new Set(data.shops.flatMap((s) => s.shopMetrics.map((m) => m.period)));
    const { from, to } = specTemplate('merchant-benchmark', PURPOSE).periods as { from: string; to: string };
    expect(periods).toContain(from);
    expect(periods).toContain(to);
    // Most retention cohorts (first-order months, Beijing time) have customers.
    const retention = specTemplate('cohort-retention', PURPOSE);
    const cohortMonths = new Set<string>();
    for (const shop of data.shops) {
      const seen = new Set<string>();
      for (const o of shop.orders) {
        if (seen.has(o.customerId)) continue;
        seen.add(o.customerId);
        cohortMonths.add(new Date((o.orderedUnixS + 8 * 3600) * 1000).toISOString().slice(0, 7));
      }
    }
    const first = Number((retention.firstCohort as string).slice(5, 7));
    const declared = Array.from({ length: retention.cohorts as number }, (_, i) => `2025-${String(first + i).padStart(2, '0')}`);
    expect(declared.filter((m) => cohortMonths.has(m)).length).toBeGreaterThan(declared.length / 2);
  });

  it.each(['logistic-regression', 'kmeans', 'gradient-boosted-trees'])('fills in a %s fit spec that its parser accepts, with the purpose picked', (kind) => {
    expect(listModelKinds()).toContain(kind);
    const spec = fitTemplate(kind, PURPOSE);
    expect(spec.purpose).toBe(PURPOSE);
    expect(() => getModelDefinition(kind).parseFitSpec({ ...spec, kind })).not.toThrow();
    expect(fitTemplate('no-such-kind', PURPOSE)).toEqual({ purpose: PURPOSE });
  });

  it('fills in a gradient-boosted-trees spec the demo shops can fit: fields the purpose allows, trees that split', async () => {
    const spec = fitTemplate('gradient-boosted-trees', PURPOSE);
    expect(spec.asOf).toBe(EXAMPLE_AS_OF);
    const parsed = gbtFitDefinition.parseFitSpec({ ...spec, kind: 'gradient-boosted-trees' });
    expect(() => assertFieldsAllowed(DEFAULT_PURPOSES.find((p) => p.name === PURPOSE)!, gbtFitDefinition.inputFields(parsed))).not.toThrow();
    // Fitted in process on synthetic demo shops (fewer, shallower trees than the template's, for time).
    const shops = await makeShops(3, 'console-gbt-template', { customersPerShop: { min: 300, max: 300 } });
    const { model } = fitGbtInProcess({ ...spec, trees: 2, depth: 2 }, await consentedViews(shops, PURPOSE), 10);
    expect(model.trees).toHaveLength(2);
    expect(model.trees.every((t) => t.nodes[0]!.kind === 'split')).toBe(true);
  }, 60_000);
});
