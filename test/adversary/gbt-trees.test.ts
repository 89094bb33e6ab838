/**
 * The curious marketer against gradient-boosted trees, over a store-week
 * table three shops declare (one row is one subject, as a customer is in a
 * customer model). The data hold one outlying row (price 9.99, 990 units,
 * far above every other) and a target row whose price no other row shares.
 * Three attacks, each shown on the pooled plaintext and then refused:
 *
 * - a leaf of one subject: `minLeafSubjects: 1` would put the outlier alone
 *   in a leaf whose value is its units; the fit stops
 *   (FIT_CANNOT_CONTINUE), and a deep fit stores no leaf below k, none
 *   holding the outlier with fewer than k − 1 others;
 * - a split threshold that isolates one subject: edges just below and above
 *   the target's price make a bin of one row, so two thresholds whose left
 *   leaves differ by the target alone; ten boosted stumps without the bin
 *   rule split at both (in different trees), and their published leaves
 *   give its units. The stored model of the real fit splits at one of them
 *   only, and has no two splits on price at equal node populations, nor two
 *   leaves of different trees, whose rows differ by 1..k−1 subjects;
 * - leaves of different trees a few subjects apart: a fit of several trees
 *   over three variables, pooled without the leaf-overlap rule, publishes
 *   pairs of leaves of different trees whose rows differ by 1..k−1 subjects
 *   (their values give those subjects' gradient sums); the real fit's
 *   stored model (a `gbt-leaf-overlap` round after every tree from the
 *   second, which the marketer cannot create or read either) has none;
 * - gradient histograms requested directly: the level of that fit holds
 *   the target's bin (one row, its gradient); the marketer can neither
 *   create a level, nor read or fetch the release of its own fit's levels,
 *   nor find the kind offered.
 *
 * Key holder and coordinator run as processes (adversary-cluster.ts), the
 * shops as in-process merchant nodes; every attack goes through the HTTP API
 * with one marketer token.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gbtSpecOf, parseGbtFitSpec, type GbtFitModel } from '../../analytics/gradient-boosted-trees.js';
import type { GbtTree } from '../../analytics/gbt-tree.js';
import { pooledFit, type PooledNode } from '../helpers/pooled-gbt.js';
import { DEFAULT_FIELD_CLASSIFICATION } from '../../compliance/index.js';
import { BRANDS, SALES_PURPOSE, STORE_WEEK_COLUMNS, salesRegistry, storeWeekRows, writeStoreWeekShops, type StoreWeekRow } from '../helpers/store-week.js';
import { startAdversaryCluster, type AdversaryCluster, type FitView } from './adversary-cluster.js';

const K = 10;
const WEEKS = 20;
/** Stores per shop: 200, 400 and 600 store-weeks (10 brands a week). */
const STORES = [1, 2, 3];
const LEARNING_RATE = 0.3;
const L2 = 1;
const LABEL = { name: 'units', type: 'numeric', maxAbs: 1000 } as const;
const PRICE_EDGES = [2, 2.5, 3, 3.5, 4, 4.5, 5, 9.5];

interface Row {
  readonly price: number;
  readonly display: number;
  readonly brand: string;
  readonly units: number;
}

type Fit = FitView & { readonly statusCode?: string | null };

/** The shops' rows: generated store-weeks, one of them made an outlier. */
function shopRows(): StoreWeekRow[][] {
  const rows = storeWeekRows(3, Math.max(...STORES), WEEKS, 20261208).map((shop, s) => shop.slice(0, (STORES[s] as number) * WEEKS * 10));
  rows[1]![17] = { ...rows[1]![17]!, price: 9.99, units: 990 };
  return rows;
}

