/**
 * `fedmart query kinds`: the kind guide (analytics/kind-guide.ts) as text,
 * the command line and HTTP request that run a kind's example, and, for
 * formula models, the variables one shop export offers (from its
 * schema.json: declared customer columns, built-in columns, named features,
 * order aggregates and the tables under extraTables).
 */
import { AGGREGATE_FUNCTIONS } from '../analytics/customer-aggregates.js';
import { GROUP_VALUES, SEGMENT_GROUPINGS } from '../analytics/customer-groups.js';
import { FEATURE_FAMILIES, PLAIN_FEATURE_NAMES, featureDefinition } from '../analytics/features.js';
import { kindGuide, kindGuides, type GuideMember, type KindGuide } from '../analytics/kind-guide.js';
import { LIFECYCLE_STAGES } from '../analytics/shop-data.js';
import type { ExtraColumnSpec, ShopSchema } from '../client-sdk/schema.js';

/** Kinds whose spec is a formula over shop-declared columns (what `--shop` describes). */
export const FORMULA_KINDS: readonly string[] = ['linear-model', 'logistic-model', 'pca'];

const WIDTH = 78;

/** `text` wrapped at WIDTH with `indent` before every line. */
function wrap(text: string, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      out.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(indent + line);
  return out;
}

/** Single-quoted for a POSIX shell. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** JSON over several lines, with lists of plain values on one line. */
export function compactJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value).replace(/,/g, ', ');
    return `[\n${value.map((v) => `${indent}  ${compactJson(v, `${indent}  `)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${indent}  ${JSON.stringify(k)}: ${compactJson(v, `${indent}  `)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** The command line that runs the guide's example. */
export function exampleCommand(g: KindGuide): string {
  return `fedmart query ${g.role === 'model' ? 'fit' : 'run'} --kind ${g.kind} --spec ${shellQuote(JSON.stringify(g.example))}`;
}

/** The HTTP request that runs the guide's example. */
export function exampleRequest(g: KindGuide): string {
  return `POST ${g.role === 'model' ? '/v1/fits' : '/v1/queries'} ${JSON.stringify({ kind: g.kind, spec: g.example })}`;
}

function memberHead(m: GuideMember): string {
  const need = m.required ? 'required' : m.requiredWhen !== undefined ? `required when ${m.requiredWhen}` : `optional, default ${m.default ?? 'none'}`;
  return `  ${m.name}  ${m.type}, ${need}`;
}

function memberValues(m: GuideMember): string | undefined {
  if (m.values === undefined && m.moreValues === undefined) return undefined;
  return `values: ${[...(m.values ?? []).map(String), ...(m.moreValues === undefined ? [] : [m.moreValues])].join(', ')}`;
}

/** The whole guide of one kind as text. */
export function formatKindGuide(g: KindGuide): string {
  const lines = [`${g.kind} (${g.role === 'model' ? 'model fit: fedmart query fit' : 'query: fedmart query run'})`, '', ...wrap(g.summary, ''), '', ...wrap(g.description, ''), '', 'Spec members:'];
  for (const m of g.members) {
    lines.push(memberHead(m));
    lines.push(...wrap(m.description, '      '));
    const values = memberValues(m);
    if (values !== undefined) lines.push(...wrap(values, '      '));
  }
  for (const s of g.sections) lines.push('', `${s.title}:`, ...wrap(s.text, '  '));
  lines.push('', 'Example spec:', ...compactJson(g.example).split('\n').map((l) => `  ${l}`));
  lines.push('', 'Run it (the coordinator adds "kind" to the spec):', `  ${exampleCommand(g)}`, `  ${exampleRequest(g)}`);
  if (FORMULA_KINDS.includes(g.kind)) lines.push('', `What a shop export offers: fedmart query kinds ${g.kind} --shop DIR`);
  return lines.join('\n');
}

/** The kind names with their summaries, for `fedmart query kinds`. */
export function formatKindList(queryKinds: readonly string[], modelKinds: readonly string[]): string {
  const width = Math.max(0, ...[...queryKinds, ...modelKinds].map((k) => k.length)) + 2;
  const row = (k: string) => `  ${k.padEnd(width)}${kindGuide(k)?.summary ?? ''}`.trimEnd();
  return [
    'query kinds (fedmart query run --kind KIND):',
    ...queryKinds.map(row),
    'model kinds (fedmart query fit --kind KIND):',
    ...modelKinds.map(row),
    '',
    'fedmart query kinds KIND prints what a kind asks for, with an example spec.',
  ].join('\n');
}

/** One-line list of the kinds with a guide, for an unknown kind. */
export function knownKindsLine(): string {
  const guides = kindGuides();
  return `${guides.filter((g) => g.role === 'query').map((g) => g.kind).join(', ')}; models: ${guides.filter((g) => g.role === 'model').map((g) => g.kind).join(', ')}`;
}

/** One variable of a shop export. */
export interface ShopVariable {
  readonly name: string;
  readonly type: string;
  readonly levels?: readonly string[];
  /** What it is, or why it is not there. */
  readonly note?: string;
}

/** What a formula model could use in one shop export. */
export interface ShopModelVariables {
  /** For `data: "customers"`; null when the export has no customers table. */
  readonly customers: {
    readonly columns: readonly ShopVariable[];
    readonly builtIn: readonly ShopVariable[];
    readonly features: readonly ShopVariable[];
    /** Parametrised features this export can give (`sessions:app`, ...), by family pattern. */
    readonly families: readonly { readonly pattern: string; readonly names: readonly string[]; readonly note?: string }[];
    readonly aggregates: readonly string[];
    /** Order columns aggregates can take. */
    readonly orderColumns: readonly ShopVariable[];
  } | null;
  /** For `data: "orders"`: the order's columns, then its customer's as `customer.<name>`; null without orders. */
  readonly orders: { readonly columns: readonly ShopVariable[]; readonly customer: readonly ShopVariable[] } | null;
  /** Further tables; `customerRows` when their rows are customers' rows (the spec says `customerRows: true`). */
  readonly tables: readonly { readonly name: string; readonly customerRows: boolean; readonly columns: readonly ShopVariable[] }[];
}

function columnVariable(name: string, c: ExtraColumnSpec): ShopVariable {
  if (c.type === 'categorical') return { name, type: 'categorical', ...(c.levels === undefined ? {} : { levels: c.levels }), note: 'declare its levels under "levels"' };
  const note = c.type === 'boolean' ? '1 for true, 0 for false' : c.type === 'date' || c.type === 'timestamp' ? 'Unix seconds' : undefined;
  return { name, type: c.type, ...(note === undefined ? {} : { note }) };
}

/** Shop fields (`table.field`) an export of this schema holds, among those features read. */
function exportedField(schema: ShopSchema): (field: string) => boolean {
  const t = schema.tables;
  const f = t.customers?.fields;
  return (field) => {
    const [table] = field.split('.');
    if (table === 'order') return t.orders !== undefined;
    if (table === 'session') return t.sessions !== undefined;
    if (table === 'campaign') return t.campaigns !== undefined;
    if (field === 'customer.signup_at') return f?.signupAt !== undefined;
    if (field === 'customer.age_band') return f?.age !== undefined;
    if (field === 'customer.city_level') return f?.city !== undefined;
    return f !== undefined;
  };
}

const GROUPING_FIELD: Readonly<Record<string, string>> = { lifecycle_stage: 'customer.lifecycle_stage', age_band: 'customer.age_band', city_level: 'customer.city_level' };

/** The variables a formula model could use in an export with this schema. */
export function shopModelVariables(schema: ShopSchema): ShopModelVariables {
  const has = exportedField(schema);
  const missing = (fields: readonly string[]): string | undefined => {
    const absent = fields.filter((x) => !has(x));
    return absent.length === 0 ? undefined : `not in this export (${absent.join(', ')})`;
  };
  const tables = Object.entries(schema.extraTables ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, t]) => ({ name, customerRows: t.customerId !== undefined, columns: Object.entries(t.columns).map(([c, spec]) => columnVariable(c, spec)) }));
  const cust = schema.tables.customers;
  if (cust === undefined) return { customers: null, orders: null, tables };
  const features = PLAIN_FEATURE_NAMES.map((name): ShopVariable => {
    const d = featureDefinition(name);
    const absent = missing(d?.inputFields ?? []);
    return { name, type: 'numeric', note: absent ?? d?.description ?? '' };
  });
  const channels = [...new Set(Object.values(schema.tables.sessions?.fields.channel.values ?? {}))].sort();
  const families = FEATURE_FAMILIES.map((f) => {
    const family = f.pattern.slice(0, f.pattern.indexOf(':'));
    const args = family === 'sessions' ? channels : family === 'age_band' ? GROUP_VALUES.age_band : LIFECYCLE_STAGES;
    const field = family === 'sessions' ? 'session.channel' : family === 'age_band' ? 'customer.age_band' : 'customer.lifecycle_stage';
    const absent = missing([field]);
    return { pattern: f.pattern, names: absent === undefined ? args.map((a) => `${family}:${a}`) : [], ...(absent === undefined ? {} : { note: absent }) };
  });
  const builtIn = SEGMENT_GROUPINGS.map((g): ShopVariable => {
    const absent = missing([GROUPING_FIELD[g] as string]);
    return { name: g, type: 'categorical', levels: GROUP_VALUES[g], ...(absent === undefined ? {} : { note: absent }) };
  });
  const orderColumns: ShopVariable[] =
    schema.tables.orders === undefined
      ? []
      : [
          { name: 'amount', type: 'numeric', note: 'yuan' },
          { name: 'ordered_at', type: 'timestamp', note: 'Unix seconds' },
          { name: 'returned', type: 'boolean', note: '1 for true, 0 for false' },
          ...Object.entries(schema.tables.orders.columns ?? {}).map(([c, spec]) => columnVariable(c, spec)),
        ];
  const aggregates =
    schema.tables.orders === undefined
      ? []
      : AGGREGATE_FUNCTIONS.map((f) => (f === 'count' ? 'count(orders)' : f === 'days_since' ? 'days_since(order.ordered_at)' : `${f}(order.<column>)`));
  const customerColumns = Object.entries(cust.columns ?? {}).map(([c, spec]) => columnVariable(c, spec));
  // A row of a customer (an order, an order line) reads its customer's columns and built-in categoricals as customer.<name>.
  const ofCustomer = [...customerColumns, ...builtIn].map((v) => ({ ...v, name: `customer.${v.name}` }));
  return {
    customers: { columns: customerColumns, builtIn, features, families, aggregates, orderColumns },
    orders: schema.tables.orders === undefined ? null : { columns: orderColumns, customer: ofCustomer },
    tables: tables.map((t) => (t.customerRows ? { ...t, columns: [...t.columns, ...ofCustomer] } : t)),
  };
}

