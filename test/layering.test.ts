/**
 * The folders' one-way dependency order (docs/architecture.md, "Folders and
 * their dependency order"), checked on the real import graph: every import,
 * `import type`, `export … from`, `import x = require()`, dynamic `import()`
 * and `import('…')` type of every source file, resolved by the TypeScript
 * compiler with this repository's tsconfig.json. Fails on an arrow between
 * folders that ALLOWED does not list, on any cycle between folders and on
 * any cycle between files. In particular the coordinator can never load the
 * key holder's code (and so never the secret key or the decryptor).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Every top-level source folder and the other folders it may import: the
 * one table of allowed arrows. Rows are listed bottom layer first and each
 * names only folders listed before it, so lower never imports higher. Why
 * each sits where it does:
 *
 * - crypto: BFV, Ed25519, BLAKE2b, envelopes and tokens. The leaf: every
 *   party trusts it, so it depends on nothing of ours.
 * - protos: generated wire code plus the gRPC, TLS and envelope helpers
 *   around it; those sign and check with crypto.
 * - analytics: the query and model kinds as arithmetic on plain shop data.
 *   Imports no other folder, so every party computes a kind the same way
 *   and a kind can be checked without keys or a wire.
 * - compliance: purposes, consent, de-identification, disclosure control
 *   and the audit log; reads analytics' kinds and signs with crypto.
 * - round: one round as a protocol object shared by the shop, the
 *   coordinator and the key holder (terms, contribution check, round view);
 *   built from the libraries below it and nothing above.
 * - client-sdk, keyholder, coordinator: the three processes. Each may use
 *   round and the libraries, never another process or synth: a merchant
 *   runs client-sdk alone (today it imports crypto, protos, analytics,
 *   compliance and round), and the coordinator must never be able to load
 *   key-holder code (nor the key holder coordinator code).
 * - synth: synthetic shops and the pooled plaintext reference. It writes
 *   shops in client-sdk's schema with its pseudonym keys and reads them back
 *   through client-sdk, so it sits above client-sdk; no process imports it.
 * - bench: benchmarks; starts key holders in process and coordinators and
 *   merchants as processes (bench/spawn-service.ts), on synthetic shops.
 * - cli: the one `fedmart` binary, on top: it runs every process and
 *   `fedmart bench`, so cli imports bench and bench never imports cli.
 * - harness: in-process deployments for tests and fuzzing (key holder and
 *   coordinator cluster, HTTP app fixture, test identities and databases,
 *   merchants on synthetic shops, service logs) and the fuzz targets. Not
 *   tests itself, so that scripts/fuzz.ts can run the targets without
 *   importing test/; it builds deployments as `fedmart init` does, so it sits
 *   above cli.
 * - scripts: developer scripts (fuzzing, checks); anything but test.
 * - test: may import anything; nothing else imports test.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  crypto: [],
  protos: ['crypto'],
  analytics: [],
  compliance: ['crypto', 'analytics'],
  round: ['crypto', 'protos', 'analytics', 'compliance'],
  'client-sdk': ['crypto', 'protos', 'analytics', 'compliance', 'round'],
  keyholder: ['crypto', 'protos', 'analytics', 'compliance', 'round'],
  coordinator: ['crypto', 'protos', 'analytics', 'compliance', 'round'],
  synth: ['crypto', 'protos', 'analytics', 'compliance', 'round', 'client-sdk'],
  bench: ['crypto', 'protos', 'analytics', 'compliance', 'round', 'client-sdk', 'keyholder', 'coordinator', 'synth'],
  cli: ['crypto', 'protos', 'analytics', 'compliance', 'round', 'client-sdk', 'keyholder', 'coordinator', 'synth', 'bench'],
  harness: ['crypto', 'protos', 'analytics', 'compliance', 'round', 'client-sdk', 'keyholder', 'coordinator', 'synth', 'bench', 'cli'],
  scripts: ['crypto', 'protos', 'analytics', 'compliance', 'round', 'client-sdk', 'keyholder', 'coordinator', 'synth', 'bench', 'cli', 'harness'],
  test: ['crypto', 'protos', 'analytics', 'compliance', 'round', 'client-sdk', 'keyholder', 'coordinator', 'synth', 'bench', 'cli', 'harness', 'scripts'],
  // The executable: loads cli/main.ts.
  bin: ['cli'],
};
const FOLDERS = Object.keys(ALLOWED);

/** Top-level folders that hold no sources of ours (gitignored output). */
const NOT_SOURCE = new Set(['node_modules', 'test-output', 'out']);

