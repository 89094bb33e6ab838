/** Types of charts.js (plain JavaScript served to the browser). */
export function esc(s: unknown): string;
export function barChart(o: { title: string; labels: string[]; values: (number | null)[]; format?: (v: number) => string; suppressedLabel?: string; suppressedLabels?: (string | undefined)[]; suppressedTitles?: (string | undefined)[] }): string;
export function heatMap(o: { title: string; rows: string[]; cols: string[]; cells: (number | null)[][]; rowLabel?: string; colLabel?: string; withheldTitles?: (string | undefined)[][] }): string;
export function intervalChart(o: { title: string; items: { label: string; estimate: number; lower: number; upper: number }[]; format?: (v: number) => string }): string;
export function rocFromHistograms(pos: number[], neg: number[]): { points: { fpr: number; tpr: number }[]; auc: number | null };
export function rocChart(o: { title: string; points: { fpr: number; tpr: number }[]; auc: number | null; fprLabel?: string; tprLabel?: string }): string;
export function stackedBar(o: { title: string; parts: { label: string; value: number }[] }): string;
export function histogramChart(o: { title: string; edges: number[]; values: (number | null)[]; formatEdge?: (v: number) => string; format?: (v: number) => string; suppressedLabels?: (string | undefined)[]; suppressedTitles?: (string | undefined)[]; xLabel?: string; yLabel?: string; suppressedLabel?: string }): string;
export function countHeatMap(o: { title: string; rows: string[]; cols: string[]; cells: (number | null)[][]; format?: (v: number) => string; cellTexts?: (string | undefined)[][]; cellTitles?: (string | undefined)[][]; suppressedLabels?: (string | undefined)[][]; suppressedTitles?: (string | undefined)[][]; rowLabel?: string; colLabel?: string }): string;
export function scatterChart(o: { title: string; points: { x: number; y: number; size: number; label: string }[]; xLabel?: string; yLabel?: string; format?: (v: number) => string }): string;