function variableLines(vars: readonly ShopVariable[], indent: string): string[] {
  if (vars.length === 0) return [`${indent}(none)`];
  const width = Math.max(...vars.map((v) => v.name.length)) + 2;
  const typeWidth = Math.max(...vars.map((v) => v.type.length)) + 2;
  return vars.map((v) => {
    const extra = [v.levels === undefined ? undefined : `levels: ${v.levels.join(', ')}`, v.note].filter((x) => x !== undefined && x !== '').join('; ');
    return `${indent}${v.name.padEnd(width)}${v.type.padEnd(typeWidth)}${extra}`.trimEnd();
  });
}

/** The variables of one export as text, for `fedmart query kinds KIND --shop DIR`. */
export function formatShopVariables(kind: string, dir: string, v: ShopModelVariables): string {
  const lines = [`Variables a ${kind} formula could use in ${dir} (from its schema.json):`, ''];
  if (v.customers === null) {
    lines.push('data: "customers": not available (this export has no customers table)');
  } else {
    const c = v.customers;
    lines.push('data: "customers" (one row per consented customer; asOf required)');
    lines.push('  Columns the shop declares (tables.customers.columns):', ...variableLines(c.columns, '    '));
    lines.push('  Built-in categorical columns (reference level first):', ...variableLines(c.builtIn, '    '));
    lines.push('  Named features (measured at asOf; in a formula, back-quote a name with a colon: `sessions:app`):', ...variableLines(c.features, '    '));
    for (const f of c.families) {
      const desc = (FEATURE_FAMILIES.find((x) => x.pattern === f.pattern)?.description ?? '').replace(/ \(.*\)$/, '');
      lines.push(`    ${f.pattern}  ${desc}`, ...wrap(f.names.length > 0 ? f.names.join(', ') : (f.note ?? 'none'), '      '));
    }
    if (c.aggregates.length === 0) lines.push('  Aggregates: none (this export has no orders table)');
    else {
      lines.push('  Order aggregates (declare under "aggregates", e.g. {"spend": "sum(order.amount)"}):', ...wrap(c.aggregates.join(', '), '    '));
      lines.push('    order columns:', ...variableLines(c.orderColumns, '      '));
    }
  }
  if (v.orders !== null) {
    lines.push('', 'data: "orders" (one row per order before asOf; asOf required; rules count customers)');
    lines.push('  Order columns:', ...variableLines(v.orders.columns, '    '));
    lines.push("  Its customer's columns:", ...variableLines(v.orders.customer, '    '));
  }
  if (v.tables.length === 0) lines.push('', 'Tables (extraTables): none');
  for (const t of v.tables) {
    const what = t.customerRows ? 'rows of customers: say "customerRows": true; rules count customers' : 'one row per table row';
    lines.push('', `data: "${t.name}" (extraTables; ${what}; no asOf, no aggregates)`, ...variableLines(t.columns, '    '));
  }
  return lines.join('\n');
}
