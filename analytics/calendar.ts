/**
 * Instants and calendar months for queries that are "as of" a declared time.
 *
 * A spec names its as-of instant explicitly (never "now"): every shop must
 * compute against the same instant, and a re-run of the same spec must give
 * the same answer. Months are calendar months at a declared UTC offset
 * (Beijing time, +08:00, by default), counted as `year · 12 + month − 1`.
 *
 * @module
 */
import { z } from 'zod';

/** Seconds in a day (UTC; calendar days in other offsets are offset by whole hours, never shorter). */
export const DAY_SECONDS = 86_400;
/** Milliseconds in a day. */
export const DAY_MS = DAY_SECONDS * 1000;

const ISO_INSTANT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;
const MONTH_LABEL = /^([0-9]{4})-([0-9]{2})$/;

/** Integer Unix seconds of a `YYYY-MM-DDTHH:MM:SSZ` instant, or undefined when it is not a real one. */
export function isoInstantSeconds(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  const same =
    back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d &&
    back.getUTCHours() === h && back.getUTCMinutes() === mi && back.getUTCSeconds() === s;
  return same && y >= 1970 ? ms / 1000 : undefined;
}

/** A UTC instant with whole seconds, e.g. `2026-01-01T00:00:00Z` (kept as written; canonical). */
export const isoInstantSchema = z
  .string()
  .refine((t) => isoInstantSeconds(t) !== undefined, 'expected a UTC instant like 2026-01-01T00:00:00Z');

/** Month index of a `YYYY-MM` label, or undefined. */
export function monthOfLabel(text: string): number | undefined {
  const m = MONTH_LABEL.exec(text);
  if (m === null) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  return y >= 1970 && mo >= 1 && mo <= 12 ? y * 12 + mo - 1 : undefined;
}

/** A calendar month, `YYYY-MM`. */
export const monthLabelSchema = z.string().refine((t) => monthOfLabel(t) !== undefined, 'expected a month like 2025-06');

/** `YYYY-MM` of a month index. */
export function monthLabel(month: number): string {
  if (!Number.isSafeInteger(month) || month < 0) throw new RangeError(`month: expected a non-negative month index, got ${month}`);
  return `${String(Math.floor(month / 12)).padStart(4, '0')}-${String((month % 12) + 1).padStart(2, '0')}`;
}

/** Month index of the calendar month holding `unixS` at `utcOffsetMinutes`. */
export function monthOf(unixS: number, utcOffsetMinutes: number): number {
  const d = new Date((unixS + utcOffsetMinutes * 60) * 1000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/** Offsets in use around the world, in minutes (UTC−12:00 to UTC+14:00). */
export const utcOffsetSchema = z.number().int().min(-720).max(840);

/** Beijing time: month boundaries at local midnight for shops in mainland China. */
export const DEFAULT_UTC_OFFSET_MINUTES = 480;
