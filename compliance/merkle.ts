/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs.
 *
 * The audit log is a list of entries whose Merkle tree head is signed in
 * checkpoints. A compliance officer (or a regulator) who holds one signed
 * head can check, without trusting the coordinator, that an entry is in the
 * log (inclusion proof) and that a later head extends an earlier one without
 * rewriting history (consistency proof). The hash is SHA-256 with the RFC
 * 6962 domain separation — leaf = H(0x00 || data), node = H(0x01 || l || r) —
 * so a leaf can never be passed off as an interior node, and the empty tree
 * hashes to SHA-256 of the empty string. Using the standard construction
 * (rather than our BLAKE2b) means any off-the-shelf transparency-log verifier
 * can check our proofs.
 *
 * Generators (`rootFromLeafHashes`, `inclusionProof`, `consistencyProof`, the
 * {@link MerkleTree} class) are for the log owner and throw TypeError or
 * RangeError on bad arguments, which are programming errors there. Verifiers
 * (`verifyInclusion`, `verifyConsistency`) take data from untrusted parties
 * and return false — never throw — for anything that is not a valid proof:
 * wrong hash lengths, indices out of range, sizes going backwards, proofs too
 * short or too long, non-integer sizes, or values of the wrong type.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { constantTimeEqual, isBytes } from '../crypto/index.js';

/** Length of every hash in the tree (SHA-256). */
export const MERKLE_HASH_BYTES = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** SHA-256 of the empty string: the Merkle tree hash of a tree with no leaves. */
export const EMPTY_TREE_ROOT: Uint8Array = sha256();

function isHash(value: unknown): value is Uint8Array {
  return isBytes(value) && value.length === MERKLE_HASH_BYTES;
}

function assertHash(value: unknown, name: string): asserts value is Uint8Array {
  if (!isBytes(value)) throw new TypeError(`${name} must be a Uint8Array`);
  if (value.length !== MERKLE_HASH_BYTES) {
    throw new RangeError(`${name} must be ${MERKLE_HASH_BYTES} bytes long, got ${value.length}`);
  }
}

