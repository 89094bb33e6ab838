#!/usr/bin/env node
// Regenerates the TypeScript for protos/ into a temporary folder and fails if
// it differs from the committed protos/gen: generated code must never drift.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const protos = join(root, 'protos');
const committed = join(protos, 'gen');
const fresh = mkdtempSync(join(tmpdir(), 'fedmart-proto-'));

function listFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

try {
  execFileSync(join(root, 'node_modules', '.bin', 'buf'), ['lint'], { cwd: protos, stdio: 'inherit' });
  execFileSync(join(root, 'node_modules', '.bin', 'buf'), ['generate', '-o', fresh], { cwd: protos, stdio: 'inherit' });
  const want = listFiles(join(fresh, 'gen')).map((p) => relative(join(fresh, 'gen'), p)).sort();
  const have = listFiles(committed).map((p) => relative(committed, p)).sort();
  const problems = [];
  for (const f of new Set([...want, ...have])) {
    if (!want.includes(f)) problems.push(`stale file protos/gen/${f} (no .proto generates it)`);
    else if (!have.includes(f)) problems.push(`missing protos/gen/${f}`);
    else if (readFileSync(join(fresh, 'gen', f), 'utf8') !== readFileSync(join(committed, f), 'utf8')) {
      problems.push(`protos/gen/${f} differs from what the .proto files generate`);
    }
  }
  if (problems.length > 0) {
    console.error('proto:check failed; run `npm run proto:gen` and commit:\n  ' + problems.join('\n  '));
    process.exitCode = 1;
  } else {
    console.log(`proto:check ok: ${want.length} generated files match`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
