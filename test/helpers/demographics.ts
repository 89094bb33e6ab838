/**
 * Demographic columns a shop exports beside the standard ones (income,
 * gender, region), added to `fedmart synth` shops: a deterministic function
 * of the customer id, so each shop's file and the pooled file agree. The
 * shop declares them in `schema.json` under `tables.customers.columns` and
 * allows them to marketing-analytics in its `purposes.json`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PURPOSE_REGISTRY, type PurposeRegistry } from '../../compliance/index.js';

export const REGIONS = ['north', 'south', 'east', 'west'] as const;
export const GENDERS = ['F', 'M'] as const;
export const DEMOGRAPHIC_FIELDS = ['customer.income', 'customer.gender', 'customer.region'];

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The demographic values of one customer. */
export function demographics(customerId: string): { income: string; gender: string; region: string } {
  const h = hash(customerId);
  const income = 2000 + (h % 30_000) + ((h >>> 16) % 100) / 100;
  return { income: income.toFixed(2), gender: GENDERS[(h >>> 5) % 2]!, region: REGIONS[(h >>> 9) % 4]! };
}

/** Marketing-analytics with the demographic columns allowed. */
export function demographicRegistry(): PurposeRegistry {
  return {
    ...DEFAULT_PURPOSE_REGISTRY,
    purposes: DEFAULT_PURPOSE_REGISTRY.purposes.map((p) => (p.name === 'marketing-analytics' ? { ...p, allowedFields: [...p.allowedFields, ...DEMOGRAPHIC_FIELDS] } : p)),
  };
}

/** Appends the columns to `dir/customers.csv` and declares them in `dir/schema.json`; writes purposes.json unless `pooled`. */
export function addDemographics(dir: string, pooled: boolean): void {
  const path = join(dir, 'customers.csv');
  const [header, ...lines] = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = header!.split(',');
  const idAt = cols.indexOf('customer_id');
  const out = [`${header},income,gender,region`, ...lines.map((l) => {
    const d = demographics(l.split(',')[idAt]!);
    return `${l},${d.income},${d.gender},${d.region}`;
  })];
  writeFileSync(path, `${out.join('\n')}\n`);
  const schema = JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8')) as { tables: { customers: Record<string, unknown> } };
  schema.tables.customers['columns'] = {
    income: { column: 'income', type: 'numeric', scale: 2, min: 0 },
    gender: { column: 'gender', type: 'categorical', levels: [...GENDERS] },
    region: { column: 'region', type: 'categorical', levels: [...REGIONS] },
  };
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema, null, 2));
  if (!pooled) writeFileSync(join(dir, 'purposes.json'), JSON.stringify(demographicRegistry(), null, 2));
}
