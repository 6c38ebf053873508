/**
 * Extractive summaries with any sentence-embedding model: split the text into sentences, score each one's
 * centrality (LexRank-style PageRank over cosine similarities, or similarity to the document centroid), then pick
 * sentences by maximal marginal relevance (centrality minus similarity to what is already picked), and return
 * them in document order with their character ranges.
 */
import { splitSentences, type SentenceKind, type SentenceSpan } from './sentences';

/** L2-normalised embeddings of `texts`, row-major (`vectors[i * dims + d]`); `dims` = length / texts.length. */
export type EmbedFunction = (texts: readonly string[], signal?: AbortSignal) => Promise<Float32Array>;

export interface ExtractiveOptions {
  /** Sentences to pick. Default: √(sentences), between 1 and 5. */
  readonly count?: number;
  /** Stop adding sentences that would make the summary longer than this (characters). */
  readonly maxChars?: number;
  /**
   * Weight of the redundancy penalty in [0, 1): each pick maximises `(1 − r)·centrality − r·(highest similarity
   * to a sentence already picked)`. Default 0.5.
   */
  readonly redundancy?: number;
  /** How central a sentence is: `pagerank` (default; LexRank with cosine weights) or `centroid` (cosine to the mean). */
  readonly centrality?: 'pagerank' | 'centroid';
  /** Sentences shorter than this (characters) are picked only when nothing else is left. Default 20. */
  readonly minChars?: number;
  /** Headings and code are candidates only with this on (default off, unless the text has nothing else). */
  readonly includeHeadingsAndCode?: boolean;
  /** At most this many sentences are embedded; longer texts are sampled evenly. Default 1000. */
  readonly maxCandidates?: number;
  readonly signal?: AbortSignal;
}

export interface ExtractedSentence {
  /** `text === source.slice(start, end)`. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly kind: SentenceKind;
  /** Position among all sentences of the text. */
  readonly index: number;
  /** Centrality scaled so the most central candidate has 1. */
  readonly centrality: number;
  /** Marginal relevance when picked (centrality term minus redundancy term). */
  readonly score: number;
  /** 1 for the first pick, 2 for the second, … */
  readonly rank: number;
}

export interface ExtractiveSummary {
  /** Picked sentences in document order. */
  readonly sentences: readonly ExtractedSentence[];
  /** The picked sentences joined (a space within a paragraph, a line break between blocks). */
  readonly text: string;
  /** Sentences in the text, and how many were embedded and considered. */
  readonly totalSentences: number;
  readonly candidates: number;
}

/**
 * @example
 *   const summary = await summarizeExtractive(doc, async (texts) => (await client.request({ type: 'embed', model, texts })).vectors, { count: 3 });
 *   for (const s of summary.sentences) console.log(s.start, s.end, s.text);
 */
export async function summarizeExtractive(text: string, embed: EmbedFunction, options: ExtractiveOptions = {}): Promise<ExtractiveSummary> {
  const all = splitSentences(text);
  const candidates = chooseCandidates(all, options);
  if (candidates.length === 0) return { sentences: [], text: '', totalSentences: all.length, candidates: 0 };
  options.signal?.throwIfAborted();
  const vectors = await embed(candidates.map((c) => c.span.text), options.signal);
  options.signal?.throwIfAborted();
  if (vectors.length % candidates.length !== 0) {
    throw new Error(`the embedding function returned ${vectors.length} numbers for ${candidates.length} sentences`);
  }
  const dims = vectors.length / candidates.length;
  const count = Math.max(1, Math.floor(options.count ?? Math.min(5, Math.max(1, Math.round(Math.sqrt(all.length))))));
  const picks = selectSentences(vectors, dims, {
    count,
    redundancy: options.redundancy ?? 0.5,
    centrality: options.centrality ?? 'pagerank',
    lengths: candidates.map((c) => c.span.text.length),
    preferred: candidates.map((c) => c.preferred),
    ...(options.maxChars !== undefined ? { maxChars: options.maxChars } : {}),
  });
  const sentences = picks
    .map((p, rank): ExtractedSentence => {
      const { span, index } = candidates[p.index]!;
      return { text: span.text, start: span.start, end: span.end, kind: span.kind, index, centrality: p.centrality, score: p.score, rank: rank + 1 };
    })
    .sort((a, b) => a.start - b.start);
  let joined = '';
  sentences.forEach((s, i) => {
    if (i > 0) joined += all[s.index]!.block === all[sentences[i - 1]!.index]!.block ? ' ' : '\n';
    joined += s.text;
  });
  return { sentences, text: joined, totalSentences: all.length, candidates: candidates.length };
}

interface Candidate {
  readonly span: SentenceSpan;
  readonly index: number;
  /** False for short sentences, picked only when nothing preferred is left. */
  readonly preferred: boolean;
}

