/**
 * RFC 6962 / RFC 9162 Merkle tree hashing and proofs against published
 * vectors, then properties against an independent recursive implementation
 * written straight from the RFC text.
 *
 * Vectors: transparency-dev/merkle (the Go reference used by Certificate
 * Transparency, Trillian and the Go checksum database),
 * - `rfc6962/rfc6962_test.go` TestRFC6962Hasher (empty root, empty leaf,
 *   leaf "L123456", node "N123"/"N456");
 * - `proof/verify_test.go` `leaves`, `roots` (tree sizes 1..8),
 *   `inclusionProofs` (leaf numbers there are 1-based) and `consistencyProofs`,
 *   and the corruption probes of `corruptInclusionProof` /
 *   `corruptConsistencyProof` and TestVerifyConsistency;
 * - `proof/proof_test.go` TestInclusion / TestConsistency (proof lengths).
 * The same vectors appear in google/certificate-transparency
 * `cpp/merkletree/merkle_tree_test.cc`.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex } from '../../crypto/index.js';
import {
  EMPTY_TREE_ROOT,
  MerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../compliance/merkle.js';

const h = fromHex;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(h);
const LEAF_HASHES = LEAVES.map(leafHash);

/** MTH of the first 1..8 leaves. */
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const rootOf = (size: number): Uint8Array => h(ROOTS[size - 1]!);

