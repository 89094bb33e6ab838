/**
 * What a release reads of a shop, as canonical text per customer and field.
 * The contents equal a plain reading of the rows in scope written here,
 * whatever order the rows come in; two kinds reading the same fields under
 * the same scope read the same contents; a change to a read row changes
 * exactly that customer's content, and a change to an unread field or to a
 * row out of scope changes nothing. A release reading only shop-level
 * fields reads no customers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getQueryDefinition, rowContents, type Order, type RowContents, type ShopData, type ShopMetricsPeriod } from '../../analytics/index.js';
import { ROW_CONTENT_FIELDS, type RowScope } from '../../analytics/row-scope.js';
import { AS_OF, AS_OF_S, DAY, datasetArb, T0, type RandomDataset } from '../helpers/random-shop-data.js';

/** Every customer row of the dataset and the first shop's months, as one shop. */
function shopOf(d: RandomDataset): ShopData {
  return {
    shopId: 's',
    customers: d.customers.map((c) => c.customer),
    orders: d.customers.flatMap((c) => c.orders),
    sessions: d.customers.flatMap((c) => c.sessions),
    campaigns: d.customers.flatMap((c) => c.campaigns),
    shopMetrics: d.metrics[0] ?? [],
  };
}

/** Contents as sorted plain data, so two readings compare whatever their map order. */
function plainForm(c: RowContents): { fields: string[]; customers: [string, [string, string][]][]; shop: [string, string][] } {
  const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return {
    fields: [...c.fields],
    customers: [...c.customers].map(([id, m]): [string, [string, string][]] => [id, [...m].sort(byKey)]).sort(byKey),
    shop: [...c.shop].sort(byKey),
  };
}

/** The fields the plain reading below covers: one or two of every table. */
const PLAIN_FIELDS = ['customer.lifecycle_stage', 'customer.signup_at', 'order.amount', 'order.returned', 'session.channel', 'campaign.clicked', 'shop_metrics.orders', 'shop_metrics.period'] as const;

/**
 * The plain reading: customers in scope (none when only shop-level fields
 * are read and no customer scope is given); per field, each read row's value
 * keyed by its id (for sessions, their position among the customer's
 * sessions), sorted and joined by newlines.
 */
function plainContents(data: ShopData, fields: readonly string[], scope: RowScope): ReturnType<typeof plainForm> {
  const customerFields = fields.filter((f) => !f.startsWith('shop_metrics.'));
  const readsCustomers = customerFields.length > 0 || scope.customer !== undefined;
  const inScope = readsCustomers ? data.customers.filter((c) => !scope.customer || scope.customer(c)) : [];
  const lines = (xs: string[]) => xs.sort().join('\n');
  const customers = inScope.map((c): [string, [string, string][]] => {
    const orders = data.orders.filter((o) => o.customerId === c.customerId && (!scope.order || scope.order(o)));
    const sessions = (data.sessions ?? []).filter((s) => s.customerId === c.customerId && (!scope.session || scope.session(s)));
    const campaigns = (data.campaigns ?? []).filter((e) => e.customerId === c.customerId && (!scope.campaign || scope.campaign(e)));
    const value = (f: string): string => {
      switch (f) {
        case 'customer.lifecycle_stage':
          return `"${c.lifecycleStage}"`;
        case 'customer.signup_at':
          return `${c.signupUnixS}`;
        case 'order.amount':
          return lines(orders.map((o) => `"${o.orderId}"=${o.amountCents}`));
        case 'order.returned':
          return lines(orders.map((o) => `"${o.orderId}"=${o.returned}`));
        case 'session.channel':
          // Sessions have no id: their position among the customer's sessions in the data is their identity.
          return lines(sessions.map((s, i) => `${i}="${s.channel}"`));
        case 'campaign.clicked':
          return lines(campaigns.map((e) => `"${e.campaignId}"=${e.clicked}`));
        default:
          throw new Error(`no plain reading of ${f}`);
      }
    };
    return [c.customerId, [...customerFields].sort().map((f): [string, string] => [f, value(f)])];
  });
  const months = (data.shopMetrics ?? []).filter((m) => !scope.shopMetrics || scope.shopMetrics(m));
  const monthValue = (f: string, m: ShopMetricsPeriod) => (f === 'shop_metrics.orders' ? `${m.orders}` : `"${m.period}"`);
  const shop = fields
    .filter((f) => f.startsWith('shop_metrics.'))
    .sort()
    .map((f): [string, string] => [f, lines(months.map((m) => `"${m.period}"=${monthValue(f, m)}`))]);
  return { fields: [...customerFields].sort(), customers: customers.sort((a, b) => (a[0] < b[0] ? -1 : 1)), shop };
}

