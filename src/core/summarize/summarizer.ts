/**
 * The summaries themselves, shared by the Summary panel and the hovers: abstractive through the model worker's
 * `summarize` request (streamed, long inputs in parts), extractive with any embedding function — over the prose
 * of a text, or for code over its comments and docstrings (over its most telling lines when it has none) — and the
 * cross-attention of an abstractive summary reduced to means over heads. No `vscode` import.
 */
import type { LocalModel, WorkerProgress } from '../../protocol/worker';
import type { GenerationOptions, StreamedUpdate, SummaryResult } from '../../protocol/summarize';
import type { CrossAttentionView, SummarySentence } from '../../protocol/summaryView';
import { selectSentences, summarizeExtractive, type EmbedFunction } from './extractive';
import type { ModelWorkerClient } from '../worker/modelWorkerClient';
import { commentProse } from './comments';

const MAX_CANDIDATES = 300;

/** Languages summarised as prose; other languages with a known comment syntax are summarised as code. */
const PROSE_LANGUAGES = new Set(['markdown', 'plaintext', 'restructuredtext', 'asciidoc', 'latex', 'tex', 'org', 'html', 'git-commit', 'scminput']);

export interface ExtractiveResult {
  /** Picked sentences (or code lines) in document order; ranges are into the summarised text. */
  readonly sentences: readonly SummarySentence[];
  /** The sentences joined. */
  readonly text: string;
  readonly totalSentences: number;
  /** What was read: the text's prose, a piece of code's comments, or its lines of code. */
  readonly source: 'prose' | 'comments' | 'code';
}

export interface ExtractiveRequest {
  /** Sentences to pick (0 or undefined: automatic). */
  readonly count?: number;
  /** Stop adding sentences past this many characters. */
  readonly maxChars?: number;
  /**
   * At most this many sentences (or lines) are embedded and compared, sampled evenly over the text. The comparison is
   * quadratic and runs on the calling thread: keep it small there (default 300: about 25 ms for 512-d vectors).
   */
  readonly maxCandidates?: number;
  readonly signal?: AbortSignal;
}

/**
 * An extractive summary of `text` written in `languageId`.
 *
 * @example
 *   const r = await extractiveSummary(code, 'typescript', embed, { count: 2 });
 *   r.sentences[0].start  // offset in `code`
 */
export async function extractiveSummary(text: string, languageId: string, embed: EmbedFunction, request: ExtractiveRequest = {}): Promise<ExtractiveResult> {
  const prose = PROSE_LANGUAGES.has(languageId) ? undefined : commentProse(text, languageId);
  const options = {
    ...(request.count ? { count: request.count } : {}),
    ...(request.maxChars !== undefined ? { maxChars: request.maxChars } : {}),
    maxCandidates: request.maxCandidates ?? MAX_CANDIDATES,
    ...(request.signal ? { signal: request.signal } : {}),
  };
  if (prose === undefined || hasProse(prose)) {
    const r = await summarizeExtractive(prose ?? text, embed, options);
    return {
      sentences: r.sentences.map((s) => ({ text: tidy(s.text), start: s.start, end: s.end, rank: s.rank })),
      text: prose === undefined ? r.text : r.sentences.map((s) => tidy(s.text)).join(' '),
      totalSentences: r.totalSentences,
      source: prose === undefined ? 'prose' : 'comments',
    };
  }
  return codeLines(text, embed, request);
}

/** True when comment prose holds at least one sentence-like run of three words. */
function hasProse(prose: string): boolean {
  return /\p{L}{2,}\W+\p{L}{2,}\W+\p{L}{2,}/u.test(prose);
}