/** `leaf` is 0-based here (the Go table is 1-based). */
const INCLUSION = [
  { leaf: 0, size: 1, proof: [] as string[] },
  {
    leaf: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY = [
  { size1: 1, size2: 1, proof: [] as string[] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const SOME_HASH = h('abacaba000000000000000000000000000000000000000000060061e00123456');
const EMPTY = h('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('RFC 6962 hasher (transparency-dev rfc6962_test.go)', () => {
  it.each([
    ['empty tree', EMPTY_TREE_ROOT, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['empty leaf', leafHash(new Uint8Array(0)), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'],
    ['leaf L123456', leafHash(utf8('L123456')), '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56'],
    ['node N123 N456', nodeHash(utf8('N123'), utf8('N456')), 'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb'],
  ])('%s', (_name, got, want) => {
    expect(toHex(got)).toBe(want);
  });

  it('the empty tree, an empty leaf and a leaf that looks like two children all differ', () => {
    const a = leafHash(utf8('Hello'));
    const b = leafHash(utf8('World'));
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(leafHash(new Uint8Array([...a, ...b]))));
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(nodeHash(b, a)));
    expect(toHex(rootFromLeafHashes([]))).toBe(toHex(EMPTY));
  });
});

describe.each(ROOTS.map((root, i) => ({ size: i + 1, root })))('tree head of the first $size vector leaves', ({ size, root }) => {
  it('rootFromLeafHashes and MerkleTree.root give the published root', () => {
    expect(toHex(rootFromLeafHashes(LEAF_HASHES.slice(0, size)))).toBe(root);
    expect(toHex(MerkleTree.fromLeafHashes(LEAF_HASHES).root(size))).toBe(root);
  });
});

describe.each(INCLUSION)('inclusion vector: leaf $leaf in tree size $size', ({ leaf, size, proof: proofHex }) => {
  const proof = proofHex.map(h);
  const root = rootOf(size);
  const lh = LEAF_HASHES[leaf]!;

  it('is generated exactly', () => {
    expect(inclusionProof(LEAF_HASHES, leaf, size).map(toHex)).toEqual(proofHex);
  });

  it('verifies', () => {
    expect(verifyInclusion(lh, leaf, size, proof, root)).toBe(true);
  });

  it('rejects every corruption probe of corruptInclusionProof', () => {
    const probes: Array<[string, Uint8Array, number, number, Uint8Array[], Uint8Array]> = [
      ['leafIndex - 1', lh, leaf - 1, size, proof, root],
      ['leafIndex + 1', lh, leaf + 1, size, proof, root],
      ['leafIndex ^ 2', lh, leaf ^ 2, size, proof, root],
      ['treeSize * 2', lh, leaf, size * 2, proof, root],
      ['treeSize / 2', lh, leaf, Math.floor(size / 2), proof, root],
      ['wrong leaf', utf8('WrongLeaf'), leaf, size, proof, root],
      ['empty root', lh, leaf, size, proof, EMPTY],
      ['random root', lh, leaf, size, proof, SOME_HASH],
      ['trailing garbage', lh, leaf, size, [...proof, new Uint8Array(0)], root],
      ['trailing root', lh, leaf, size, [...proof, root], root],
      ['preceding garbage', lh, leaf, size, [new Uint8Array(0), ...proof], root],
      ['preceding root', lh, leaf, size, [root, ...proof], root],
    ];
    proof.forEach((_, i) => {
      const wrong = proof.slice();
      wrong[i] = flipBit(wrong[i]!, 3);
      probes.push([`modified proof[${i}] bit 3`, lh, leaf, size, wrong, root]);
    });
    if (proof.length > 0) probes.push(['removed component', lh, leaf, size, proof.slice(0, -1), root]);
    if (proof.length > 1) probes.push(['inserted component', lh, leaf, size, [proof[0]!, SOME_HASH, ...proof.slice(1)], root]);
    const accepted = probes.filter(([, l, i, s, p, r]) => verifyInclusion(l, i, s, p, r)).map(([d]) => d);
    expect(accepted).toEqual([]);
  });
});

describe.each(CONSISTENCY)('consistency vector: $size1 -> $size2', ({ size1, size2, proof: proofHex }) => {
  const proof = proofHex.map(h);
  const root1 = rootOf(size1);
  const root2 = rootOf(size2);

  it('is generated exactly', () => {
    expect(consistencyProof(LEAF_HASHES, size1, size2).map(toHex)).toEqual(proofHex);
  });

  it('verifies', () => {
    expect(verifyConsistency(size1, size2, root1, root2, proof)).toBe(true);
  });

  it('rejects every corruption probe of corruptConsistencyProof', () => {
    if (proof.length === 0) {
      // Equal sizes: only equal roots and an empty proof are consistent.
      expect(verifyConsistency(size1, size2, root1, SOME_HASH, proof)).toBe(false);
      expect(verifyConsistency(size1, size2, root1, root2, [root1])).toBe(false);
      return;
    }
    const wrongRoot = utf8('WrongRoot');
    const probes: Array<[string, number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
      ['size1 - 1', size1 - 1, size2, root1, root2, proof],
      ['size1 + 1', size1 + 1, size2, root1, root2, proof],
      ['size1 ^ 2', size1 ^ 2, size2, root1, root2, proof],
      ['size2 * 2', size1, size2 * 2, root1, root2, proof],
      ['size2 / 2', size1, Math.floor(size2 / 2), root1, root2, proof],
      ['wrong root1', size1, size2, wrongRoot, root2, proof],
      ['wrong root2', size1, size2, root1, wrongRoot, proof],
      ['swapped roots', size1, size2, root2, root1, proof],
      ['empty proof', size1, size2, root1, root2, []],
      ['trailing garbage', size1, size2, root1, root2, [...proof, new Uint8Array(0)]],
      ['trailing root1', size1, size2, root1, root2, [...proof, root1]],
      ['trailing root2', size1, size2, root1, root2, [...proof, root2]],
      ['preceding garbage', size1, size2, root1, root2, [new Uint8Array(0), ...proof]],
      ['preceding root1', size1, size2, root1, root2, [root1, ...proof]],
      ['preceding root2', size1, size2, root1, root2, [root2, ...proof]],
      ['preceding proof[0]', size1, size2, root1, root2, [proof[0]!, ...proof]],
      ['truncated proof', size1, size2, root1, root2, proof.slice(0, -1)],
    ];
    proof.forEach((_, i) => {
      const wrong = proof.slice();
      wrong[i] = flipBit(wrong[i]!, 4);
      probes.push([`modified proof[${i}] bit 4`, size1, size2, root1, root2, wrong]);
    });
    const accepted = probes.filter(([, s1, s2, r1, r2, p]) => verifyConsistency(s1, s2, r1, r2, p)).map(([d]) => d);
    expect(accepted).toEqual([]);
  });
});

// Proof lengths from TestInclusion / TestConsistency: the Go tables list node
// ids where rehash(begin, end) folds ids[begin:end] into one proof element.
describe('edge cases (TestVerifyInclusion, TestVerifyConsistency, TestInclusion, TestConsistency)', () => {
  it.each([
    [0, 0],
    [0, 1],
    [1, 0],
    [2, 1],
  ])('inclusion of a wrong leaf or root at index %i, size %i fails', (index, size) => {
    expect(verifyInclusion(SOME_HASH, index, size, [], new Uint8Array(0))).toBe(false);
    expect(verifyInclusion(new Uint8Array(0), index, size, [], EMPTY)).toBe(false);
    expect(verifyInclusion(SOME_HASH, index, size, [], EMPTY)).toBe(false);
  });

  it('a single-leaf tree: root equals the leaf hash and the proof is empty', () => {
    const lh = leafHash(utf8('data'));
    expect(verifyInclusion(lh, 0, 1, [], lh)).toBe(true);
    expect(verifyInclusion(lh, 0, 1, [], new Uint8Array(0))).toBe(false);
    expect(verifyInclusion(new Uint8Array(0), 0, 1, [], lh)).toBe(false);
  });

  it('consistency with equal or zero sizes', () => {
    const r1 = SOME_HASH;
    const r2 = leafHash(utf8('x'));
    expect(verifyConsistency(0, 0, EMPTY, EMPTY, [])).toBe(true);
    expect(verifyConsistency(1, 1, r2, r2, [])).toBe(true);
    expect(verifyConsistency(0, 1, EMPTY, r2, [])).toBe(true);
    // Roots differ for equal sizes; time travel; empty proof for a real step.
    expect(verifyConsistency(0, 0, r1, r2, [])).toBe(false);
    expect(verifyConsistency(1, 1, r1, r2, [])).toBe(false);
    expect(verifyConsistency(1, 0, r1, r2, [])).toBe(false);
    expect(verifyConsistency(2, 1, r1, r2, [])).toBe(false);
    expect(verifyConsistency(1, 2, r1, r2, [])).toBe(false);
    expect(verifyConsistency(0, 0, EMPTY, r2, [])).toBe(false);
    expect(verifyConsistency(1, 1, EMPTY, r2, [])).toBe(false);
    // Roots match but the proof is not empty.
    expect(verifyConsistency(0, 0, EMPTY, EMPTY, [EMPTY])).toBe(false);
    expect(verifyConsistency(0, 1, EMPTY, EMPTY, [EMPTY])).toBe(false);
    expect(verifyConsistency(1, 1, EMPTY, EMPTY, [EMPTY])).toBe(false);
    // Stricter than the Go reference: an empty old tree has exactly one root.
    expect(verifyConsistency(0, 1, r1, r2, [])).toBe(false);
  });

  it('generators reject impossible requests with RangeError naming the argument', () => {
    expect(() => inclusionProof(LEAF_HASHES, 0, 0)).toThrow(RangeError);
    expect(() => inclusionProof(LEAF_HASHES, 2, 1)).toThrow(/index/);
    expect(() => inclusionProof(LEAF_HASHES, 8, 7)).toThrow(/index/);
    expect(() => inclusionProof(LEAF_HASHES, 0, 9)).toThrow(/treeSize/);
    expect(() => consistencyProof(LEAF_HASHES, 5, 0)).toThrow(/oldSize/);
    expect(() => consistencyProof(LEAF_HASHES, 9, 8)).toThrow(/newSize|oldSize/);
    expect(() => rootFromLeafHashes([new Uint8Array(31)])).toThrow(/leafHashes\[0\]/);
    expect(() => leafHash('x' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('verifiers never throw on values of the wrong type', () => {
    const junk: unknown[] = [undefined, null, 1.5, -1, 'x', {}, [1], Number.NaN, 2 ** 60, [new Uint8Array(32), 'x']];
    for (const j of junk) {
      const any = j as never;
      expect(verifyInclusion(any, 0, 1, [], EMPTY)).toBe(false);
      expect(verifyInclusion(EMPTY, any, 1, [], EMPTY)).toBe(false);
      expect(verifyInclusion(EMPTY, 0, any, [], EMPTY)).toBe(false);
      expect(verifyInclusion(EMPTY, 0, 1, any, EMPTY)).toBe(false);
      expect(verifyConsistency(any, 1, EMPTY, EMPTY, [])).toBe(false);
      expect(verifyConsistency(1, 2, EMPTY, EMPTY, any)).toBe(false);
    }
  });

  it.each([
    [15, 10, 4],
    [31, 24, 5],
    [95, 81, 6],
    [7, 0, 3],
    [7, 4, 3],
    [7, 6, 2],
  ])('inclusion proof for size %i, index %i has the reference length %i', (size, index, len) => {
    const hashes = Array.from({ length: size }, (_, i) => leafHash(new Uint8Array([i])));
    expect(inclusionProof(hashes, index, size)).toHaveLength(len);
  });

  it.each([
    [5, 7, 4],
    [6, 7, 3],
    [7, 8, 4],
    [3, 7, 4],
    [4, 7, 1],
    [10, 15, 4],
    [24, 31, 3],
    [81, 95, 7],
  ])('consistency proof %i -> %i has the reference length %i', (size1, size2, len) => {
    const hashes = Array.from({ length: size2 }, (_, i) => leafHash(new Uint8Array([i])));
    expect(consistencyProof(hashes, size1, size2)).toHaveLength(len);
  });
});

// ---- properties against an independent implementation of the RFC text ----

function sha(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return new Uint8Array(hash.digest());
}
function kOf(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function refMth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha();
  if (d.length === 1) return d[0]!;
  const k = kOf(d.length);
  return sha(new Uint8Array([1]), refMth(d.slice(0, k)), refMth(d.slice(k)));
}
function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const k = kOf(d.length);
  return m < k ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))] : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}
function refSubproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const k = kOf(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}

const treeArb = fc
  .array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 70 })
  // Prefixing the index keeps leaves distinct, so "another index" is really another leaf.
  .map((leaves) => leaves.map((d, i) => leafHash(new Uint8Array([i, ...d]))));

describe('properties', () => {
  it('roots, inclusion and consistency proofs equal the recursive RFC definitions', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.nat(), (hashes, a, b) => {
        const n = hashes.length;
        const size = 1 + (a % n);
        const index = b % size;
        const old = b % (size + 1);
        const tree = MerkleTree.fromLeafHashes(hashes);
        expect(toHex(tree.root(size))).toBe(toHex(refMth(hashes.slice(0, size))));
        expect(tree.inclusionProof(index, size).map(toHex)).toEqual(refPath(index, hashes.slice(0, size)).map(toHex));
        const want = old === 0 || old === size ? [] : refSubproof(old, hashes.slice(0, size), true);
        expect(tree.consistencyProof(old, size).map(toHex)).toEqual(want.map(toHex));
      }),
      { numRuns: 200 },
    );
  });

  it('every inclusion proof of every leaf verifies at every tree size', () => {
    fc.assert(
      fc.property(treeArb, (hashes) => {
        const tree = MerkleTree.fromLeafHashes(hashes);
        for (let size = 1; size <= hashes.length; size++) {
          const root = tree.root(size);
          for (let i = 0; i < size; i++) {
            if (!verifyInclusion(hashes[i]!, i, size, tree.inclusionProof(i, size), root)) return false;
          }
        }
        return true;
      }),
      { numRuns: 30 },
    );
  });

  it('every consistency proof between any two sizes verifies', () => {
    fc.assert(
      fc.property(treeArb, (hashes) => {
        const tree = MerkleTree.fromLeafHashes(hashes);
        for (let s2 = 0; s2 <= hashes.length; s2++) {
          for (let s1 = 0; s1 <= s2; s1++) {
            if (!verifyConsistency(s1, s2, tree.root(s1), tree.root(s2), tree.consistencyProof(s1, s2))) return false;
          }
        }
        return true;
      }),
      { numRuns: 30 },
    );
  });

  it('any single-bit flip in an inclusion proof, its leaf or its root fails', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.nat(), fc.nat(), (hashes, a, b, bit) => {
        const size = 1 + (a % hashes.length);
        const index = b % size;
        const tree = MerkleTree.fromLeafHashes(hashes);
        const proof = tree.inclusionProof(index, size);
        const root = tree.root(size);
        const leaf = hashes[index]!;
        const targets = proof.length + 2;
        const t = bit % targets;
        const flip = Math.floor(bit / targets) % 256;
        if (t < proof.length) {
          const p = proof.slice();
          p[t] = flipBit(p[t]!, flip);
          return !verifyInclusion(leaf, index, size, p, root);
        }
        if (t === proof.length) return !verifyInclusion(leaf, index, size, proof, flipBit(root, flip));
        return !verifyInclusion(flipBit(leaf, flip), index, size, proof, root);
      }),
      { numRuns: 500 },
    );
  });

  it('any single-bit flip in a consistency proof or either root fails', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.nat(), fc.nat(), (hashes, a, b, bit) => {
        const size2 = 1 + (a % hashes.length);
        const size1 = b % (size2 + 1);
        const tree = MerkleTree.fromLeafHashes(hashes);
        const proof = tree.consistencyProof(size1, size2);
        const r1 = tree.root(size1);
        const r2 = tree.root(size2);
        const targets = proof.length + 2;
        const t = bit % targets;
        const flip = Math.floor(bit / targets) % 256;
        if (t < proof.length) {
          const p = proof.slice();
          p[t] = flipBit(p[t]!, flip);
          return !verifyConsistency(size1, size2, r1, r2, p);
        }
        if (t === proof.length) return !verifyConsistency(size1, size2, flipBit(r1, flip), r2, proof);
        // Growing from the empty tree proves nothing about the new root.
        if (size1 === 0 && size2 > 0) return true;
        return !verifyConsistency(size1, size2, r1, flipBit(r2, flip), proof);
      }),
      { numRuns: 500 },
    );
  });

  it('a proof for one index never verifies for another index', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.nat(), (hashes, a, b) => {
        fc.pre(hashes.length >= 2);
        const size = hashes.length;
        const i = a % size;
        const j = b % size;
        fc.pre(i !== j);
        const tree = MerkleTree.fromLeafHashes(hashes);
        return !verifyInclusion(hashes[i]!, j, size, tree.inclusionProof(i, size), tree.root());
      }),
      { numRuns: 300 },
    );
  });
});
