/** Types of kmeans-view.js (plain JavaScript served to the browser). */
export const FEATURE_UNITS: Record<string, { scale: number; unit: string }>;
export function featureHeading(name: string): string;
export function inUnits(name: string, v: number): number;
export function kmeansModelView(model: { features: string[]; centroids: number[][]; sizes?: number[]; droppedClusters?: number }): unknown;
