/**
 * The CLI's entry points: index a folder into a store, and search it, printing the JSON shape.
 *
 * @example
 *   await indexDirectory('./repo', embedder, { store: './.bert-lens-index', onProgress: (p) => … });
 *   for await (const r of searchDirectory('./repo', embedder, ['retry failed uploads'], { store, k: 5 }))
 *     process.stdout.write(`${JSON.stringify(r)}\n`);
 *   // {"query":"retry failed uploads","results":[{"path":"src/upload.ts","startLine":12,"endLine":30,"score":0.032,"text":"…"}]}
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { NodeFileSource } from './nodeFileSource';
import { runUpdate, SemanticIndex, type IndexStats, type OpenIndexOptions, type OpenReport } from './semanticIndex';
import type { Embedder, IndexProgress, SearchMode, SearchResult, UpdateSummary } from './types';

export interface IndexDirectoryOptions {
  /** Folder of the index (the CLI's `--store`; see {@link defaultStoreDir}). */
  readonly store: string;
  readonly onProgress?: (p: IndexProgress) => void;
  readonly signal?: AbortSignal;
  /** VS Code globs relative to `dir`; default DEFAULT_EXCLUDES. */
  readonly excludeGlobs?: readonly string[];
  /** Default 1 MiB. */
  readonly maxFileBytes?: number;
  /** Honour .gitignore files; default true. */
  readonly gitignore?: boolean;
  readonly log?: (message: string) => void;
  /** Further index options (chunk sizes, batch size, commit frequency). */
  readonly index?: Partial<Omit<OpenIndexOptions, 'storeDir' | 'embedder'>>;
}

export interface IndexDirectoryResult {
  readonly report: OpenReport;
  readonly summary: UpdateSummary;
  readonly stats: IndexStats;
}

export interface SearchDirectoryOptions extends IndexDirectoryOptions {
  readonly mode?: SearchMode;
  /** Results per query; default 10. */
  readonly k?: number;
  /** Bring the index up to date before the first query (cheap when nothing changed); default true. */
  readonly update?: boolean;
}

/** One line of `bert-lens search --json`. Paths relative to the searched folder, lines 1-based inclusive. */
export interface SearchJson {
  readonly query: string;
  /** `context`: the heading path or enclosing declaration of the passage, when it has one. */
  readonly results: readonly { readonly path: string; readonly startLine: number; readonly endLine: number; readonly score: number; readonly text: string; readonly context?: string }[];
}

/** `<cacheDir>/indexes/<folder name>-<hash of its absolute path>`: the CLI's store when `--store` is not given. */
export function defaultStoreDir(cacheDir: string, dir: string): string {
  const abs = path.resolve(dir);
  const name = path.basename(abs).replace(/[^A-Za-z0-9._-]+/g, '_') || 'root';
  return path.join(cacheDir, 'indexes', `${name}-${createHash('sha256').update(abs).digest('hex').slice(0, 8)}`);
}

async function openFor(dir: string, embedder: Embedder, options: IndexDirectoryOptions): Promise<{ index: SemanticIndex; source: NodeFileSource }> {
  const source = new NodeFileSource(dir, {
    ...(options.excludeGlobs ? { excludeGlobs: options.excludeGlobs } : {}),
    ...(options.maxFileBytes !== undefined ? { maxFileBytes: options.maxFileBytes } : {}),
    ...(options.gitignore !== undefined ? { gitignore: options.gitignore } : {}),
  });
  const index = await SemanticIndex.open({
    ...options.index,
    storeDir: options.store,
    embedder,
    ...(options.maxFileBytes !== undefined ? { maxFileBytes: options.maxFileBytes } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return { index, source };
}

/** Indexes (or incrementally updates the index of) every file under `dir`. */
export async function indexDirectory(dir: string, embedder: Embedder, options: IndexDirectoryOptions): Promise<IndexDirectoryResult> {
  const { index, source } = await openFor(dir, embedder, options);
  try {
    const summary = await runUpdate(index.update(source, options.signal ? { signal: options.signal } : {}), options.onProgress);
    return { report: index.report, summary, stats: index.stats() };
  } finally {
    await index.close();
  }
}

/** Converts results to the CLI's JSON shape. */
export function toSearchJson(query: string, results: readonly SearchResult[]): SearchJson {
  return {
    query,
    results: results.map((r) => ({ path: r.relPath, startLine: r.startLine + 1, endLine: r.endLine + 1, score: r.score, text: r.text, ...(r.context ? { context: r.context } : {}) })),
  };
}

/**
 * Answers each query in turn (one JSON object per query, as they complete), after bringing the index up to date
 * unless `update: false`. Empty queries are skipped.
 */
export async function* searchDirectory(
  dir: string,
  embedder: Embedder,
  queries: Iterable<string> | AsyncIterable<string>,
  options: SearchDirectoryOptions,
): AsyncGenerator<SearchJson> {
  const { index, source } = await openFor(dir, embedder, options);
  try {
    if (options.update !== false) await runUpdate(index.update(source, options.signal ? { signal: options.signal } : {}), options.onProgress);
    for await (const raw of queries) {
      const query = raw.trim();
      if (query === '') continue;
      const results = await index.search(query, { mode: options.mode ?? 'hybrid', k: options.k ?? 10, ...(options.signal ? { signal: options.signal } : {}) });
      yield toSearchJson(query, results);
    }
  } finally {
    await index.close();
  }
}
