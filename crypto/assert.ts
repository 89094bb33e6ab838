/**
 * Argument checks shared by the public functions of this module.
 *
 * Style follows noble-hashes: a wrong type is a `TypeError`, a wrong size or
 * value a `RangeError`, and the message always names the argument so that a
 * caller can find the mistake without a debugger. Internal module but for
 * `isBytes`, which `index.ts` re-exports as the one Uint8Array test.
 */

/**
 * True for a `Uint8Array` (including Node `Buffer`). The `constructor.name`
 * branch accepts arrays from another realm (e.g. a vm context or worker
 * message), where `instanceof` fails.
 */
export function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) && value.constructor.name === 'Uint8Array')
  );
}

/** Throws TypeError unless `value` is a Uint8Array; optionally checks its exact length. */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!isBytes(value)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes long, got ${value.length}`);
  }
}

/** Throws unless `value` is a Uint8Array whose length lies in [min, max]. */
export function assertBytesInRange(value: unknown, name: string, min: number, max: number): asserts value is Uint8Array {
  assertBytes(value, name);
  if (value.length < min || value.length > max) {
    throw new RangeError(`${name} must be ${min}..${max} bytes long, got ${value.length}`);
  }
}

/** Throws unless `value` is a safe integer in [min, max]. */
export function assertInteger(value: unknown, name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/** Throws unless `value` is a bigint. */
export function assertBigInt(value: unknown, name: string): asserts value is bigint {
  if (typeof value !== 'bigint') {
    throw new TypeError(`${name} must be a bigint, got ${describe(value)}`);
  }
}

/** Throws unless `value` is a string; optionally non-empty. */
export function assertString(value: unknown, name: string, nonEmpty = false): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  }
  if (nonEmpty && value.length === 0) {
    throw new RangeError(`${name} must not be empty`);
  }
}

/** Throws unless `value` is an array (frozen or not). */
export function assertArray(value: unknown, name: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${name} must be an array, got ${describe(value)}`);
  }
}

/** Short, safe description of a value for error messages (never dumps contents). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  const t = typeof value;
  if (t === 'object' || t === 'function') {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof ctor === 'string' && ctor.length > 0 ? ctor : t;
  }
  return t;
}