/** Row indices reaching each node of a stored tree, routed here from the pooled rows (v < threshold, or level listed, goes left). */
function membersOf(tree: GbtTree, rows: readonly Row[]): Map<number, number[]> {
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  const out = new Map<number, number[]>();
  const walk = (id: number, members: number[]): void => {
    out.set(id, members);
    const node = byId.get(id);
    if (node?.kind !== 'split') return;
    const s = node.split;
    const value = (i: number): number | string => rows[i]![s.variable as keyof Row];
    const left = (i: number): boolean => (s.type === 'numeric' ? (value(i) as number) < s.threshold : s.levels.includes(value(i) as string));
    walk(2 * id + 1, members.filter(left));
    walk(2 * id + 2, members.filter((i) => !left(i)));
  };
  walk(
    0,
    rows.map((_, i) => i),
  );
  return out;
}

function symmetricDifference(a: readonly number[], b: readonly number[]): number {
  const sa = new Set(a);
  const sb = new Set(b);
  return a.filter((i) => !sb.has(i)).length + b.filter((i) => !sa.has(i)).length;
}

const sameSet = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && symmetricDifference(a, b) === 0;

/** The leaves of a stored model, with the pooled rows each holds. */
function leavesOf(model: GbtFitModel, rows: readonly Row[]): { tree: number; id: number; subjects: number; members: number[] }[] {
  return model.trees.flatMap((tree, t) => {
    const members = membersOf(tree, rows);
    return tree.nodes.flatMap((n) => (n.kind === 'leaf' ? [{ tree: t, id: n.id, subjects: n.subjects, members: members.get(n.id)! }] : []));
  });
}