/** Scopes built from a few switches, each an exact predicate on one table. */
const scopeArb = fc
  .record({
    customer: fc.boolean(),
    order: fc.boolean(),
    session: fc.boolean(),
    campaign: fc.boolean(),
    shopMetrics: fc.boolean(),
    cutoffDay: fc.integer({ min: 0, max: 800 }),
  })
  .map((s): RowScope => ({
    customer: s.customer ? (c) => Number(c.customerId.slice(2)) % 3 !== 0 : undefined,
    order: s.order ? (o) => o.orderedUnixS < T0 + s.cutoffDay * DAY : undefined,
    session: s.session ? (x) => x.viewed : undefined,
    campaign: s.campaign ? (e) => e.campaignId !== 'C2' : undefined,
    shopMetrics: s.shopMetrics ? (m) => m.period < '2025-06' : undefined,
  }));

/** A seeded permutation (mulberry32 and Fisher–Yates). */
/** `mixed` with every customer's rows put back in the order they have in `original`. */
function keepingOrderPerCustomer<T extends { readonly customerId: string }>(mixed: readonly T[], original: readonly T[]): T[] {
  const queues = new Map<string, T[]>();
  for (const r of original) queues.set(r.customerId, [...(queues.get(r.customerId) ?? []), r]);
  return mixed.map((r) => (queues.get(r.customerId) as T[]).shift() as T);
}

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('rowContents (properties)', () => {
  it('equals a plain reading of the rows in scope', () => {
    fc.assert(
      fc.property(datasetArb(1, 0, 12), fc.subarray([...PLAIN_FIELDS]), scopeArb, (d, fields, scope) => {
        const data = shopOf(d);
        expect(plainForm(rowContents(data, fields, scope))).toEqual(plainContents(data, fields, scope));
      }),
      { numRuns: 150 },
    );
  });

  it('does not depend on the order of rows in any table (each customer\'s sessions keeping theirs), nor of the fields asked for', () => {
    fc.assert(
      fc.property(datasetArb(1, 0, 12), fc.subarray(ROW_CONTENT_FIELDS as string[], { minLength: 1 }), scopeArb, fc.integer(), (d, fields, scope, seed) => {
        const data = shopOf(d);
        const mixed: ShopData = {
          shopId: data.shopId,
          customers: shuffled(data.customers, seed),
          orders: shuffled(data.orders, seed + 1),
          // Interleaved differently across customers, each customer's sessions in their own order.
          sessions: keepingOrderPerCustomer(shuffled(data.sessions ?? [], seed + 2), data.sessions ?? []),
          campaigns: shuffled(data.campaigns ?? [], seed + 3),
          shopMetrics: shuffled(data.shopMetrics ?? [], seed + 4),
        };
        expect(plainForm(rowContents(mixed, shuffled([...fields, ...fields], seed + 5), scope))).toEqual(plainForm(rowContents(data, fields, scope)));
      }),
      { numRuns: 100 },
    );
  });

  it('is the same for two kinds reading the same fields under the same scope (linear regression and PCA)', () => {
    const lr = getQueryDefinition('linear-regression');
    const pca = getQueryDefinition('pca');
    const lrSpec = lr.parseSpec({ kind: 'linear-regression', purpose: 'marketing-analytics', asOf: AS_OF, features: ['frequency'], target: 'monetary_yuan' });
    const pcaSpec = pca.parseSpec({ kind: 'pca', purpose: 'marketing-analytics', asOf: AS_OF, features: ['monetary_yuan', 'frequency'] });
    expect([...lr.inputFields(lrSpec)].sort()).toEqual([...pca.inputFields(pcaSpec)].sort());
    fc.assert(
      fc.property(datasetArb(1, 1, 10), (d) => {
        const data = shopOf(d);
        const a = rowContents(data, lr.inputFields(lrSpec), lr.rowScope?.(lrSpec));
        const b = rowContents(data, pca.inputFields(pcaSpec), pca.rowScope?.(pcaSpec));
        expect(plainForm(a)).toEqual(plainForm(b));
        // Both read the orders before asOf only.
        const before = (o: Order) => o.orderedUnixS < AS_OF_S;
        expect(plainForm(a)).toEqual(plainForm(rowContents(data, ['order.ordered_at', 'order.amount'], { order: before })));
      }),
      { numRuns: 50 },
    );
  });
});

