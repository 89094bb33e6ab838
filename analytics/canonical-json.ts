/**
 * Canonical JSON for spec digests: object keys sorted by UTF-16 code units,
 * no whitespace, JSON.stringify's number and string forms (the same choices
 * as RFC 8785 JCS). Every party hashes the same bytes for the same spec, so a
 * merchant can check that the query it answers is the one that was published.
 *
 * One extension: a bigint is written as its decimal string, which the
 * spec parsers accept back, so `parseSpec(JSON.parse(canonicalSpecJson(s)))`
 * round-trips a parsed spec.
 *
 * @module
 */

/**
 * Serialises a JSON-like value canonically. Throws TypeError (naming the
 * path) on values JSON cannot represent faithfully: non-finite numbers,
 * functions, symbols, class instances, and `undefined` inside arrays.
 * `undefined` object members are omitted, as JSON.stringify does.
 */
export function canonicalSpecJson(spec: unknown): string {
  return write(spec, 'spec');
}

function write(value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        return `[${value
          .map((item: unknown, i) => {
            if (item === undefined) throw new TypeError(`${path}[${i}]: undefined has no JSON form`);
            return write(item, `${path}[${i}]`);
          })
          .join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`${path}: only plain objects are allowed in a spec`);
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} has no JSON form`);
  }
}
