/** Types of verify.js (plain JavaScript served to the browser). */
export function fromHex(hex: string): Uint8Array;
export function toHex(bytes: Uint8Array): string;
export function fromBase64(text: string): Uint8Array | undefined;
export function toBase64(bytes: Uint8Array): string;
export function sha256(...parts: Uint8Array[]): Promise<Uint8Array>;
export function leafHash(entryText: string): Promise<Uint8Array>;
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array): Promise<boolean>;
export function ed25519Supported(): Promise<boolean>;
export function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean>;
export function noteKeyId(keyName: string, publicKey: Uint8Array): Promise<Uint8Array>;
export function verifyCheckpoint(note: string, keyName: string, publicKeyHex: string): Promise<
  { ok: true; origin: string; size: number; root: Uint8Array } | { ok: false; reason: string }
>;
export function canonicalJson(value: unknown): string;
export interface BundleCheck {
  name: string;
  ok: boolean;
  detail: string;
}
export function expectedRangeOfDays(fromDay: string, toDay: string, nowMs: number): { from: string; to?: string };
export function verifyBundle(
  bundle: unknown,
  options?: {
    pinnedKeyHex?: string | null;
    onProgress?: (done: number, total: number) => void;
    expectRange?: { from?: string | null; to?: string | null } | null;
  },
): Promise<{ ok: boolean; checks: BundleCheck[]; firstBroken: string | null; reason: string | null; size: number | null; root: string | null; entries: number }>;