function chooseCandidates(all: readonly SentenceSpan[], options: ExtractiveOptions): Candidate[] {
  const minChars = options.minChars ?? 20;
  const indexed = all.map((span, index) => ({ span, index }));
  let pool = options.includeHeadingsAndCode ? indexed : indexed.filter((c) => c.span.kind === 'sentence' || c.span.kind === 'listItem');
  if (pool.length === 0) pool = indexed;
  const max = Math.max(1, options.maxCandidates ?? 1000);
  if (pool.length > max) {
    const step = pool.length / max;
    pool = Array.from({ length: max }, (_, i) => pool[Math.floor(i * step)]!);
  }
  return pool.map((c) => ({ ...c, preferred: c.span.text.length >= minChars }));
}

export interface SelectionOptions {
  readonly count: number;
  readonly redundancy: number;
  readonly centrality: 'pagerank' | 'centroid';
  /** Characters of each sentence, for `maxChars`. */
  readonly lengths?: readonly number[];
  readonly maxChars?: number;
  /** Rows marked false are picked only after every preferred row. */
  readonly preferred?: readonly boolean[];
}

export interface Selection {
  readonly index: number;
  readonly centrality: number;
  readonly score: number;
}

/**
 * Maximal-marginal-relevance selection over L2-normalised rows `vectors` (`n × dims`): returns picks in the order
 * they were made. Pure; exported for tests and for callers that already hold sentence vectors.
 */
export function selectSentences(vectors: Float32Array, dims: number, options: SelectionOptions): Selection[] {
  const n = vectors.length / dims;
  const sim = cosineMatrix(vectors, dims, n);
  const centrality = options.centrality === 'centroid' ? centroidCentrality(vectors, dims, n) : pageRankCentrality(sim, n);
  const max = Math.max(...centrality);
  const scaled = centrality.map((c) => (max > 0 ? Math.max(0, c) / max : 0));
  const r = Math.min(0.99, Math.max(0, options.redundancy));
  const picked: Selection[] = [];
  const taken = new Uint8Array(n);
  const closest = new Float64Array(n); // highest similarity to a picked row
  let chars = 0;
  while (picked.length < Math.min(options.count, n)) {
    let best = -1;
    let bestScore = -Infinity;
    let bestPreferred = false;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      if (options.maxChars !== undefined && options.lengths && chars + options.lengths[i]! > options.maxChars && picked.length > 0) continue;
      const preferred = options.preferred?.[i] ?? true;
      const score = (1 - r) * scaled[i]! - r * (picked.length > 0 ? closest[i]! : 0);
      if ((preferred && !bestPreferred) || (preferred === bestPreferred && score > bestScore)) {
        best = i;
        bestScore = score;
        bestPreferred = preferred;
      }
    }
    if (best < 0) break;
    taken[best] = 1;
    chars += options.lengths?.[best] ?? 0;
    picked.push({ index: best, centrality: scaled[best]!, score: bestScore });
    for (let i = 0; i < n; i++) closest[i] = Math.max(picked.length > 1 ? closest[i]! : -Infinity, sim[i * n + best]!);
  }
  return picked;
}

function cosineMatrix(vectors: Float32Array, dims: number, n: number): Float64Array {
  const sim = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    sim[i * n + i] = 1;
    for (let j = i + 1; j < n; j++) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += vectors[i * dims + d]! * vectors[j * dims + d]!;
      sim[i * n + j] = dot;
      sim[j * n + i] = dot;
    }
  }
  return sim;
}

/** LexRank (Erkan & Radev 2004), continuous variant: PageRank over positive cosine similarities, damping 0.85. */
function pageRankCentrality(sim: Float64Array, n: number): number[] {
  if (n === 1) return [1];
  const damping = 0.85;
  const rowSums = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) rowSums[i]! += Math.max(0, sim[i * n + j]!);
  let rank = new Float64Array(n).fill(1 / n);
  for (let iter = 0; iter < 100; iter++) {
    const next = new Float64Array(n).fill((1 - damping) / n);
    for (let i = 0; i < n; i++) {
      const share = rank[i]!;
      if (rowSums[i]! === 0) {
        for (let j = 0; j < n; j++) next[j]! += (damping * share) / n;
        continue;
      }
      for (let j = 0; j < n; j++) if (i !== j) next[j]! += (damping * share * Math.max(0, sim[i * n + j]!)) / rowSums[i]!;
    }
    let delta = 0;
    for (let i = 0; i < n; i++) delta += Math.abs(next[i]! - rank[i]!);
    rank = next;
    if (delta < 1e-9) break;
  }
  return [...rank];
}

function centroidCentrality(vectors: Float32Array, dims: number, n: number): number[] {
  const centroid = new Float64Array(dims);
  for (let i = 0; i < n; i++) for (let d = 0; d < dims; d++) centroid[d]! += vectors[i * dims + d]!;
  const norm = Math.sqrt(centroid.reduce((s, x) => s + x * x, 0)) || 1;
  return Array.from({ length: n }, (_, i) => {
    let dot = 0;
    for (let d = 0; d < dims; d++) dot += vectors[i * dims + d]! * centroid[d]!;
    return dot / norm;
  });
}
