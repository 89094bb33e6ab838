#!/usr/bin/env node
// Scans every file under test-output/logs/ (written by the services the
// tests start, see harness/test-logs.ts) for secrets, personal data
// and lines that are not JSON, and exits 1 with one line per finding
// (file:line kind) if any is found.
//
//   node scripts/scan-logs.mjs [DIR]      scan (default test-output/logs)
//   node scripts/scan-logs.mjs --clear    empty the folder (before a suite run)
//
// Kinds:
//   pem-private-key   a PEM "-----BEGIN ... PRIVATE KEY-----" block
//   bearer-token      "Bearer <token>" anywhere
//   api-token         a fedmart API token (fm_ + 43 base64url characters)
//   test-token        a token constant of the tests (TOKEN = '...' in test/, harness/ and bench/)
//   secret-field      a field whose name looks secret (seed, secret, token,
//                     authorization, password, private, key, ...) holding 64 hex
//                     digits or base64/base64url of 32+ bytes. Fields whose names say
//                     they are public are allowed (PUBLIC_FIELD below: publicKey,
//                     signingKey, keyId, keyDigest, *Digest, *Hash, *Fingerprint,
//                     *PublicKey...): in fedmart `signingKey` and
//                     `keyholderSigningKey` are Ed25519 public keys, `keyId` is the
//                     BLAKE2b digest of the HE public key.
//   mobile-number     a mainland China mobile number /\b1[3-9]\d{9}\b/
//   email             an e-mail address
//   customer-id       a synthetic customer, order, consent record or rights request id
//                     (C-nn-nnnnnn, O-nn-nnnnnnn, CR-nn-<12 hex>, RR-nn-nnnnn)
//   customer-name     a synthetic customer name: a surname of synth/people.ts followed
//                     by one or two of its given-name characters, standing alone
//   not-json          a line that is not a JSON object: the services write nothing but
//                     pino JSON lines on stderr (a Node warning such as DEP0123 would be
//                     one). Only the CLI's own last line when a command fails
//                     ("fedmart <command>: message") may end a file unparsed.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const DEFAULT_LOG_DIR = join(ROOT, 'test-output', 'logs');

/** Field names that look secret. */
const SECRET_FIELD = /seed|secret|token|authori[sz]ation|password|passphrase|private|credential|cookie|api[-_]?key|(^|[-_])key$|Key$|^key$/i;
/** Field names that say the value is public (checked first). */
const PUBLIC_FIELD = /public|digest|hash|fingerprint|^keyId$|Id$|^signingKey$|^keyholderSigningKey$|^merchantSigningKey$|^enrolmentAuthority|^coordinatorRequestKey|^requestKey$|^auditKey$|^tokenId$|checkpoint|root/i;
/** 64 hex digits, or base64 / base64url of at least 32 bytes. */
const HEX64 = /^(?:0x)?[0-9a-fA-F]{64,}$/;
const B64_32 = /^[A-Za-z0-9+/_-]{43,}={0,2}$/;

const PEM_PRIVATE = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/=-]{6,}/i;
const API_TOKEN = /\bfm_[A-Za-z0-9_-]{40,}/;
const MOBILE = /\b1[3-9]\d{9}\b/;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/;
const CUSTOMER_ID = /\b(?:C-\d{2}-\d{6}|O-\d{2}-\d{7}|CR-\d{2}-[0-9a-f]{12}|RR-\d{2}-\d{5})\b/;
/** `name=value` / `"name": "value"` pairs in lines that are not JSON. */
const PAIR = /["']?([A-Za-z_][\w.-]*)["']?\s*[:=]\s*["']?([A-Za-z0-9+/_=-]{40,})/g;

/** Reads the `const X = [ '...', ... ]` array of single characters/strings from synth/people.ts. */
function peopleArray(text, name) {
  const m = text.match(new RegExp(`const ${name} = \\[([\\s\\S]*?)\\]`));
  return m ? [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]) : [];
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The customer-name pattern built from synth/people.ts (null if it cannot be read). */
export function customerNamePattern(peopleSource = safeRead(join(ROOT, 'synth', 'people.ts'))) {
  if (!peopleSource) return null;
  const surnames = peopleArray(peopleSource, 'SURNAMES').sort((a, b) => b.length - a.length);
  const given = peopleArray(peopleSource, 'GIVEN');
  if (surnames.length === 0 || given.length === 0) return null;
  return new RegExp(`(?<![\\u3400-\\u9fff])(?:${surnames.map(escapeRe).join('|')})(?:${given.map(escapeRe).join('|')}){1,2}(?![\\u3400-\\u9fff])`, 'u');
}

function safeRead(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(ts|mjs|js)$/.test(e.name) ? [p] : [];
  });
}

/** Token constants of the tests and benchmarks: `const SOMETHING_TOKEN = '...'`. */
export function collectTestTokens(root = ROOT) {
  const tokens = new Set();
  for (const f of [...sourceFiles(join(root, 'test')), ...sourceFiles(join(root, 'harness')), ...sourceFiles(join(root, 'bench'))]) {
    for (const m of safeRead(f).matchAll(/\b(?:const|let)\s+\w*TOKEN\w*\s*=\s*'([^']{8,})'/g)) tokens.add(m[1]);
  }
  return [...tokens];
}

