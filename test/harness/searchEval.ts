// Search-quality evaluation shared by the benchmark (out/bench/searchQuality.js) and the unit slice
// (test/unit/searchQuality.test.ts): the question sets of test/eval/*.json, their corpora assembled from pinned npm
// packages under node_modules, the retrieval metrics, and a whole-file BM25 baseline.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Bm25Index } from '../../src/core/search/bm25';
import { compileGlob, type PathPattern } from '../../src/core/search/globs';
import { queryTerms } from '../../src/core/search/lexical';
import { NodeFileSource } from '../../src/core/search/nodeFileSource';
import type { SemanticIndex } from '../../src/core/search/semanticIndex';
import type { Embedder, FileSource, ListedItem, SearchMode, SearchOptions } from '../../src/core/search/types';
import { repoRoot } from './paths';

/** A relevant place for a question: a file (grade 2 = the answer, 1 = also useful) and its lines, 1-based inclusive. */
export interface EvalRelevant {
  readonly path: string;
  readonly grade: number;
  readonly lines: readonly [number, number];
}

export interface EvalQuery {
  readonly id: string;
  readonly query: string;
  /** Nothing is tuned on held-out questions; their figures are reported apart. */
  readonly heldOut: boolean;
  readonly relevant: readonly EvalRelevant[];
}

/** One test/eval/<name>.json: a corpus (files of an installed npm package) and its questions. */
export interface EvalSet {
  readonly name: string;
  readonly description: string;
  readonly package: string;
  readonly version: string;
  /** Folder of the corpus inside the package; paths of `relevant` are relative to it. */
  readonly root: string;
  /** Glob of the files that make the corpus, relative to `root`. */
  readonly include: string;
  readonly exclude: readonly string[];
  readonly queries: readonly EvalQuery[];
}

export const EVAL_SETS = ['undici-docs', 'lodash'] as const;

export function loadEvalSet(name: string): EvalSet {
  const json = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'eval', `${name}.json`), 'utf8')) as Omit<EvalSet, 'name'>;
  return { name, ...json };
}

/** The corpus folder; fails when the installed package is not the version the relevance judgements were made on. */
export function corpusDir(set: EvalSet): string {
  const pkgDir = path.join(repoRoot, 'node_modules', set.package);
  const installed = (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  if (installed !== set.version) throw new Error(`${set.name}: judged on ${set.package}@${set.version}, but ${installed} is installed (npm ci)`);
  return path.join(pkgDir, set.root);
}

/** The corpus files of `set`, optionally only those in `only` (relative paths), through the CLI's file source. */
export class CorpusFiles implements FileSource {
  private readonly inner: NodeFileSource;
  private readonly include: PathPattern;

  constructor(
    set: EvalSet,
    private readonly only?: ReadonlySet<string>,
  ) {
    this.inner = new NodeFileSource(corpusDir(set), { excludeGlobs: set.exclude, gitignore: false });
    this.include = compileGlob(set.include);
  }

  async *list(signal?: AbortSignal): AsyncGenerator<ListedItem> {
    for await (const item of this.inner.list(signal)) {
      if (item.type === 'file' && this.include.test(item.relPath) && (!this.only || this.only.has(item.relPath))) yield item;
    }
  }

  read(uri: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.inner.read(uri, signal);
  }
}

/** Every corpus file's path and text. */
export async function corpusTexts(source: FileSource): Promise<{ relPath: string; text: string }[]> {
  const out: { relPath: string; text: string }[] = [];
  for await (const item of source.list()) {
    if (item.type === 'file') out.push({ relPath: item.relPath, text: new TextDecoder().decode(await source.read(item.uri)) });
  }
  return out;
}

/** Figures of one question (or the mean of several). Ranks and recall are over files; `passageMrr` over passages. */
export interface Scores {
  readonly mrr: number;
  readonly ndcg: number;
  readonly r1: number;
  readonly r5: number;
  readonly r10: number;
  /** 1 / rank of the first of the top 10 passages that overlaps a relevant line range. */
  readonly passageMrr: number;
}

export const METRICS: readonly (keyof Scores)[] = ['mrr', 'ndcg', 'r1', 'r5', 'r10', 'passageMrr'];

/** A passage returned for a question: path relative to the corpus, 1-based inclusive lines. */
export interface Hit {
  readonly path: string;
  readonly startLine: number;
  readonly endLine: number;
}

/** Scores of a file ranking (best first, distinct) and a passage ranking for `q`. */
export function score(q: EvalQuery, files: readonly string[], passages: readonly Hit[]): Scores {
  const grade = new Map(q.relevant.map((r) => [r.path, r.grade]));
  const top = files.slice(0, 10);
  const first = top.findIndex((f) => grade.has(f));
  const dcg = top.reduce((s, f, i) => s + (2 ** (grade.get(f) ?? 0) - 1) / Math.log2(i + 2), 0);
  const ideal = [...grade.values()].sort((a, b) => b - a).slice(0, 10).reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
  const recall = (k: number): number => top.slice(0, k).filter((f) => grade.has(f)).length / grade.size;
  const overlaps = (h: Hit): boolean => q.relevant.some((r) => r.path === h.path && h.startLine <= r.lines[1] && h.endLine >= r.lines[0]);
  const firstPassage = passages.slice(0, 10).findIndex(overlaps);
  return {
    mrr: first < 0 ? 0 : 1 / (first + 1),
    ndcg: ideal > 0 ? dcg / ideal : 0,
    r1: recall(1),
    r5: recall(5),
    r10: recall(10),
    passageMrr: firstPassage < 0 ? 0 : 1 / (firstPassage + 1),
  };
}

export function mean(list: readonly Scores[]): Scores {
  const out = Object.fromEntries(METRICS.map((m) => [m, list.length === 0 ? 0 : list.reduce((s, x) => s + x[m], 0) / list.length]));
  return out as unknown as Scores;
}

/** Distinct paths in order of first appearance. */
export function distinctPaths(hits: readonly Hit[]): string[] {
  return [...new Set(hits.map((h) => h.path))];
}

/** Passages to fetch per question so that at least 10 distinct files are usually among them. */
const PASSAGES_PER_QUESTION = 60;

/** Answers every question of `queries` with `index` in `mode`; per question its scores and its first files. */
export async function evaluateIndex(index: SemanticIndex, queries: readonly EvalQuery[], mode: SearchMode, options: Partial<SearchOptions> = {}): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const q of queries) {
    const results = await index.search(q.query, { ...options, mode, k: PASSAGES_PER_QUESTION });
    const hits = results.map((r) => ({ path: r.relPath, startLine: r.startLine + 1, endLine: r.endLine + 1 }));
    const files = distinctPaths(hits);
    const top = results[0];
    out.push({
      ...score(q, files, hits),
      files: files.slice(0, 10),
      ...(top?.why.similarity !== undefined ? { topSimilarity: top.why.similarity, topRelevant: q.relevant.some((r) => r.path === top.relPath) } : {}),
    });
  }
  return out;
}

