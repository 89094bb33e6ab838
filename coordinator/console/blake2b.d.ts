/** Types of blake2b.js (plain JavaScript served to the browser). */
export function blake2b(data: Uint8Array, outLen?: number): Uint8Array;
