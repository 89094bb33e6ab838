/**
 * The kind guide (`fedmart query kinds KIND`) against the registry and the
 * kinds' own parsers: every registered query and model kind has a guide,
 * every example parses, every member listed is one the schema takes
 * (optional ones may be left out, required ones may not), every member the
 * parser returns is listed, and the allowed values listed are accepted while
 * other values are refused at that member. Spec errors name allowed values,
 * never source files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QuerySpecError } from '../../analytics/errors.js';
import { kindGuide, kindGuides, type GuideMember, type KindGuide } from '../../analytics/kind-guide.js';
import { getModelDefinition, getQueryDefinition, listModelKinds, listQueryKinds } from '../../analytics/registry.js';

type Json = Record<string, unknown>;

/** Parses `spec` as the HTTP layer does: the request's kind added to the spec. */
function parse(g: KindGuide, spec: Json): unknown {
  return g.role === 'query' ? getQueryDefinition(g.kind).parseSpec({ ...spec, kind: g.kind }) : getModelDefinition(g.kind).parseFitSpec({ ...spec, kind: g.kind });
}

type Outcome = { ok: true; parsed: unknown } | { ok: false; path: string; message: string };

function attempt(g: KindGuide, spec: Json): Outcome {
  try {
    return { ok: true, parsed: parse(g, spec) };
  } catch (err) {
    if (!(err instanceof QuerySpecError)) throw err;
    return { ok: false, path: err.path, message: err.message };
  }
}

/** An outcome for assertion messages (parsed specs hold bigints). */
const shown = (o: Outcome): string => (o.ok ? 'parsed' : o.message);

