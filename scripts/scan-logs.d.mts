/** Types of scripts/scan-logs.mjs (for its unit test). */
export declare const DEFAULT_LOG_DIR: string;
export type FindingKind =
  | 'pem-private-key' | 'bearer-token' | 'api-token' | 'test-token' | 'secret-field'
  | 'mobile-number' | 'email' | 'customer-id' | 'customer-name' | 'not-json';
export interface Finding { readonly file: string; readonly line: number; readonly kind: FindingKind }
export declare function customerNamePattern(peopleSource?: string): RegExp | null;
export declare function collectTestTokens(root?: string): string[];
export declare function createScanner(options?: { tokens?: readonly string[]; namePattern?: RegExp | null }): (line: string) => FindingKind[];
export declare function isJsonObjectLine(line: string): boolean;
export declare function notJsonLines(lines: readonly string[]): number[];
export declare function scanDir(dir?: string, scanLine?: (line: string) => FindingKind[], options?: { json?: boolean }): Finding[];
