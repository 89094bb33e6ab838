/**
 * Quoting text a peer sent (ids, type names) inside a status message or any
 * other answer. A peer can send 100,000 characters, ANSI escape sequences or
 * newlines in a string field; echoed as is, they end up in the peer's
 * terminal, in log viewers and in whatever parses `details` line by line.
 * So every echo is escaped (control, line-separator and bidirectional
 * formatting characters become `\uXXXX`, lone surrogates become U+FFFD) and
 * at most `UNTRUSTED_ECHO_MAX` characters long, escapes included.
 */

/** Most characters of untrusted input an answer ever carries (after escaping). */
export const UNTRUSTED_ECHO_MAX = 128;

/**
 * C0 and C1 controls, DEL, U+2028/U+2029 (line breaks to JavaScript and
 * many viewers), bidirectional embeddings, overrides and isolates, and the
 * byte order mark.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` with every unsafe character written as `\uXXXX` and lone surrogates as U+FFFD; length unchanged otherwise. */
export function escapeUntrusted(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd').replace(UNSAFE, escapeChar);
}

/**
 * Untrusted `text`, escaped and cut so that the result is at most `max`
 * characters (an ellipsis marks a cut). A cut never splits an escape or a
 * surrogate pair.
 */
export function quoteUntrusted(text: string, max = UNTRUSTED_ECHO_MAX): string {
  // Escaping multiplies a character by at most 6: look at no more than needed.
  const escaped = escapeUntrusted(text.slice(0, max * 6 + 2));
  if (escaped.length <= max && text.length <= max * 6 + 2) return escaped;
  let out = '';
  for (const piece of escaped.match(/\\u[0-9a-f]{4}|[\ud800-\udbff][\udc00-\udfff]|[\s\S]/g) ?? []) {
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}
