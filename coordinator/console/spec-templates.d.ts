/** Types of spec-templates.js (plain JavaScript served to the browser). */
export const USER_KINDS: string[];
export const EXAMPLE_AS_OF: string;
export const EXAMPLE_CAMPAIGN_ID: string;
export function specTemplate(kind: string, purpose: string): Record<string, unknown>;
export function fitTemplate(kind: string, purpose: string): Record<string, unknown>;
export function specProblem(kind: string, spec: unknown): string | null;
