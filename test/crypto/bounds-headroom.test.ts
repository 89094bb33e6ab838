/**
 * What decode-time bounds leave to one malicious shop (docs/input-validity.md).
 * The key holder sees only the sum of C contributions, so the check is
 * C × each field's bound on the sum, not 1 × the bound on the shop: a shop
 * can use the headroom the honest shops leave, and a slot value t − a
 * subtracts a modulo t, which looks like an honest sum while it stays at or
 * above zero. Only an overshoot (the sum wraps to just below t) is refused.
 * Checked against a plain slot-wise sum modulo t.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SlotLayout, cryptoReady } from '../../crypto/index.js';

const T40 = 1099511480321n;
const MAX = 1_000_000n;
const C = 4;

beforeAll(async () => {
  await cryptoReady();
});

/** A one-field layout: a count bounded by 10^6 per shop, as segment-stats' customers by default. */
function countLayout(): SlotLayout {
  return new SlotLayout([{ name: 'customers', max: MAX }], { plainModulus: T40, slotCount: 4, maxContributors: 100 });
}

/** Three honest shops' encodings plus one raw slot value from the malicious shop, summed modulo t. */
function sumWith(layout: SlotLayout, honest: readonly bigint[], evilSlot: bigint): BigUint64Array[] {
  const out = new BigUint64Array(layout.slotCount);
  for (const v of honest) out[0] = (out[0]! + layout.encode([v])[0]![0]!) % T40;
  out[0] = (out[0]! + evilSlot) % T40;
  return [out];
}

describe('decode-time bounds against one malicious shop of C', () => {
  const honest = [120n, 80n, 200n];

  it('accept a shop that adds up to C × max minus the honest total, C times its own bound', () => {
    const layout = countLayout();
    const evil = BigInt(C) * MAX - 400n;
    const slots = sumWith(layout, honest, evil);
    expect(layout.boundsViolation(slots, C)).toBeUndefined();
    expect(layout.decode(slots)).toEqual([BigInt(C) * MAX]);
    expect(evil > 3n * MAX).toBe(true);
    expect(layout.boundsViolation(sumWith(layout, honest, evil + 1n), C)).toMatch(/customers/);
  });

  it('accept a shop that subtracts with t − a, down to zero, and refuse only an overshoot', () => {
    const layout = countLayout();
    const lowered = sumWith(layout, honest, T40 - 300n);
    expect(layout.boundsViolation(lowered, C)).toBeUndefined();
    expect(layout.decode(lowered)).toEqual([100n]);
    expect(layout.decode(sumWith(layout, honest, T40 - 400n))).toEqual([0n]);
    expect(layout.boundsViolation(sumWith(layout, honest, T40 - 401n), C)).toMatch(/customers/);
  });
});
