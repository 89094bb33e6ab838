/**
 * What each query kind and model kind asks for, in words: a summary line, a
 * paragraph, the spec members (type, required or default, meaning, allowed
 * values) and one worked example spec that the kind's own parser accepts.
 * `fedmart query kinds KIND` prints it; test/analytics/kind-guide.test.ts
 * checks every registered kind has one, every example parses, and every
 * member listed is one the kind's schema takes.
 *
 * Each kind's guide lives in the kind's own file, as the `guide` of its
 * definition (written with the builders of kind-guide-types.ts and
 * model-guide.ts, from the constants the parsers use, so they cannot drift
 * from them); this file collects them from the registry.
 *
 * @module
 */
import type { GuideRole, KindGuide, KindGuideBody } from './kind-guide-types.js';
import { getModelDefinition, getQueryDefinition, listModelKinds, listQueryKinds } from './registry.js';

export type { GuideMember, GuideRole, KindGuide } from './kind-guide-types.js';

/** One KindGuide per guide body, so repeated calls hand out the same object. */
const built = new WeakMap<KindGuideBody, KindGuide>();

function withKind(kind: string, role: GuideRole, body: KindGuideBody): KindGuide {
  let guide = built.get(body);
  if (guide === undefined || guide.kind !== kind || guide.role !== role) {
    guide = { kind, role, summary: body.summary, description: body.description, members: body.members, sections: body.sections, example: body.example };
    built.set(body, guide);
  }
  return guide;
}

/** The guides of the registered kinds a person may ask for (query kinds other than fit rounds, and model kinds). */
function registeredGuides(): KindGuide[] {
  const guides: KindGuide[] = [];
  for (const kind of listQueryKinds()) {
    const body = getQueryDefinition(kind).guide;
    if (body !== undefined) guides.push(withKind(kind, 'query', body));
  }
  for (const kind of listModelKinds()) guides.push(withKind(kind, 'model', getModelDefinition(kind).guide));
  return guides;
}

/** The guide of `kind`, or undefined for a kind without one. */
export function kindGuide(kind: string): KindGuide | undefined {
  return registeredGuides().find((g) => g.kind === kind);
}

/** Every guide, queries first, each group sorted by kind. */
export function kindGuides(): readonly KindGuide[] {
  return registeredGuides().sort((a, b) => (a.role === b.role ? a.kind.localeCompare(b.kind) : a.role === 'query' ? -1 : 1));
}
