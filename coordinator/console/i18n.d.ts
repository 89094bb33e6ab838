/** Types of i18n.js (plain JavaScript served to the browser). */
export const MESSAGES: { zh: Record<string, string>; en: Record<string, string> };
/** The coordinator's HTTP problem codes worded in both languages (English = the problem's title). */
export const PROBLEM_TITLES: Record<string, { zh: string; en: string }>;
export function getLang(): 'zh' | 'en';
export function setLang(lang: string): void;
export function t(key: string, vars?: Record<string, unknown>, lang?: 'zh' | 'en'): string;
export function explain(code: string, vars?: { k?: number | null; m?: number | null; p?: number | null }, lang?: 'zh' | 'en'): string;
export function failureText(v: { statusCode?: string | null; explanation?: { en: string; zh: string } | null; statusReason?: string | null }, vars?: { k?: number | null; m?: number | null; p?: number | null }, lang?: 'zh' | 'en'): string;
export function withheldLabel(code: string, vars?: { k?: number | null; m?: number | null; p?: number | null }, lang?: 'zh' | 'en'): string;
export const fmt: { num(v: number | null | undefined): string; pct(v: number | null | undefined): string; time(iso: string | null): string; day(iso: string | null): string };
