/** Types of enrolment-token.js (plain JavaScript served to the browser). */
export const TOKEN_MERCHANT_ID: RegExp;
export class TokenIssueError extends Error {
  readonly code: 'SEED_INVALID' | 'MERCHANT_ID_INVALID' | 'DAYS_INVALID' | 'NO_ED25519';
  constructor(code: string, message: string);
}
export function canonicalEncode(domain: string, values: readonly (string | Uint8Array | number)[]): Uint8Array;
export function issueEnrolmentToken(options: {
  authoritySeed: Uint8Array;
  merchantId: string;
  days?: number;
  nowMs?: number;
  subtle?: SubtleCrypto;
}): Promise<{ token: string; tokenId: string; authorityKey: string; expiresAt: string }>;