const SOURCE = /\.(?:ts|mts|cts|tsx|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return []; // a folder not created yet (round/ is new)
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return SOURCE.test(name) ? [p] : [];
  });
}

/** One import of one file, as written and as the compiler resolves it. */
interface ImportEdge {
  readonly from: string;
  readonly line: number;
  readonly specifier: string;
  /** Repository-relative path of the resolved file; undefined for packages and node: built-ins. */
  readonly to: string | undefined;
}

function compilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('cannot read tsconfig.json');
  return parsed.options;
}

/** Every module specifier in `sf` with its position; `undefined` specifier for an import() of a computed name. */
function specifiersOf(sf: ts.SourceFile): { text: string | undefined; pos: number }[] {
  const out: { text: string | undefined; pos: number }[] = [];
  const literal = (n: ts.Node | undefined): void => {
    if (n && ts.isStringLiteralLike(n)) out.push({ text: n.text, pos: n.getStart(sf) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) literal(arg);
      else out.push({ text: undefined, pos: node.getStart(sf) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The import edges of every source file of every folder in ALLOWED (and of any other top-level folder holding sources). */
function importGraph(): { files: string[]; edges: ImportEdge[]; unresolved: string[] } {
  const options = compilerOptions();
  const cache = ts.createModuleResolutionCache(ROOT, (f) => f, options);
  const topLevel = readdirSync(ROOT).filter((n) => !NOT_SOURCE.has(n) && !n.startsWith('.') && statSync(join(ROOT, n)).isDirectory());
  const files = [...new Set([...FOLDERS, ...topLevel])].flatMap((d) => sourceFiles(join(ROOT, d)));
  const edges: ImportEdge[] = [];
  const unresolved: string[] = [];
  for (const file of files) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const mode = ts.getImpliedNodeFormatForFile(file, cache.getPackageJsonInfoCache(), ts.sys, options);
    const from = relative(ROOT, file);
    for (const { text, pos } of specifiersOf(sf)) {
      const line = sf.getLineAndCharacterOfPosition(pos).line + 1;
      if (text === undefined) {
        unresolved.push(`${from}:${line}: import() of a computed name cannot be checked`);
        continue;
      }
      const resolved = ts.resolveModuleName(text, file, options, ts.sys, cache, undefined, mode).resolvedModule;
      const target = resolved?.resolvedFileName;
      const inRepo = target !== undefined && !resolved?.isExternalLibraryImport && !relative(ROOT, target).startsWith('..');
      if (!resolved && (text.startsWith('.') || text.startsWith('/'))) unresolved.push(`${from}:${line}: '${text}' does not resolve`);
      edges.push({ from, line, specifier: text, to: inRepo ? relative(ROOT, target) : undefined });
    }
  }
  return { files: files.map((f) => relative(ROOT, f)), edges, unresolved };
}

const folderOf = (file: string): string => file.split(/[\\/]/)[0] ?? '';

/** Strongly connected components with more than one node, or a node with an edge to itself (Tarjan). */
function cycles(nodes: Iterable<string>, next: (n: string) => Iterable<string>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!indexOf.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || [...next(v)].includes(v)) out.push(component);
    }
  };
  for (const n of nodes) if (!indexOf.has(n)) connect(n);
  return out;
}

/** One concrete cycle through `component`, as `a → b → … → a` (shortest from its first node in sorted order). */
function cyclePath(component: readonly string[], next: (n: string) => Iterable<string>): string {
  const inside = new Set(component);
  const start = [...component].sort()[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of next(v)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u: string | undefined = v; u !== undefined && u !== start; u = parent.get(u)) path.splice(1, 0, u);
        return [...path, start].join(' → ');
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return component.join(', ');
}

/** Every file reachable from `entries` through imports. */
function closure(entries: readonly string[], next: (n: string) => Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...next(f));
  }
  return seen;
}

