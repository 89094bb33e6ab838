/** Types of query-list.js (plain JavaScript served to the browser). */
export interface RecentItem {
  kind: 'query' | 'fit';
  createdAt: string;
  query?: any;
  fit?: any;
  rounds?: any[];
  fitId?: string;
}
export function recentItems(queries: readonly any[], fits: readonly any[], limit?: number): RecentItem[];
export function fitRounds(fit: unknown, rounds: readonly unknown[]): unknown[];
export function recentTable(queries: readonly unknown[], fits: readonly unknown[]): unknown;
