/** Types of scripts/scan-logs.mjs (for its unit test). */
export declare const DEFAULT_LOG_DIR: string;
export type FindingKind =
  | 'pem-private-key' | 'bearer-token' | 'api-token' | 'test-token' | 'secret-field'
  | 'mobile-number' | 'email' | 'customer-id' | 'customer-name';
export interface Finding { readonly file: string; readonly line: number; readonly kind: FindingKind }
export declare function customerNamePattern(peopleSource?: string): RegExp | null;
export declare function collectTestTokens(root?: string): string[];
export declare function createScanner(options?: { tokens?: readonly string[]; namePattern?: RegExp | null }): (line: string) => FindingKind[];
export declare function scanDir(dir?: string, scanLine?: (line: string) => FindingKind[]): Finding[];