const clone = (x: Json): Json => structuredClone(x);
const isPlain = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function getPath(obj: Json, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (!isPlain(cur) || !Object.hasOwn(cur, key)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** A copy of `obj` with `path` set to `value` (undefined: removed). */
function setPath(obj: Json, path: string, value: unknown): Json {
  const out = clone(obj);
  const keys = path.split('.');
  let cur = out;
  for (const key of keys.slice(0, -1)) {
    if (!isPlain(cur[key])) cur[key] = {};
    cur = cur[key] as Json;
  }
  const last = keys.at(-1) as string;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return out;
}

function withAll(obj: Json, changes: Readonly<Record<string, unknown>>): Json {
  return Object.entries(changes).reduce((o, [p, v]) => setPath(o, p, v), obj);
}

/** A refusal of the member's value itself (not of its combination with another member). */
const refusesValueOf = (o: Outcome, member: string): boolean =>
  !o.ok && (o.path === member || o.path.startsWith(`${member}.`)) && /invalid (option|input|discriminator)|unknown feature/i.test(o.message);

/** The spec with one member set to `v` (a list member: `v` first, the example's others after it). */
function withValue(g: KindGuide, m: GuideMember, v: unknown): Json {
  const inExample = getPath(g.example, m.name);
  const base = inExample === undefined ? withAll(g.example, m.sampleWith ?? {}) : (g.example as Json);
  if (!m.type.endsWith('[]')) return setPath(base, m.name, v);
  const rest = Array.isArray(inExample ?? m.sample) ? ((inExample ?? m.sample) as unknown[]).slice(1) : [];
  return setPath(base, m.name, [v, ...rest.filter((x) => x !== v)]);
}

const guides = kindGuides();
const cases = guides.map((g) => [g.kind, g] as const);

describe('kind guide coverage', () => {
  it('has a guide for every registered query kind and model kind, and none for kinds nobody registered', () => {
    for (const k of listQueryKinds()) expect(kindGuide(k)?.role, `query kind ${k}`).toBe('query');
    for (const k of listModelKinds()) expect(kindGuide(k)?.role, `model kind ${k}`).toBe('model');
    expect(guides.map((g) => g.kind).sort()).toEqual([...listQueryKinds(), ...listModelKinds()].sort());
  });

  it('covers the kinds marketers ask for', () => {
    for (const k of ['segment-stats', 'rfm', 'cohort-retention', 'histogram', 'funnel', 'ab-lift', 'merchant-benchmark', 'linear-regression', 'linear-model', 'pca']) expect(kindGuide(k)?.role).toBe('query');
    for (const k of ['logistic-regression', 'kmeans', 'logistic-model', 'gradient-boosted-trees']) expect(kindGuide(k)?.role).toBe('model');
  });
});

describe.each(cases)('guide of %s', (_kind, g) => {
  it('has a one-line summary, a paragraph, distinct members and an example without kind', () => {
    expect(g.summary).not.toMatch(/\n/);
    expect(g.summary.length).toBeLessThanOrEqual(100);
    expect(g.description.length).toBeGreaterThan(80);
    expect(new Set(g.members.map((m) => m.name)).size).toBe(g.members.length);
    expect(Object.hasOwn(g.example, 'kind')).toBe(false);
    for (const m of g.members) expect(m.description.length, m.name).toBeGreaterThan(5);
  });

  it("has an example the kind's own parser accepts", () => {
    const o = attempt(g, g.example);
    expect(o, shown(o)).toMatchObject({ ok: true });
  });

  it('lists every member of the example and every member the parser returns', () => {
    const listed = (path: string) => g.members.some((m) => m.name === path);
    const nested = (path: string) => g.members.some((m) => m.name.startsWith(`${path}.`));
    const check = (obj: Json, prefix: string) => {
      for (const [key, value] of Object.entries(obj)) {
        const path = prefix === '' ? key : `${prefix}.${key}`;
        if (path === 'kind' || listed(path)) continue;
        expect(nested(path) && isPlain(value), `${g.kind}: member ${path} is not in the guide`).toBe(true);
        check(value as Json, path);
      }
    };
    check(g.example, '');
    const parsed = attempt(g, g.example);
    if (parsed.ok) check(parsed.parsed as Json, '');
  });

  it.each(g.members.map((m) => [m.name, m] as const))('member %s: required or optional as the guide says, and taken by the schema', (_name, m) => {
    const inExample = getPath(g.example, m.name);
    if (inExample === undefined) {
      expect(m.required, `${m.name} is required, so the example must show it`).toBe(false);
      expect(m.sample, `${m.name}: not in the example, so the guide needs a sample value`).toBeDefined();
    } else {
      const without = attempt(g, setPath(g.example, m.name, undefined));
      if (m.required || m.requiredWhen !== undefined) expect(without.ok, `${m.name} is required`).toBe(false);
      else expect(without, `${m.name} is optional: ${shown(without)}`).toMatchObject({ ok: true });
    }
    if (m.sample !== undefined) {
      const o = attempt(g, setPath(inExample === undefined ? withAll(g.example, m.sampleWith ?? {}) : g.example, m.name, m.sample));
      expect(o, `${m.name} = ${JSON.stringify(m.sample)}: ${shown(o)}`).toMatchObject({ ok: true });
    }
    expect(m.required && m.default !== undefined, `${m.name}: a required member has no default`).toBe(false);
  });

  const enums = g.members.filter((m) => m.values !== undefined);
  if (enums.length > 0) {
    it.each(enums.map((m) => [m.name, m] as const))('member %s takes exactly the values listed', (_name, m) => {
      for (const v of m.values ?? []) {
        const o = attempt(g, withValue(g, m, v));
        expect(refusesValueOf(o, m.name), `${m.name} = ${JSON.stringify(v)}: ${shown(o)}`).toBe(false);
      }
      const bogus = typeof m.values?.[0] === 'number' ? 0.5 : 'no-such-value';
      expect(refusesValueOf(attempt(g, withValue(g, m, bogus)), m.name), `${m.name} refuses ${bogus}`).toBe(true);
      const given = getPath(g.example, m.name);
      if (given !== undefined && m.moreValues === undefined) {
        for (const v of Array.isArray(given) ? given : [given]) expect(m.values, m.name).toContain(v);
      }
    });
  }
});

describe('spec errors name the allowed values', () => {
  it('an unknown feature lists the features there are', () => {
    const lr = kindGuide('linear-regression') as KindGuide;
    const o = attempt(lr, { ...(lr.example as Json), features: ['frequency', 'shoe_size'] });
    expect(o.ok).toBe(false);
    if (o.ok) return;
    expect(o.path).toBe('features.1');
    expect(o.message).toMatch(/^features\.1: unknown feature 'shoe_size'; features: recency_days, frequency, .*campaign_conversions or sessions:<channel>, age_band:<band>, lifecycle:<stage>$/);
    const target = attempt(lr, { ...(lr.example as Json), target: 'nope' });
    expect(target).toMatchObject({ ok: false, path: 'target' });
    expect(target.ok ? '' : target.message).toMatch(/^target: unknown feature 'nope'; features: recency_days/);
  });

  it('no analytics source file points a spec error at a source file', () => {
    const dir = join(import.meta.dirname, '..', '..', 'analytics');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/['"`][^'"`\n]*\(see analytics\/[^)]*\)/);
    }
  });
});