/** A file path (`/tmp/x/y`, `./a/b`) is not a key, even in a field named `seedFile`. */
function looksLikePath(value) {
  return /^\.{0,2}\//.test(value) && (value.match(/\//g) ?? []).length >= 2;
}

function secretValue(value) {
  return typeof value === 'string' && !looksLikePath(value) && (HEX64.test(value) || B64_32.test(value));
}

function fieldLooksSecret(name) {
  return !PUBLIC_FIELD.test(name) && SECRET_FIELD.test(name);
}

/** Every [name, value] pair of a parsed JSON value, at any depth. */
function* pairs(value, name = '') {
  if (Array.isArray(value)) {
    for (const v of value) yield* pairs(v, name);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* pairs(v, k);
  } else {
    yield [name, value];
  }
}

/**
 * A scanner for single lines. `options.tokens`: literal tokens to find
 * (default: the test constants); `options.namePattern`: customer names
 * (default: from synth/people.ts).
 */
export function createScanner(options = {}) {
  const tokens = (options.tokens ?? collectTestTokens()).filter((t) => t.length >= 8);
  const namePattern = options.namePattern === undefined ? customerNamePattern() : options.namePattern;
  /** The kinds of finding in one line (each kind once). */
  return function scanLine(line) {
    const kinds = new Set();
    if (PEM_PRIVATE.test(line)) kinds.add('pem-private-key');
    if (BEARER.test(line)) kinds.add('bearer-token');
    if (API_TOKEN.test(line)) kinds.add('api-token');
    if (tokens.some((t) => line.includes(t))) kinds.add('test-token');
    if (MOBILE.test(line)) kinds.add('mobile-number');
    if (EMAIL.test(line)) kinds.add('email');
    if (CUSTOMER_ID.test(line)) kinds.add('customer-id');
    if (namePattern && namePattern.test(line)) kinds.add('customer-name');
    let parsed;
    const trimmed = line.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        parsed = JSON.parse(trimmed);
      } catch {
        parsed = undefined;
      }
    }
    if (parsed !== undefined) {
      for (const [name, value] of pairs(parsed)) {
        if (fieldLooksSecret(name) && secretValue(value)) kinds.add('secret-field');
      }
    } else {
      for (const m of line.matchAll(PAIR)) {
        if (fieldLooksSecret(m[1]) && secretValue(m[2])) kinds.add('secret-field');
      }
    }
    return [...kinds];
  };
}

function logFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? logFiles(p) : [p];
  });
}

/** True for a line that parses as a JSON object (a pino log line). */
export function isJsonObjectLine(line) {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return false;
  try {
    const parsed = JSON.parse(trimmed);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** The one line the CLI prints when a command fails (cli/main.ts). */
const CLI_EXIT_LINE = /^fedmart [a-z][a-z-]*: \S/;

/**
 * Line numbers (1-based) of `lines` that are neither empty nor JSON
 * objects, except a CLI exit line ending the file.
 */
export function notJsonLines(lines) {
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === '') last--;
  const found = [];
  lines.forEach((text, i) => {
    if (text.trim() === '' || isJsonObjectLine(text)) return;
    if (i === last && CLI_EXIT_LINE.test(text)) return;
    found.push(i + 1);
  });
  return found;
}

/**
 * Scans every file under `dir`: findings as { file, line, kind }, sorted
 * by file and line. `options.json` (default true): also report lines that
 * are not JSON (kind `not-json`).
 */
export function scanDir(dir = DEFAULT_LOG_DIR, scanLine = createScanner(), options = {}) {
  const findings = [];
  for (const file of logFiles(dir).sort()) {
    if (!statSync(file).isFile()) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    const perFile = [];
    lines.forEach((text, i) => {
      for (const kind of scanLine(text)) perFile.push({ file, line: i + 1, kind });
    });
    if (options.json !== false) for (const line of notJsonLines(lines)) perFile.push({ file, line, kind: 'not-json' });
    findings.push(...perFile.sort((a, b) => a.line - b.line));
  }
  return findings;
}

function main(argv) {
  if (argv[0] === '--clear') {
    rmSync(DEFAULT_LOG_DIR, { recursive: true, force: true });
    mkdirSync(DEFAULT_LOG_DIR, { recursive: true });
    return 0;
  }
  const dir = resolve(argv[0] ?? DEFAULT_LOG_DIR);
  const files = logFiles(dir);
  const findings = scanDir(dir);
  for (const f of findings) console.log(`${relative(process.cwd(), f.file)}:${f.line} ${f.kind}`);
  if (findings.length > 0) {
    console.error(`scan-logs: ${findings.length} finding(s) in ${files.length} log file(s) under ${relative(process.cwd(), dir) || '.'}`);
    return 1;
  }
  console.error(`scan-logs: ${files.length} log file(s) under ${relative(process.cwd(), dir) || '.'}: no keys, tokens or personal data, nothing but JSON`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
