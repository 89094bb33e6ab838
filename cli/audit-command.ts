/**
 * `fedmart audit`: export a signed audit report bundle from a coordinator,
 * and verify a bundle offline with nothing but the coordinator's public key.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cryptoReady } from '../crypto/index.js';
import { renderAuditCsv, renderAuditReportHtml, verifyAuditBundle, type AuditBundle, type AuditBundleVerification } from '../compliance/index.js';
import { parse, parseJson, requireString, UsageError } from './args.js';
import { HTTP_CLIENT_OPTIONS, httpClientFrom, ApiError, type CoordinatorHttpClient } from './http-client.js';

export const AUDIT_HELP = `fedmart audit — export and verify signed audit reports (合规审计报告)

Usage:
  fedmart audit export [--from ISO] [--to ISO] --out FILE [--no-pdf] [--key HEX] [--http URL] [--token T]
  fedmart audit verify FILE [--from ISO] [--to ISO] [--key HEX] [--json]

export   runs an export job on the coordinator (progress on stderr) for a signed bundle
         of every audit entry in [from, to] (default: everything up to now; a range
         reaching past the latest entry ends at that entry's time) and writes
         FILE (JSON), FILE's .html report, a folder of CSV tables and, when the
         coordinator renders PDFs (headless Chromium), FILE's .pdf beside it.
         The export itself is logged. It is verified as verify does, against
         --key when given, else with the same warning on stderr.
verify   checks FILE offline: schema, bundle signature, signed checkpoint, the
         inclusion proof of every entry, that no entry of the range is left out
         (the entries just before and after the range are proven to lie outside
         it), and every report section recomputed from the entries. --key pins
         the coordinator's audit public key (hex): without it the bundle is
         checked against the key it carries, which anyone could have signed
         with, and a warning says so on stderr. The key is printed by fedmart
         init ("audit signing key") and kept in the deployment folder's
         deployment.json (coordinator.auditSigningPublicKey).
         --from/--to give the range you asked for: the bundle must prove it
         complete, i.e. its own range must start no later than --from and end
         no earlier than --to, else it
         is broken at "range" (an export ends a range reaching past the latest
         entry at that entry, so a --to after it cannot be proven until a later
         entry is logged). ISO is a date (00:00 UTC that day) or a time with Z
         or an offset, e.g. 2025-05-01 or 2025-05-31T23:59:59.999Z.
         Exit 0 and a summary when intact; exit 1 and one line naming the first
         broken item (e.g. the first missing entry) when not; exit 2 for bad
         arguments.

  --http URL   coordinator HTTP API (default http://127.0.0.1:7080 or FEDMART_HTTP)
               https:// trusts only the CA in the file FEDMART_CA names, when set; plain
               http:// only to a loopback address
  --ca FILE    the one CA to trust for https:// (default: the file FEDMART_CA names)
  --token T    a compliance officer's API token (default FEDMART_API_TOKEN)`;

/** Printed on stderr by audit verify or export without --key (verification still runs). */
export function unpinnedKeyWarning(sub: 'verify' | 'export'): string {
  return `fedmart audit ${sub}: WARNING: the audit log's signing key is NOT PINNED; the bundle is checked against the key it carries, so anyone could have signed it. Pin the coordinator's audit key with --key HEX (the "audit signing key" fedmart init printed; coordinator.auditSigningPublicKey in the deployment folder's deployment.json).\n`;
}

/** Printed on stderr by audit verify without --key (verification still runs). */
export const UNPINNED_KEY_WARNING = unpinnedKeyWarning('verify');

function sidecarPaths(out: string): { html: string; csvDir: string } {
  const stem = basename(out).replace(/\.json$/i, '');
  return { html: join(dirname(out), `${stem}.html`), csvDir: join(dirname(out), `${stem}-csv`) };
}

/** Writes the bundle, its HTML report and CSV tables; returns the paths written. */
export function writeAuditReport(out: string, bundle: AuditBundle, verification: AuditBundleVerification): string[] {
  const { html, csvDir } = sidecarPaths(out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(bundle, null, 2) + '\n');
  writeFileSync(html, renderAuditReportHtml(bundle, { verification }));
  mkdirSync(csvDir, { recursive: true });
  const csv = renderAuditCsv(bundle);
  for (const [name, text] of Object.entries(csv)) writeFileSync(join(csvDir, name), text);
  return [out, html, ...Object.keys(csv).map((n) => join(csvDir, n))];
}

export function describeVerification(v: AuditBundleVerification): string {
  if (!v.ok) return `BROKEN at ${v.firstBroken}: ${v.reason}`;
  const s = v.summary;
  return [
    `intact: ${s.entries} entries (seq ${s.firstSeq ?? '-'}..${s.lastSeq ?? '-'}) of a log of ${s.size}, root ${s.root.slice(0, 16)}…`,
    `  signed by ${s.keyName} (${s.publicKey.slice(0, 16)}…), range ${s.from} .. ${s.to}`,
    `  complete: ${s.beforeSeq === null ? 'starts at the first entry of the log' : `entry ${s.beforeSeq} precedes from`}, ${s.afterSeq === null ? 'ends at the checkpoint\'s last entry, stamped at to' : `entry ${s.afterSeq} follows to`}`,
    `  ${s.purposes} purposes, ${s.queries} queries, ${s.releases} releases, ${s.contributionsAccepted} contributions accepted`,
  ].join('\n');
}

/**
 * An ISO-8601 date (00:00 UTC that day) or a time with Z or an offset, as
 * milliseconds; undefined when the text is not one or names no real day.
 */
