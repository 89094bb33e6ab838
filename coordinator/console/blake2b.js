// BLAKE2b (RFC 7693) in plain JavaScript, for checking audit-bundle
// signatures in the browser (the coordinator signs BLAKE2b-256 digests;
// WebCrypto has no BLAKE2). 64-bit words are kept as pairs of 32-bit halves.

const IV = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
  0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]);

const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

// v: 16 words as 32 uint32 (low, high); m: 16 message words likewise.
const v = new Uint32Array(32);
const m = new Uint32Array(32);

function add64(a, b) {
  const lo = v[a] + v[b];
  v[a + 1] = v[a + 1] + v[b + 1] + (lo > 0xffffffff ? 1 : 0);
  v[a] = lo;
}

function add64m(a, i) {
  const lo = v[a] + m[i];
  v[a + 1] = v[a + 1] + m[i + 1] + (lo > 0xffffffff ? 1 : 0);
  v[a] = lo;
}

// v[d] = (v[d] ^ v[a]) >>> r, for r = 32, 24, 16, 63
function xorRot(d, a, r) {
  const xl = v[d] ^ v[a];
  const xh = v[d + 1] ^ v[a + 1];
  if (r === 32) {
    v[d] = xh;
    v[d + 1] = xl;
  } else if (r < 32) {
    v[d] = (xl >>> r) | (xh << (32 - r));
    v[d + 1] = (xh >>> r) | (xl << (32 - r));
  } else {
    const s = r - 32;
    v[d] = (xh >>> s) | (xl << (32 - s));
    v[d + 1] = (xl >>> s) | (xh << (32 - s));
  }
}

function g(a, b, c, d, x, y) {
  add64(a, b);
  add64m(a, x);
  xorRot(d, a, 32);
  add64(c, d);
  xorRot(b, c, 24);
  add64(a, b);
  add64m(a, y);
  xorRot(d, a, 16);
  add64(c, d);
  xorRot(b, c, 63);
}

function compress(h, block, offset, counter, last) {
  for (let i = 0; i < 16; i++) {
    v[i] = h[i];
    v[i + 16] = IV[i];
  }
  v[24] ^= counter >>> 0;
  v[25] ^= Math.floor(counter / 0x100000000);
  if (last) {
    v[28] = ~v[28];
    v[29] = ~v[29];
  }
  for (let i = 0; i < 32; i++) {
    const j = offset + i * 4;
    m[i] = block[j] | (block[j + 1] << 8) | (block[j + 2] << 16) | (block[j + 3] << 24);
  }
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10];
    g(0, 8, 16, 24, s[0] * 2, s[1] * 2);
    g(2, 10, 18, 26, s[2] * 2, s[3] * 2);
    g(4, 12, 20, 28, s[4] * 2, s[5] * 2);
    g(6, 14, 22, 30, s[6] * 2, s[7] * 2);
    g(0, 10, 20, 30, s[8] * 2, s[9] * 2);
    g(2, 12, 22, 24, s[10] * 2, s[11] * 2);
    g(4, 14, 16, 26, s[12] * 2, s[13] * 2);
    g(6, 8, 18, 28, s[14] * 2, s[15] * 2);
  }
  for (let i = 0; i < 16; i++) h[i] = h[i] ^ v[i] ^ v[i + 16];
}

/**
 * BLAKE2b digest of `data` (Uint8Array), `outLen` bytes (1..64), unkeyed.
 * @param {Uint8Array} data
 * @param {number} [outLen]
 * @returns {Uint8Array}
 */
export function blake2b(data, outLen = 32) {
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 64) throw new RangeError('outLen must be 1..64');
  const h = new Uint32Array(IV);
  h[0] ^= 0x01010000 ^ outLen;
  const block = new Uint8Array(128);
  let counter = 0;
  let pos = 0;
  // All full blocks but the last are compressed straight from `data`.
  while (data.length - pos > 128) {
    counter += 128;
    compress(h, data, pos, counter, false);
    pos += 128;
  }
  block.set(data.subarray(pos));
  counter += data.length - pos;
  compress(h, block, 0, counter, true);
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = h[i >> 2] >>> (8 * (i & 3));
  return out;
}
