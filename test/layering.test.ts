/**
 * The one-way dependency stack of DESIGN.md, checked on the real import graph:
 * in particular the coordinator can never load the key holder's code (and so
 * never the secret key or the decryptor).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const ORDER = ['crypto', 'protos', 'analytics', 'compliance', 'client-sdk', 'synth', 'keyholder', 'coordinator'] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'gen' ? sourceFiles(p) : sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? '');
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

function moduleOf(file: string): string {
  return relative(ROOT, file).split('/')[0] ?? '';
}

/** Every file reachable from `entry` through relative imports. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...importsOf(f));
  }
  return seen;
}

describe('dependency layering', () => {
  it('the coordinator never reaches keyholder/ code through any import chain', () => {
    const reached = [...closure(join(ROOT, 'coordinator', 'index.ts'))].map((f) => relative(ROOT, f));
    expect(reached.length).toBeGreaterThan(10);
    expect(reached.filter((f) => f.startsWith('keyholder/'))).toEqual([]);
    // Nor does any coordinator file name the decryptor or a secret key file.
    for (const f of sourceFiles(join(ROOT, 'coordinator'))) {
      const text = readFileSync(f, 'utf8');
      expect(text, relative(ROOT, f)).not.toMatch(/HeDecryptor|he-secret\.key|secretKey/);
    }
  });

  it.each(ORDER.map((m) => [m]))('%s imports only from modules above it', (mod) => {
    const allowed = new Set(ORDER.slice(0, ORDER.indexOf(mod) + 1));
    let dir: string;
    try {
      dir = join(ROOT, mod);
      statSync(dir);
    } catch {
      return; // module not present yet
    }
    for (const f of sourceFiles(dir)) {
      for (const target of importsOf(f)) {
        const m = moduleOf(target);
        expect(allowed.has(m as (typeof ORDER)[number]), `${relative(ROOT, f)} imports ${relative(ROOT, target)}`).toBe(true);
      }
    }
  });
});