export function parseIsoInstant(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,3})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/.exec(text);
  if (!m) return undefined;
  const day = new Date(0);
  day.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (day.getUTCFullYear() !== Number(m[1]) || day.getUTCMonth() !== Number(m[2]) - 1 || day.getUTCDate() !== Number(m[3])) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The range given with --from/--to, or undefined when neither is; UsageError when one is not an ISO time. */
function requestedRange(values: Record<string, string | boolean | undefined>): { from?: string; to?: string } | undefined {
  const out: { from?: string; to?: string } = {};
  for (const name of ['from', 'to'] as const) {
    const v = values[name];
    if (v === undefined) continue;
    const ms = typeof v === 'string' ? parseIsoInstant(v) : undefined;
    if (ms === undefined) {
      throw new UsageError(`--${name} ${JSON.stringify(v)} is not an ISO-8601 date or time with Z or an offset (e.g. 2025-05-01 or 2025-05-31T23:59:59.999Z)`);
    }
    out[name] = new Date(ms).toISOString();
  }
  if (out.from === undefined && out.to === undefined) return undefined;
  if (out.from !== undefined && out.to !== undefined && out.from > out.to) throw new UsageError(`--from ${out.from} is after --to ${out.to}`);
  return out;
}

interface ExportJobView {
  readonly jobId: string;
  readonly status: 'queued' | 'running' | 'done' | 'failed';
  readonly progress: { readonly done: number; readonly total: number; readonly step: string };
  readonly error: { readonly code: string; readonly title: string; readonly detail?: string } | null;
  readonly result: { readonly links: { readonly bundle: string; readonly pdf: string | null }; readonly pdfNote: string | null } | null;
}

/** Runs an export job, reporting its steps on stderr; returns the bundle and the PDF when one was rendered. */
async function exportJob(client: CoordinatorHttpClient, from: string, to: string, pdf: boolean): Promise<{ bundle: AuditBundle; pdf: Buffer | null }> {
  let job = await client.request<ExportJobView>('POST', '/v1/audit/export-jobs', { from, to, pdf });
  let last = '';
  for (;;) {
    const line = `export ${job.jobId}: ${job.progress.step} (${job.progress.done}/${job.progress.total})`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (job.status === 'done' || job.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 200));
    job = await client.request<ExportJobView>('GET', `/v1/jobs/${job.jobId}`);
  }
  if (job.status === 'failed' || !job.result) throw new ApiError(500, job.error?.code ?? 'INTERNAL', `export job failed: ${job.error?.title ?? 'unknown'}${job.error?.detail ? `: ${job.error.detail}` : ''}`);
  if (pdf && !job.result.links.pdf) process.stderr.write(`no PDF: ${job.result.pdfNote ?? 'not rendered'}\n`);
  return {
    bundle: await client.request<AuditBundle>('GET', job.result.links.bundle),
    pdf: job.result.links.pdf ? await client.download(job.result.links.pdf) : null,
  };
}

export async function auditCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    from: { type: 'string' },
    to: { type: 'string' },
    out: { type: 'string' },
    ...HTTP_CLIENT_OPTIONS,
    key: { type: 'string' },
    json: { type: 'boolean' },
    'no-pdf': { type: 'boolean' },
  });
  const sub = positionals[0];
  if (values.help || sub === undefined) {
    console.log(AUDIT_HELP);
    return values.help ? 0 : 2;
  }
  await cryptoReady();
  switch (sub) {
    case 'export': {
      const out = requireString(values, 'out');
      const from = typeof values.from === 'string' ? values.from : '1970-01-01T00:00:00.000Z';
      const to = typeof values.to === 'string' ? values.to : new Date().toISOString();
      for (const [name, v] of [['from', from], ['to', to]] as const) {
        if (Number.isNaN(Date.parse(v))) throw new UsageError(`--${name} must be an ISO-8601 time`);
      }
      const client = httpClientFrom(values);
      const { bundle, pdf } = await exportJob(client, new Date(from).toISOString(), new Date(to).toISOString(), values['no-pdf'] !== true);
      if (typeof values.key !== 'string') process.stderr.write(unpinnedKeyWarning('export'));
      const verification = verifyAuditBundle(bundle, typeof values.key === 'string' ? { publicKeyHex: values.key } : {});
      const written = writeAuditReport(out, bundle, verification);
      if (pdf) {
        const pdfFile = join(dirname(out), `${basename(out).replace(/\.json$/i, '')}.pdf`);
        writeFileSync(pdfFile, pdf);
        written.splice(2, 0, pdfFile);
      }
      console.log(`wrote ${written.join(', ')}`);
      console.log(describeVerification(verification));
      return verification.ok ? 0 : 1;
    }
    case 'verify': {
      const file = positionals[1];
      if (!file) throw new UsageError('audit verify needs a FILE');
      const expectRange = requestedRange(values);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))}`);
      }
      const bundle = parseJson(text, file);
      if (typeof values.key !== 'string') process.stderr.write(UNPINNED_KEY_WARNING);
      const verification = verifyAuditBundle(bundle, {
        ...(typeof values.key === 'string' ? { publicKeyHex: values.key } : {}),
        ...(expectRange ? { expectRange } : {}),
      });
      if (values.json) console.log(JSON.stringify(verification, null, 2));
      else if (verification.ok) {
        console.log(describeVerification(verification));
        if (expectRange) console.log(`  covers the requested range ${expectRange.from ?? '…'} .. ${expectRange.to ?? '…'}`);
      } else console.error(`fedmart audit verify: ${describeVerification(verification)}`);
      return verification.ok ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown audit subcommand "${sub}" (export, verify)`);
  }
}