/** A question's scores, its first files, and the similarity of its first passage (when vectors were compared). */
export interface Answer extends Scores {
  readonly files: string[];
  readonly topSimilarity?: number;
  /** Whether the first passage is in a relevant file. */
  readonly topRelevant?: boolean;
}

/** The baseline: plain BM25 (same tokeniser) over whole files, no passages; passage figures count the whole file. */
export function evaluateWholeFileBm25(files: readonly { relPath: string; text: string }[], queries: readonly EvalQuery[]): Scores[] {
  const bm25 = new Bm25Index();
  files.forEach((f, i) => {
    bm25.add(i, f.text);
    bm25.setLive(i, true);
  });
  return queries.map((q) => {
    const ranked = bm25.search(queryTerms(q.query), 10).map((s) => files[s.doc]!);
    const hits = ranked.map((f) => ({ path: f.relPath, startLine: 1, endLine: f.text.split('\n').length }));
    return score(q, distinctPaths(hits), hits);
  });
}

/**
 * Vectors kept on disk by text (one file per model, appended), so a tuning run re-embeds only texts it has not seen.
 * Index times measured through it are not cold: the benchmark says so.
 */
export class CachedEmbedder implements Embedder {
  private readonly cache = new Map<string, Float32Array>();
  private readonly file: string;
  readonly modelKey: string;
  readonly dims: number;
  readonly maxTokens: number;

  constructor(
    private readonly inner: Embedder,
    dir: string,
  ) {
    ({ modelKey: this.modelKey, dims: this.dims, maxTokens: this.maxTokens } = inner);
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `${inner.modelKey.replace(/[^A-Za-z0-9._-]+/g, '_')}.jsonl`);
    if (fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (line === '') continue;
        const [key, values] = JSON.parse(line) as [string, number[]];
        this.cache.set(key, Float32Array.from(values));
      }
    }
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array> {
    const keys = texts.map((t) => createHash('sha256').update(t).digest('hex'));
    const missing = [...new Set(texts.filter((_, i) => !this.cache.has(keys[i]!)))];
    if (missing.length > 0) {
      const vectors = await this.inner.embed(missing, signal);
      const lines = missing.map((t, i) => {
        const key = createHash('sha256').update(t).digest('hex');
        const v = vectors.slice(i * this.dims, (i + 1) * this.dims);
        this.cache.set(key, v);
        return JSON.stringify([key, Array.from(v)]);
      });
      fs.appendFileSync(this.file, `${lines.join('\n')}\n`);
    }
    const out = new Float32Array(texts.length * this.dims);
    keys.forEach((k, i) => out.set(this.cache.get(k)!, i * this.dims));
    return out;
  }
}