describe('curious marketer vs gradient-boosted trees', () => {
  let cluster: AdversaryCluster;
  let rows: Row[];
  let outlier: number;
  let target: number;

  beforeAll(async () => {
    const written = shopRows();
    rows = written.flat().map((r) => ({ price: Number(r.price), display: Number(r.display), brand: String(r.brand), units: Number(r.units) }));
    outlier = rows.findIndex((r) => r.price === 9.99);
    // The target: a price no other row holds, nearest the median.
    const sorted = rows.map((r) => r.price).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const alone = rows.map((r, i) => i).filter((i) => i !== outlier && rows.filter((r) => r.price === rows[i]!.price).length === 1);
    target = alone.sort((a, b) => Math.abs(rows[a]!.price - median) - Math.abs(rows[b]!.price - median))[0]!;
    cluster = await startAdversaryCluster({
      shops: 3,
      seed: 'adversary-gbt',
      purposes: [SALES_PURPOSE],
      minSubjects: K,
      registry: () => salesRegistry(),
      shopFolders: () => writeStoreWeekShops(written),
      // The declared table's columns are business data (no person in them).
      fields: {
        ...DEFAULT_FIELD_CLASSIFICATION,
        fields: [...DEFAULT_FIELD_CLASSIFICATION.fields, ...STORE_WEEK_COLUMNS.map((c) => ({ field: `store_week.${c}`, class: 'general' as const, grade: 'general' as const, category: 'sales' }))],
      },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
    if (cluster) rmSync(cluster.shops.dir, { recursive: true, force: true });
  });

  it('a leaf of one subject: minLeafSubjects 1 stops the fit; a deep fit stores no leaf below k and never isolates the outlier', async () => {
    const spec = { purpose: SALES_PURPOSE, data: 'store_week', label: LABEL, variables: [{ name: 'price', type: 'numeric', edges: PRICE_EDGES }], trees: 1, depth: 3, learningRate: LEARNING_RATE, l2: L2 };
    // The pooled plaintext: with leaves of one row allowed, the first tree puts the outlier alone in a leaf whose
    // value, −η·(0 − y)/(1 + λ), gives its units.
    const loose = pooledFit(
      { ...gbtSpecOf(parseGbtFitSpec({ ...spec, kind: 'gradient-boosted-trees' })), minLeafSubjects: 1 },
      rows.map((r) => ({ x: { price: r.price }, y: r.units })),
    );
    const single = loose.trees[0]!.find((n) => n.kind === 'leaf' && n.subjects === 1);
    expect(single?.kind).toBe('leaf');
    const recovered = ((single as { value: number }).value * (1 + L2)) / LEARNING_RATE;
    expect(recovered).toBeCloseTo(rows[outlier]!.units, 9);

    // Asked for: refused once the first level's release states k = 10.
    const refused: Fit = await cluster.fit('gradient-boosted-trees', { ...spec, minLeafSubjects: 1 });
    expect([refused.status, refused.statusCode]).toEqual(['failed', 'FIT_CANNOT_CONTINUE']);
    expect(refused.statusReason).toMatch(/minLeafSubjects 1 is below the purpose's k = 10/);
    expect(refused.model).toBeNull();

    // A deep fit over more variables: every leaf holds k, counted again here from the pooled rows, and the
    // outlier's leaf in every tree holds at least k − 1 others.
    const deep: Fit = await cluster.fit('gradient-boosted-trees', {
      ...spec,
      variables: [spec.variables[0], { name: 'display', type: 'numeric', edges: [0.5] }, { name: 'brand', type: 'categorical', levels: [...BRANDS] }],
      trees: 2,
      depth: 4,
    });
    expect(deep.status, deep.statusReason ?? '').toBe('done');
    const model = deep.model as GbtFitModel;
    expect(model.minLeafSubjects).toBe(K);
    const leaves = leavesOf(model, rows);
    for (const leaf of leaves) {
      expect(leaf.members.length).toBe(leaf.subjects);
      expect(leaf.subjects).toBeGreaterThanOrEqual(K);
    }
    const outlierLeaves = leaves.filter((l) => l.members.includes(outlier));
    expect(outlierLeaves).toHaveLength(model.trees.length);
    console.log(`gbt adversary, leaf of one: ${leaves.length} leaves, smallest ${Math.min(...leaves.map((l) => l.subjects))}; the outlier's leaves hold ${outlierLeaves.map((l) => l.subjects).join(', ')} rows`);
  }, 400_000);

  let attackFit: Fit;
  let attackRounds: string[] = [];

  it('a split threshold that isolates one subject: no two thresholds or leaves of the stored model differ by 1..k−1 subjects', async () => {
    const p = rows[target]!.price;
    const [below, above] = [p - 0.005, p + 0.005];
    const spec = { purpose: SALES_PURPOSE, data: 'store_week', label: LABEL, variables: [{ name: 'price', type: 'numeric', edges: [below, above] }], trees: 10, depth: 1, learningRate: LEARNING_RATE, l2: L2 };
    // The pooled plaintext: the left leaves of the two thresholds differ by the target alone.
    const left = (t: number): number[] => rows.flatMap((r, i) => (r.price < t ? [i] : []));
    const [l1, l2] = [left(below), left(above)];
    expect(l2.filter((i) => !l1.includes(i))).toEqual([target]);
    expect(l1.every((i) => l2.includes(i))).toBe(true);
    // Boosted stumps without the bin rule (both edges candidates, k rows per leaf): some trees split at one edge,
    // some at the other.
    const margins = rows.map(() => 0);
    const stumps: { threshold: number; left: { value: number; n: number }; right: { value: number; n: number } }[] = [];
    for (let t = 0; t < spec.trees; t++) {
      const g = rows.map((r, i) => margins[i]! - r.units);
      const side = (members: readonly number[]): { value: number; n: number; score: number } => {
        const G = members.reduce((s, i) => s + g[i]!, 0);
        return { value: (-LEARNING_RATE * G) / (members.length + L2), n: members.length, score: (G * G) / (members.length + L2) };
      };
      let best: { gain: number; threshold: number; left: ReturnType<typeof side>; right: ReturnType<typeof side> } | undefined;
      for (const threshold of [below, above]) {
        const members = left(threshold);
        const [l, r] = [side(members), side(rows.map((_, i) => i).filter((i) => rows[i]!.price >= threshold))];
        const gain = l.score + r.score;
        if (l.n >= K && r.n >= K && (best === undefined || gain > best.gain * (1 + 1e-9))) best = { gain, threshold, left: l, right: r };
      }
      stumps.push(best!);
      rows.forEach((r, i) => (margins[i]! += r.price < best!.threshold ? best!.left.value : best!.right.value));
    }
    const a = stumps.findIndex((s) => s.threshold === below);
    const b = stumps.findIndex((s) => s.threshold === above);
    expect([a, b].every((i) => i >= 0)).toBe(true);
    // What the marketer computes from those two published trees: each left leaf's gradient sum from its value and
    // subjects, G = −v (n + λ)/η, and every row's margin before that tree from the earlier trees (rows below the
    // lower edge share one margin; the target's follows from its price). Their labels' sums differ by the target's.
    const marginBefore = (tree: number, price: number): number => stumps.slice(0, tree).reduce((m, s) => m + (price < s.threshold ? s.left.value : s.right.value), 0);
    const labelSum = (tree: number, members: readonly number[]): number =>
      members.reduce((m, i) => m + marginBefore(tree, rows[i]!.price), 0) + (stumps[tree]!.left.value * (stumps[tree]!.left.n + L2)) / LEARNING_RATE;
    const recovered = labelSum(b, l2) - labelSum(a, l1);
    expect(recovered).toBeCloseTo(rows[target]!.units, 6);

    // The real fit of that spec.
    const before = cluster.answeredQueryIds.length;
    attackFit = await cluster.fit('gradient-boosted-trees', spec);
    attackRounds = cluster.answeredQueryIds.slice(before);
    expect(attackFit.status, attackFit.statusReason ?? '').toBe('done');
    const model = attackFit.model as GbtFitModel;
    expect(model.minLeafSubjects).toBe(K);
    // Every pair of splits on price whose nodes hold the same rows (here the roots of all trees).
    const splits = model.trees.flatMap((tree) => {
      const members = membersOf(tree, rows);
      return tree.nodes.flatMap((n) =>
        n.kind === 'split' && n.split.type === 'numeric' ? [{ node: members.get(n.id)!, left: members.get(2 * n.id + 1)!, threshold: n.split.threshold }] : [],
      );
    });
    expect(splits.length).toBeGreaterThan(1);
    let pairs = 0;
    for (let i = 0; i < splits.length; i++) {
      for (let j = i + 1; j < splits.length; j++) {
        if (!sameSet(splits[i]!.node, splits[j]!.node)) continue;
        const d = symmetricDifference(splits[i]!.left, splits[j]!.left);
        expect(d === 0 || d >= K, `thresholds ${splits[i]!.threshold} and ${splits[j]!.threshold} differ by ${d} subjects`).toBe(true);
        pairs++;
      }
    }
    expect(pairs).toBeGreaterThan(0);
    expect(splits.some((s) => s.threshold === above)).toBe(false);
    // Every pair of leaves of different trees.
    const leaves = leavesOf(model, rows);
    let leafPairs = 0;
    for (const x of leaves) {
      expect(x.members.length).toBe(x.subjects);
      for (const y of leaves) {
        if (y.tree <= x.tree) continue;
        const d = symmetricDifference(x.members, y.members);
        expect(d === 0 || d >= K, `leaf ${x.id} of tree ${x.tree} and leaf ${y.id} of tree ${y.tree} differ by ${d} subjects`).toBe(true);
        leafPairs++;
      }
    }
    console.log(
      `gbt adversary, isolating threshold: target price ${p} (${rows[target]!.units} units); without the bin rule trees ${a + 1} and ${b + 1} split at ${below} and ${above}, ` +
        `units recovered ${recovered.toFixed(6)}; stored thresholds ${splits.map((s) => s.threshold).join(', ')}; ${pairs} split pairs at equal populations and ${leafPairs} leaf pairs across trees, none 1..${K - 1} apart`,
    );
  }, 400_000);

  it('leaves of different trees: the pooled fit without the rule publishes pairs 1..k−1 subjects apart, the stored model none', async () => {
    const spec = {
      purpose: SALES_PURPOSE,
      data: 'store_week',
      label: LABEL,
      variables: [{ name: 'price', type: 'numeric', edges: PRICE_EDGES }, { name: 'display', type: 'numeric', edges: [0.5] }, { name: 'brand', type: 'categorical', levels: [...BRANDS] }],
      trees: 6,
      depth: 3,
      learningRate: LEARNING_RATE,
      l2: L2,
    };
    const gbt = { ...gbtSpecOf(parseGbtFitSpec({ ...spec, kind: 'gradient-boosted-trees' })), minLeafSubjects: K };
    const pooledRows = rows.map((r) => ({ x: { price: r.price, display: r.display, brand: r.brand }, y: r.units }));
    /**
     * Pairs of leaves of different trees, and those whose rows (routed here) differ by 1..k−1 subjects one way:
     * A ∖ B or B ∖ A holds 1..k−1 rows (then G_A − G_B is those rows' gradient sum less that of ≥ 0 others, exactly
     * theirs when the other way is empty).
     */
    const closePairs = (model: GbtFitModel): { pairs: number; close: { d: number; at: string }[] } => {
      const leaves = leavesOf(model, rows);
      const close: { d: number; at: string }[] = [];
      let pairs = 0;
      for (const x of leaves) {
        expect(x.members.length).toBe(x.subjects);
        for (const y of leaves) {
          if (y.tree <= x.tree) continue;
          pairs++;
          const [sx, sy] = [new Set(x.members), new Set(y.members)];
          const small = [x.members.filter((i) => !sy.has(i)).length, y.members.filter((i) => !sx.has(i)).length].filter((d) => d > 0 && d < K);
          if (small.length > 0) close.push({ d: Math.min(...small), at: `leaf ${x.id} of tree ${x.tree + 1} and leaf ${y.id} of tree ${y.tree + 1}` });
        }
      }
      return { pairs, close };
    };
    /** The pooled trees in the stored model's shape (for routing alike). */
    const asModel = (trees: readonly PooledNode[][]): GbtFitModel =>
      ({
        trees: trees.map((t) => ({
          nodes: t.map((n) =>
            n.kind === 'leaf'
              ? n
              : { id: n.id, kind: 'split', subjects: n.subjects, split: n.threshold !== undefined ? { type: 'numeric', variable: n.variable, bin: 0, threshold: n.threshold } : { type: 'categorical', variable: n.variable, levels: n.levels ?? [] } },
          ),
        })),
      }) as unknown as GbtFitModel;
    // The pooled plaintext without the rule: such pairs exist on these rows.
    const unruled = closePairs(asModel(pooledFit(gbt, pooledRows, { leafOverlap: false }).trees));
    expect(unruled.close.length).toBeGreaterThan(0);

    // The real fit: one leaf-overlap round after every tree from the second; no such pair in the stored model.
    const before = cluster.answeredQueryIds.length;
    const fit: Fit = await cluster.fit('gradient-boosted-trees', spec);
    const rounds = cluster.answeredQueryIds.slice(before);
    expect(fit.status, fit.statusReason ?? '').toBe('done');
    const model = fit.model as GbtFitModel;
    expect(model.trees).toHaveLength(spec.trees);
    expect(model.rounds).toBe(rounds.length);
    const stored = closePairs(model);
    expect(stored.close, stored.close.map((c) => `${c.at}: ${c.d}`).join('; ')).toEqual([]);
    // It is the pooled fit under the rule, counted from the rows.
    const ruled = pooledFit(gbt, pooledRows);
    expect(model.trees.map((t) => t.nodes.map((n) => [n.id, n.kind, n.kind === 'open' ? -1 : n.subjects]))).toEqual(ruled.trees.map((t) => t.map((n) => [n.id, n.kind, n.subjects])));
    // The overlap rounds are internal like the levels.
    for (const id of rounds) expect((await cluster.marketer<{ code: string }>('GET', `/v1/queries/${id}/release`)).body.code).toBe('RELEASE_INTERNAL');
    const forest = model.trees.slice(0, 2).map((t) => ({ nodes: t.nodes.map((n) => (n.kind === 'leaf' ? { id: n.id, kind: 'leaf', value: n.value } : n.kind === 'split' ? { id: n.id, kind: 'split', split: n.split } : n)) }));
    const direct = await cluster.marketer<{ code: string }>('POST', '/v1/queries', { kind: 'gbt-leaf-overlap', spec: { ...spec, fitId: fit.fitId, round: 1, forest }, targetMerchants: 3 });
    expect([direct.status, direct.body.code]).toEqual([403, 'QUERY_KIND_INTERNAL']);
    const smallest = Math.min(...unruled.close.map((c) => c.d));
    console.log(
      `gbt adversary, leaves across trees: without the rule ${unruled.close.length} of ${unruled.pairs} pairs of leaves of different trees 1..${K - 1} subjects apart (smallest ${smallest}); ` +
        `the stored model (${rounds.length} rounds) ${stored.pairs} pairs, none`,
    );
  }, 400_000);

  it("gradient histograms requested directly: no level is created, read or fetched, not even of the marketer's own fit", async () => {
    expect(attackRounds.length).toBeGreaterThan(0);
    // The pooled plaintext of the first level of that fit: the root's price bin between the two edges holds the
    // target alone, and its gradient sum at margin 0 is −units.
    const p = rows[target]!.price;
    const bin = rows.flatMap((r, i) => (r.price >= p - 0.005 && r.price < p + 0.005 ? [i] : []));
    expect(bin).toEqual([target]);
    const spec = { purpose: SALES_PURPOSE, data: 'store_week', label: LABEL, variables: [{ name: 'price', type: 'numeric', edges: [p - 0.005, p + 0.005] }], learningRate: LEARNING_RATE, l2: L2 };
    // Created directly, with a forest of the marketer's choosing.
    const forest = [{ nodes: [{ id: 0, kind: 'open' }] }];
    const direct = await cluster.marketer<{ code: string }>('POST', '/v1/queries', { kind: 'gbt-level', spec: { ...spec, fitId: attackFit.fitId, round: 1, forest }, targetMerchants: 3 });
    expect([direct.status, direct.body.code]).toEqual([403, 'QUERY_KIND_INTERNAL']);
    // The real levels of its own fit: not listed, not readable, their releases withheld.
    const listed = await cluster.marketer<{ queries: { queryId: string }[] }>('GET', '/v1/queries');
    expect(listed.status).toBe(200);
    for (const id of attackRounds) {
      expect(listed.body.queries.map((q) => q.queryId)).not.toContain(id);
      const one = await cluster.marketer<{ code: string }>('GET', `/v1/queries/${id}`);
      expect([one.status, one.body.code]).toEqual([403, 'QUERY_INTERNAL']);
      const release = await cluster.marketer<{ code: string }>('GET', `/v1/queries/${id}/release`);
      expect([release.status, release.body.code]).toEqual([403, 'RELEASE_INTERNAL']);
    }
    const kinds = await cluster.marketer<{ queryKinds: string[]; modelKinds: string[] }>('GET', '/v1/kinds');
    expect(kinds.body.queryKinds).not.toContain('gbt-level');
    expect(kinds.body.queryKinds).not.toContain('gbt-leaf-overlap');
    expect(kinds.body.modelKinds).toContain('gradient-boosted-trees');
  }, 120_000);
});
