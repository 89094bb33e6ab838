/** Types of rfm-view.js (plain JavaScript served to the browser). */
export function rfmCellName(c: { recencyScore: number; frequencyScore: number; monetaryScore: number }): string;
export function rfmGrid(
  r: { recency: { score: number }[]; frequency: { score: number }[]; cells: { recencyScore: number; frequencyScore: number; monetaryScore: number; suppressed: boolean; customers: number | null }[] },
  m: number | 'all',
  reasons: { label: (cell: string) => string; why: (cell: string) => string },
): {
  rScores: number[];
  fScores: number[];
  cells: (number | null)[][];
  cellTexts: (string | undefined)[][];
  cellTitles: (string | undefined)[][];
  suppressedLabels: (string | undefined)[][];
  suppressedTitles: (string | undefined)[][];
};
export function rfmResult(card: unknown, q: unknown): void;