function tidy(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Code without comments: the most central, least redundant lines. */
async function codeLines(code: string, embed: EmbedFunction, request: ExtractiveRequest): Promise<ExtractiveResult> {
  const lines: { start: number; end: number; text: string }[] = [];
  for (const m of code.matchAll(/[^\n]+/g)) {
    const trimmed = m[0].trim();
    if (trimmed.length < 8 || !/\p{L}{2}/u.test(trimmed)) continue;
    const start = m.index + m[0].indexOf(trimmed);
    lines.push({ start, end: start + trimmed.length, text: trimmed });
  }
  if (lines.length === 0) return { sentences: [], text: '', totalSentences: 0, source: 'code' };
  const cap = request.maxCandidates ?? MAX_CANDIDATES;
  const sample = lines.length <= cap ? lines : Array.from({ length: cap }, (_, i) => lines[Math.floor((i * lines.length) / cap)]!);
  const vectors = await embed(sample.map((l) => l.text), request.signal);
  request.signal?.throwIfAborted();
  const dims = vectors.length / sample.length;
  const count = request.count || Math.min(3, Math.max(1, Math.round(Math.sqrt(sample.length) / 2)));
  const picks = selectSentences(vectors, dims, {
    count,
    redundancy: 0.5,
    centrality: 'pagerank',
    lengths: sample.map((l) => l.text.length),
    ...(request.maxChars !== undefined ? { maxChars: request.maxChars } : {}),
  });
  const sentences = picks.map((p, rank) => ({ ...sample[p.index]!, rank: rank + 1 })).sort((a, b) => a.start - b.start);
  return { sentences, text: sentences.map((s) => s.text).join('\n'), totalSentences: lines.length, source: 'code' };
}

export interface AbstractiveRequest {
  readonly options?: GenerationOptions;
  readonly signal?: AbortSignal;
  readonly onStream?: (update: StreamedUpdate) => void;
  readonly onProgress?: (progress: WorkerProgress) => void;
}

/** An abstractive summary of a text of any length (parts, then summaries of summaries) from the model worker. */
export function abstractiveSummary(worker: ModelWorkerClient, model: LocalModel, text: string, request: AbstractiveRequest = {}): Promise<SummaryResult> {
  return worker.request(
    { type: 'summarize', model, text, ...(request.options ? { options: request.options } : {}), stream: request.onStream !== undefined },
    {
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onStream ? { onStream: request.onStream } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    },
  );
}

/** The separator `summarizeLong` joins part summaries with (its default): the final generation read them so. */
const PART_SEPARATOR = '\n\n';

/** The text the final generation of `summary` read: the input itself, or the joined summaries of its last round of parts. */
export function finalInput(text: string, summary: Pick<SummaryResult, 'rounds'>): { text: string; linked: boolean } {
  const last = summary.rounds.at(-1);
  if (!last) return { text, linked: true };
  return { text: last.summaries.filter((s) => s !== '').join(PART_SEPARATOR), linked: false };
}

/**
 * Cross-attention of generated `ids` over `sourceText`, reduced to the mean over heads per layer
 * (`means[(layer * targets + t) * sources + s]`). Yields to the event loop between layers.
 */
export async function crossAttentionMeans(
  worker: ModelWorkerClient,
  model: LocalModel,
  sourceText: string,
  ids: readonly number[],
  options: { readonly linked: boolean; readonly signal?: AbortSignal },
): Promise<CrossAttentionView> {
  const maps = await worker.request({ type: 'crossAttention', model, sourceText, ids }, options.signal ? { signal: options.signal } : {});
  const t = maps.targetTokens.length;
  const s = maps.sourceTokens.length;
  const means = new Float32Array(maps.layers * t * s);
  for (let layer = 0; layer < maps.layers; layer++) {
    const out = means.subarray(layer * t * s, (layer + 1) * t * s);
    for (let head = 0; head < maps.heads; head++) {
      const from = (layer * maps.heads + head) * t * s;
      for (let i = 0; i < t * s; i++) out[i]! += maps.weights[from + i]!;
    }
    for (let i = 0; i < t * s; i++) out[i]! /= maps.heads;
    await new Promise((resolve) => setImmediate(resolve));
    options.signal?.throwIfAborted();
  }
  return {
    sourceText,
    linked: options.linked,
    sourceTokens: maps.sourceTokens,
    targetTokens: maps.targetTokens,
    targetText: maps.targetText,
    layers: maps.layers,
    heads: maps.heads,
    means,
    truncated: maps.truncated,
  };
}