describe('rowContents on a fixed shop', () => {
  const ASOF = 1_000_000;
  const order = (orderId: string, customerId: string, orderedUnixS: number, amountCents: bigint, returned = false): Order => ({ orderId, customerId, orderedUnixS, amountCents, returned });
  const DATA: ShopData = {
    shopId: 's',
    customers: ['c1', 'c2', 'c3'].map((customerId) => ({ customerId, lifecycleStage: 'active' as const, consentAnalytics: true, consentMarketing: true, city: 'x', ageBand: '25-34', signupUnixS: 5 })),
    orders: [order('o1', 'c1', 10, 100n), order('o2', 'c1', 20, 250n), order('o3', 'c2', 30, 75n), order('o4', 'c2', ASOF + 5, 900n), order('o5', 'c3', 40, 60n)],
    shopMetrics: [
      { period: '2025-01', orders: 10, ratings: 5, positiveRatings: 4, returns: 1, complaints: 0, inquiries: 3, responseTimeSumS: 90 },
      { period: '2025-02', orders: 12, ratings: 6, positiveRatings: 6, returns: 0, complaints: 1, inquiries: 2, responseTimeSumS: 40 },
    ],
  };
  const FIELDS = ['order.amount', 'order.ordered_at'];
  const SCOPE: RowScope = { order: (o) => o.orderedUnixS < ASOF, customer: (c) => c.customerId !== 'c3' };
  const base = rowContents(DATA, FIELDS, SCOPE);

  /** Customers whose content differs between two readings (present in one only counts too). */
  const changed = (a: RowContents, b: RowContents): string[] =>
    [...new Set([...a.customers.keys(), ...b.customers.keys()])].filter((id) => JSON.stringify([...(a.customers.get(id) ?? [])]) !== JSON.stringify([...(b.customers.get(id) ?? [])])).sort();

  it('reads the orders in scope of the customers in scope, keyed by order id', () => {
    expect(base.fields).toEqual(['order.amount', 'order.ordered_at']);
    expect([...base.customers.keys()].sort()).toEqual(['c1', 'c2']);
    expect(base.customers.get('c1')?.get('order.amount')).toBe('"o1"=100\n"o2"=250');
    expect(base.customers.get('c2')?.get('order.amount')).toBe('"o3"=75');
    expect(base.customers.get('c2')?.get('order.ordered_at')).toBe('"o3"=30');
    expect(base.shop.size).toBe(0);
  });

  const withOrders = (orders: readonly Order[]): ShopData => ({ ...DATA, orders });
  it.each<[string, string[], ShopData]>([
    ['the amount of a read order', ['c1'], withOrders(DATA.orders.map((o) => (o.orderId === 'o2' ? { ...o, amountCents: 251n } : o)))],
    ['the time of a read order (still in scope)', ['c2'], withOrders(DATA.orders.map((o) => (o.orderId === 'o3' ? { ...o, orderedUnixS: 31 } : o)))],
    ['a new order in scope', ['c1'], withOrders([...DATA.orders, order('o6', 'c1', 50, 1n)])],
    ['a read order leaving the scope', ['c1'], withOrders(DATA.orders.map((o) => (o.orderId === 'o1' ? { ...o, orderedUnixS: ASOF } : o)))],
    ['a new customer in scope', ['c4'], { ...DATA, customers: [...DATA.customers, { ...DATA.customers[0]!, customerId: 'c4' }] }],
    ['a customer leaving', ['c2'], { ...DATA, customers: DATA.customers.filter((c) => c.customerId !== 'c2') }],
    ['an order after asOf', [], withOrders(DATA.orders.map((o) => (o.orderId === 'o4' ? { ...o, amountCents: 1n } : o)))],
    ['a new order after asOf', [], withOrders([...DATA.orders, order('o7', 'c2', ASOF + 1, 5n)])],
    ['an unread field of a read order', [], withOrders(DATA.orders.map((o) => (o.orderId === 'o1' ? { ...o, returned: true } : o)))],
    ['an unread field of a customer', [], { ...DATA, customers: DATA.customers.map((c) => (c.customerId === 'c1' ? { ...c, lifecycleStage: 'loyal' as const } : c)) }],
    ['an order of a customer out of scope', [], withOrders(DATA.orders.map((o) => (o.orderId === 'o5' ? { ...o, amountCents: 61n } : o)))],
    ['shop metrics, which are not read', [], { ...DATA, shopMetrics: [] }],
  ])('a change to %s changes the content of %j', (_, customers, data) => {
    const next = rowContents(data, FIELDS, SCOPE);
    expect(changed(base, next)).toEqual(customers);
    if (customers.length === 0) expect(plainForm(next)).toEqual(plainForm(base));
  });

  it('sees two sessions of one customer trading their values (sessions have no id)', () => {
    const s = (channel: string, viewed: boolean) => ({ customerId: 'c1', channel, viewed, carted: false, ordered: false });
    const before = rowContents({ ...DATA, sessions: [s('app', true), s('web', false)] }, ['session.channel', 'session.viewed']);
    const after = rowContents({ ...DATA, sessions: [s('app', false), s('web', true)] }, ['session.channel', 'session.viewed']);
    // Per channel, one customer's viewed sessions changed (app 1 -> 0, web 0 -> 1): a funnel would differ.
    expect(changed(before, after)).toEqual(['c1']);
    expect(before.customers.get('c1')!.get('session.channel')).toBe(after.customers.get('c1')!.get('session.channel'));
    expect(before.customers.get('c1')!.get('session.viewed')).not.toBe(after.customers.get('c1')!.get('session.viewed'));
  });

  it('reads no customers when only shop-level fields are read, and the months in scope', () => {
    const only = rowContents(DATA, ['shop_metrics.orders', 'shop_metrics.period'], { shopMetrics: (m) => m.period === '2025-02' });
    expect(only.fields).toEqual([]);
    expect(only.customers.size).toBe(0);
    expect([...only.shop]).toEqual([
      ['shop_metrics.orders', '"2025-02"=12'],
      ['shop_metrics.period', '"2025-02"="2025-02"'],
    ]);
    // A change to a month out of scope changes nothing; to the month in scope, its content.
    const jan = { ...DATA, shopMetrics: DATA.shopMetrics!.map((m) => (m.period === '2025-01' ? { ...m, orders: 99 } : m)) };
    const feb = { ...DATA, shopMetrics: DATA.shopMetrics!.map((m) => (m.period === '2025-02' ? { ...m, orders: 99 } : m)) };
    expect(plainForm(rowContents(jan, ['shop_metrics.orders'], { shopMetrics: (m) => m.period === '2025-02' })).shop).toEqual([['shop_metrics.orders', '"2025-02"=12']]);
    expect(plainForm(rowContents(feb, ['shop_metrics.orders'], { shopMetrics: (m) => m.period === '2025-02' })).shop).toEqual([['shop_metrics.orders', '"2025-02"=99']]);
    // A shop without the table reads empty contents.
    expect([...rowContents({ ...DATA, shopMetrics: undefined }, ['shop_metrics.orders']).shop]).toEqual([['shop_metrics.orders', '']]);
  });

  it.each(['order.nope', 'customer.name', 'customer.phone', 'shop_metrics', 'orders.amount', ''])('throws RangeError naming the unknown field %j', (field) => {
    expect(() => rowContents(DATA, ['order.amount', field])).toThrow(RangeError);
    expect(() => rowContents(DATA, ['order.amount', field])).toThrow(`'${field}'`);
  });

  it('checks its arguments', () => {
    expect(() => rowContents(null as unknown as ShopData, FIELDS)).toThrow(TypeError);
    expect(() => rowContents({ shopId: 's', customers: [] } as unknown as ShopData, FIELDS)).toThrow(TypeError);
    expect(() => rowContents(DATA, 'order.amount' as unknown as string[])).toThrow(TypeError);
    expect(() => rowContents({ ...DATA, customers: [...DATA.customers, DATA.customers[0]!] }, FIELDS)).toThrow(/duplicate customerId/);
  });
});