function assertSize(value: unknown, name: string, max: number = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer in [0, ${max}], got ${String(value)}`);
  }
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** RFC 6962 leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Uint8Array {
  if (!isBytes(data)) throw new TypeError('data must be a Uint8Array');
  return sha256(LEAF_PREFIX, data);
}

/**
 * RFC 6962 interior node hash: SHA-256(0x01 || left || right). In a tree the
 * children are 32-byte hashes; any byte strings are accepted so that the
 * published hasher vectors (which use short strings) can be checked.
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!isBytes(left)) throw new TypeError('left must be a Uint8Array');
  if (!isBytes(right)) throw new TypeError('right must be a Uint8Array');
  return sha256(NODE_PREFIX, left, right);
}

/** Largest power of two strictly less than n (n >= 2), the RFC 6962 split point. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/**
 * A Merkle tree over a fixed list of leaf hashes, with every complete
 * power-of-two subtree cached, so that many proofs against one tree cost
 * O(log n) hashes each after an O(n) build. Any prefix of the leaves (an
 * older tree size) can be proved against, since complete subtrees are shared
 * by all sizes that contain them.
 */
export class MerkleTree {
  /** levels[h][i] = hash of the complete subtree of 2^h leaves starting at leaf i·2^h. */
  private readonly levels: Uint8Array[][];

  private constructor(levels: Uint8Array[][]) {
    this.levels = levels;
  }

  /** Builds the tree over `leafHashes` (each 32 bytes). The array is copied. */
  static fromLeafHashes(leafHashes: readonly Uint8Array[]): MerkleTree {
    if (!Array.isArray(leafHashes)) throw new TypeError('leafHashes must be an array');
    const level0: Uint8Array[] = [];
    leafHashes.forEach((h: unknown, i) => {
      assertHash(h, `leafHashes[${i}]`);
      level0.push(h);
    });
    const levels: Uint8Array[][] = [level0];
    let prev = level0;
    while (prev.length >= 2) {
      const next: Uint8Array[] = [];
      for (let i = 0; i + 1 < prev.length; i += 2) {
        next.push(sha256(NODE_PREFIX, prev[i] as Uint8Array, prev[i + 1] as Uint8Array));
      }
      levels.push(next);
      prev = next;
    }
    return new MerkleTree(levels);
  }

  /** Number of leaves. */
  get size(): number {
    return (this.levels[0] as Uint8Array[]).length;
  }

  /** Leaf hash at `index`. */
  leaf(index: number): Uint8Array {
    assertSize(index, 'index', this.size - 1);
    return (this.levels[0] as Uint8Array[])[index] as Uint8Array;
  }

  /** MTH(D[start:end]) for 0 <= start < end <= size. */
  private subtree(start: number, end: number): Uint8Array {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) {
      return (this.levels[Math.round(Math.log2(n))] as Uint8Array[])[start / n] as Uint8Array;
    }
    const k = splitPoint(n);
    return sha256(NODE_PREFIX, this.subtree(start, start + k), this.subtree(start + k, end));
  }

  /** Merkle tree hash of the first `treeSize` leaves (default: all). */
  root(treeSize: number = this.size): Uint8Array {
    assertSize(treeSize, 'treeSize', this.size);
    return treeSize === 0 ? EMPTY_TREE_ROOT.slice() : this.subtree(0, treeSize);
  }

  /**
   * RFC 9162 §2.1.3.1 inclusion path of leaf `index` in the tree of the first
   * `treeSize` leaves, ordered from the leaf's sibling up to the root's child.
   */
  inclusionProof(index: number, treeSize: number = this.size): Uint8Array[] {
    assertSize(treeSize, 'treeSize', this.size);
    if (treeSize === 0) throw new RangeError('treeSize must be at least 1 for an inclusion proof');
    assertSize(index, 'index', treeSize - 1);
    const path: Uint8Array[] = [];
    let start = 0;
    let end = treeSize;
    let m = index;
    // Walk down from the root; collect siblings, then reverse to leaf-first order.
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (m < k) {
        path.push(this.subtree(start + k, end));
        end = start + k;
      } else {
        path.push(this.subtree(start, start + k));
        start += k;
        m -= k;
      }
    }
    return path.reverse();
  }

  /**
   * RFC 9162 §2.1.4.1 consistency proof from the tree of the first `oldSize`
   * leaves to the tree of the first `newSize` leaves. Empty when
   * `oldSize === 0` or `oldSize === newSize`.
   */
  consistencyProof(oldSize: number, newSize: number = this.size): Uint8Array[] {
    assertSize(newSize, 'newSize', this.size);
    assertSize(oldSize, 'oldSize', newSize);
    if (oldSize === 0 || oldSize === newSize) return [];
    // SUBPROOF(m, D[start:end], b), unrolled: each step appends one node and
    // descends into one half; the final step appends the old subtree itself
    // unless it is the whole old tree (b still true).
    const out: Uint8Array[] = [];
    let start = 0;
    let end = newSize;
    let m = oldSize;
    let complete = true;
    while (m !== end - start) {
      const k = splitPoint(end - start);
      if (m <= k) {
        out.push(this.subtree(start + k, end));
        end = start + k;
      } else {
        out.push(this.subtree(start, start + k));
        start += k;
        m -= k;
        complete = false;
      }
    }
    if (!complete) out.push(this.subtree(start, end));
    return out.reverse();
  }
}

/** Merkle tree hash (RFC 6962 MTH) of a list of leaf hashes. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  return MerkleTree.fromLeafHashes(leafHashes).root();
}

/**
 * Inclusion proof of leaf `index` in the tree of the first `treeSize` of
 * `leafHashes`. Builds the tree each call (O(treeSize)); use
 * {@link MerkleTree} for many proofs against one tree.
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, treeSize: number): Uint8Array[] {
  if (!Array.isArray(leafHashes)) throw new TypeError('leafHashes must be an array');
  assertSize(treeSize, 'treeSize', leafHashes.length);
  return MerkleTree.fromLeafHashes(leafHashes.slice(0, treeSize)).inclusionProof(index, treeSize);
}

/** Consistency proof between the trees of the first `oldSize` and `newSize` of `leafHashes`. */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number, newSize: number): Uint8Array[] {
  if (!Array.isArray(leafHashes)) throw new TypeError('leafHashes must be an array');
  assertSize(newSize, 'newSize', leafHashes.length);
  return MerkleTree.fromLeafHashes(leafHashes.slice(0, newSize)).consistencyProof(oldSize, newSize);
}

function isProof(proof: unknown): proof is readonly Uint8Array[] {
  return Array.isArray(proof) && proof.length <= 64 && proof.every(isHash);
}

/**
 * RFC 9162 §2.1.3.2: true iff `proof` proves that `leafHash` is leaf `index`
 * of the tree of size `treeSize` whose root is `root`. Returns false, never
 * throws, for any malformed or hostile input.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leafHash) || !isHash(root) || !isSize(index) || !isSize(treeSize) || !isProof(proof)) return false;
  if (index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(NODE_PREFIX, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = sha256(NODE_PREFIX, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && constantTimeEqual(r, root);
}

/**
 * RFC 9162 §2.1.4.2: true iff `proof` proves that the tree of size `newSize`
 * with root `newRoot` extends the tree of size `oldSize` with root `oldRoot`.
 *
 * Edge cases the RFC algorithm leaves to the caller (it assumes
 * 0 < oldSize < newSize): equal sizes need an empty proof and equal roots;
 * `oldSize === 0` needs an empty proof and `oldRoot` equal to the empty-tree
 * hash (stricter than some implementations, which accept any old root for
 * an empty tree: a checkpoint of an empty log has exactly one valid root).
 * Returns false, never throws, for any malformed or hostile input.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(oldSize) || !isSize(newSize) || !isHash(oldRoot) || !isHash(newRoot) || !isProof(proof)) return false;
  if (oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && constantTimeEqual(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0 && constantTimeEqual(oldRoot, EMPTY_TREE_ROOT);
  if (proof.length === 0) return false;
  const path: Uint8Array[] = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = sha256(NODE_PREFIX, c, fr);
      sr = sha256(NODE_PREFIX, c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = sha256(NODE_PREFIX, sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && constantTimeEqual(fr, oldRoot) && constantTimeEqual(sr, newRoot);
}