const graph = importGraph();
const fileEdges = new Map<string, Set<string>>(graph.files.map((f) => [f, new Set<string>()]));
for (const e of graph.edges) if (e.to !== undefined) fileEdges.get(e.from)?.add(e.to);
const importsOf = (f: string): Iterable<string> => fileEdges.get(f) ?? [];
const crossing = graph.edges.filter((e) => e.to !== undefined && folderOf(e.from) !== folderOf(e.to));

describe('dependency layering', () => {
  it('reads a real import graph', () => {
    expect(graph.files.length).toBeGreaterThan(300);
    expect(crossing.length).toBeGreaterThan(300);
    expect(graph.unresolved).toEqual([]);
  });

  it('the table of allowed arrows is itself one-way and names only known folders', () => {
    for (const [folder, allowed] of Object.entries(ALLOWED)) {
      for (const to of allowed) expect(FOLDERS, `${folder} → ${to}`).toContain(to);
    }
    const loops = cycles(FOLDERS, (f) => ALLOWED[f] ?? []);
    expect(loops.map((c) => cyclePath(c, (f) => ALLOWED[f] ?? [])), 'cycles in ALLOWED').toEqual([]);
  });

  it('every top-level folder with source files has a row in the table', () => {
    const folders = [...new Set(graph.files.map(folderOf))];
    expect(folders.filter((f) => !(f in ALLOWED)), 'folders missing from ALLOWED').toEqual([]);
  });

  it.each(FOLDERS.map((f) => [f]))('%s imports only the folders the table allows', (folder) => {
    const allowed = new Set(ALLOWED[folder]);
    const bad = crossing
      .filter((e) => folderOf(e.from) === folder && !allowed.has(folderOf(e.to!)))
      .map((e) => `${e.from}:${e.line} imports ${e.to} ('${e.specifier}'): ${folder} → ${folderOf(e.to!)} is not in ALLOWED`);
    expect(bad, `arrows out of ${folder}/ not in the table`).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const folderEdges = new Map<string, Set<string>>();
    const example = new Map<string, ImportEdge>();
    for (const e of crossing) {
      const a = folderOf(e.from);
      const b = folderOf(e.to!);
      if (!folderEdges.has(a)) folderEdges.set(a, new Set());
      folderEdges.get(a)!.add(b);
      if (!example.has(`${a}→${b}`)) example.set(`${a}→${b}`, e);
    }
    const next = (f: string): Iterable<string> => folderEdges.get(f) ?? [];
    const found = cycles(folderEdges.keys(), next).map((c) => {
      const path = cyclePath(c, next);
      const hops = path.split(' → ');
      const why = hops.slice(1).map((b, i) => {
        const e = example.get(`${hops[i]}→${b}`)!;
        return `${e.from} imports ${e.to}`;
      });
      return `${path} (${why.join('; ')})`;
    });
    expect(found, 'folder cycles').toEqual([]);
  });

  it('has no cycle between files', () => {
    const found = cycles(fileEdges.keys(), importsOf).map((c) => cyclePath(c, importsOf));
    expect(found, 'file import cycles').toEqual([]);
  });

  it('the coordinator never reaches keyholder/ code through any import chain, nor the key holder coordinator/ code', () => {
    const coordinator = graph.files.filter((f) => folderOf(f) === 'coordinator');
    const keyholder = graph.files.filter((f) => folderOf(f) === 'keyholder');
    expect(coordinator).toContain('coordinator/index.ts');
    expect(keyholder).toContain('keyholder/index.ts');
    const fromCoordinator = [...closure(coordinator, importsOf)];
    expect(fromCoordinator.length).toBeGreaterThan(coordinator.length);
    expect(fromCoordinator.filter((f) => folderOf(f) === 'keyholder')).toEqual([]);
    expect([...closure(keyholder, importsOf)].filter((f) => folderOf(f) === 'coordinator')).toEqual([]);
    // Nor does any coordinator file name the decryptor or a secret key file.
    for (const f of coordinator) {
      expect(readFileSync(join(ROOT, f), 'utf8'), f).not.toMatch(/HeDecryptor|he-secret\.key|secretKey/);
    }
  });
});
