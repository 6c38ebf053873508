/**
 * Messages between the extension host and the Summary panel (webview-ui/src/summary). Host → view messages carry
 * the summary being made (`id`); view → host messages are validated by {@link isSummaryViewMessage} before the host
 * acts on them, and name a summary by its `id`, never a document. Ranges are UTF-16 offsets into the summarised text.
 */
import type { TokenSpan } from './attention';
import type { CrossAttentionMaps } from './summarize';
import { isRecord } from './worker';

export type SummaryMode = 'abstractive' | 'extractive';

/**
 * What was summarised, for the panel to say it. Where it lives (document, offsets, version) stays in the host, which
 * looks it up by the summary's `id` when the panel asks to reveal, comment or summarise again: the page never names
 * a document.
 */
export interface SummarySource {
  /** Short label, e.g. `notes.md`, `notes.md:12-40`, `upload.ts › uploadWithRetry`. */
  readonly label: string;
  /** Length of the summarised text (UTF-16 code units); ranges in results and in `reveal` are within `[0, length]`. */
  readonly length: number;
  readonly languageId: string;
  readonly kind: 'document' | 'selection' | 'symbol';
  /** Why "Insert as Comment" is not offered (no comment syntax is known for the language); absent when it is. */
  readonly noComment?: string;
}

/** An extractive sentence with its range in the summarised text. */
export interface SummarySentence {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** 1 for the most central pick, 2 for the next, … */
  readonly rank: number;
}

/** A finished summary. */
export interface SummaryView {
  readonly mode: SummaryMode;
  readonly text: string;
  /** Model reference and the name to show for it. */
  readonly model: string;
  readonly modelLabel: string;
  readonly elapsedMs: number;
  /** True when the model read only the beginning of its (final) input. */
  readonly truncated: boolean;
  /** Extractive: the picked sentences in document order. */
  readonly sentences?: readonly SummarySentence[];
  /** Extractive: sentences in the text. */
  readonly totalSentences?: number;
  /** Abstractive: the final generation's ids, decoder start token first (as Hugging Face `generate()` returns them). */
  readonly ids?: readonly number[];
  /** Abstractive: parts the input was cut into (1 when it fitted at once). */
  readonly parts?: number;
  /** Abstractive: whether "where did this come from" can be shown (the decoder file may need a download first). */
  readonly crossAttention?: 'ready' | 'download' | 'unavailable';
}

/**
 * Cross-attention of an abstractive summary ({@link CrossAttentionMaps}, ranges of `sourceTokens` into `sourceText`),
 * reduced for the panel to the mean over heads of each decoder layer,
 * `means[(layer * targets + t) * sources + s]` with `targets = targetTokens.length`, `sources = sourceTokens.length`.
 * Row t is what the decoder read while it produced `targetTokens[t]`; rows sum to 1.
 */
export interface CrossAttentionView extends Pick<CrossAttentionMaps, 'sourceTokens' | 'targetTokens' | 'targetText' | 'layers' | 'heads' | 'truncated'> {
  /** The text the final generation read: the summarised text, or the joined part summaries of a long input. */
  readonly sourceText: string;
  /** True when `sourceText` is the summarised text (source tokens link to the document). */
  readonly linked: boolean;
  readonly means: Float32Array;
}

export type HostToSummaryView =
  /** A new summary begins (the panel clears). */
  | { readonly type: 'start'; readonly id: number; readonly source: SummarySource }
  /** The mode and model were chosen; `notice` says why when it is not what the settings asked for. */
  | { readonly type: 'mode'; readonly id: number; readonly mode: SummaryMode; readonly model: string; readonly modelLabel: string; readonly notice?: string }
  | { readonly type: 'progress'; readonly id: number; readonly message: string; readonly done?: number; readonly total?: number }
  /** The text generated so far (the whole of it, not a delta). */
  | { readonly type: 'stream'; readonly id: number; readonly text: string; readonly step: number }
  | { readonly type: 'done'; readonly id: number; readonly summary: SummaryView }
  | { readonly type: 'error'; readonly id: number; readonly message: string }
  | { readonly type: 'cancelled'; readonly id: number }
  | { readonly type: 'crossAttention'; readonly id: number; readonly data: CrossAttentionView }
  | { readonly type: 'crossAttentionError'; readonly id: number; readonly message: string };

/**
 * Requests from the panel. Those about a summary's source name the summary `id` (from `start`) and ranges relative to
 * the summarised text; the host refuses ids it did not hand out this session.
 */
export type SummaryViewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'cancel'; readonly id: number }
  | { readonly type: 'copy'; readonly text: string }
  /** Insert summary `id` as a comment above the text it summarises. */
  | { readonly type: 'insertComment'; readonly id: number }
  /** Show and select `[start, end)` of summary `id`'s source text in its document. */
  | { readonly type: 'reveal'; readonly id: number; readonly start: number; readonly end: number }
  /** Summarise the source of summary `id` again in `mode`. */
  | { readonly type: 'rerun'; readonly id: number; readonly mode: SummaryMode }
  /** The view wants the cross-attention of summary `id`. */
  | { readonly type: 'requestCrossAttention'; readonly id: number }
  /** Open the model picker for the summary model (after an abstractive summary could not be had). */
  | { readonly type: 'chooseSummaryModel' };

/** Longest text the host accepts from the panel (characters). */
export const MAX_PANEL_TEXT = 1_000_000;

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_PANEL_TEXT;
const isMode = (v: unknown): v is SummaryMode => v === 'abstractive' || v === 'extractive';

export function isSummarySource(s: unknown): s is SummarySource {
  return (
    isRecord(s) &&
    typeof s.label === 'string' &&
    isIndex(s.length) &&
    typeof s.languageId === 'string' &&
    (s.kind === 'document' || s.kind === 'selection' || s.kind === 'symbol') &&
    (s.noComment === undefined || typeof s.noComment === 'string')
  );
}

/** Validates a message from the panel; anything else is dropped by the host. */
export function isSummaryViewMessage(m: unknown): m is SummaryViewToHost {
  if (!isRecord(m)) return false;
  const keys = Object.keys(m).sort().join(',');
  switch (m.type) {
    case 'ready':
    case 'chooseSummaryModel':
      return keys === 'type';
    case 'cancel':
    case 'insertComment':
    case 'requestCrossAttention':
      return keys === 'id,type' && isIndex(m.id);
    case 'copy':
      return keys === 'text,type' && isText(m.text);
    case 'reveal':
      return keys === 'end,id,start,type' && isIndex(m.id) && isIndex(m.start) && isIndex(m.end) && m.end >= m.start;
    case 'rerun':
      return keys === 'id,mode,type' && isIndex(m.id) && isMode(m.mode);
    default:
      return false;
  }
}

/** Validates a message from the host in the panel, including the sizes of the cross-attention data. */
export function isHostToSummaryView(m: unknown): m is HostToSummaryView {
  if (!isRecord(m) || !isIndex(m.id)) return false;
  switch (m.type) {
    case 'start':
      return isSummarySource(m.source);
    case 'mode':
      return isMode(m.mode) && typeof m.model === 'string' && typeof m.modelLabel === 'string' && (m.notice === undefined || typeof m.notice === 'string');
    case 'progress':
      return typeof m.message === 'string' && (m.done === undefined || isIndex(m.done)) && (m.total === undefined || isIndex(m.total));
    case 'stream':
      return typeof m.text === 'string' && isIndex(m.step);
    case 'done':
      return isSummaryView(m.summary);
    case 'error':
    case 'crossAttentionError':
      return typeof m.message === 'string';
    case 'cancelled':
      return true;
    case 'crossAttention':
      return isCrossAttentionView(m.data);
    default:
      return false;
  }
}

function isSummaryView(s: unknown): s is SummaryView {
  return (
    isRecord(s) &&
    isMode(s.mode) &&
    typeof s.text === 'string' &&
    typeof s.model === 'string' &&
    typeof s.modelLabel === 'string' &&
    typeof s.elapsedMs === 'number' &&
    typeof s.truncated === 'boolean' &&
    (s.sentences === undefined || (Array.isArray(s.sentences) && s.sentences.every(isSentence))) &&
    (s.ids === undefined || (Array.isArray(s.ids) && s.ids.every(isIndex)))
  );
}

function isSentence(s: unknown): s is SummarySentence {
  return isRecord(s) && typeof s.text === 'string' && isIndex(s.start) && isIndex(s.end) && isIndex(s.rank);
}

function isTokenSpan(t: unknown): t is TokenSpan {
  return isRecord(t) && typeof t.text === 'string' && typeof t.start === 'number' && typeof t.end === 'number' && typeof t.special === 'boolean';
}

function isCrossAttentionView(d: unknown): d is CrossAttentionView {
  if (!isRecord(d)) return false;
  if (!Array.isArray(d.sourceTokens) || !d.sourceTokens.every(isTokenSpan)) return false;
  if (!Array.isArray(d.targetTokens) || !d.targetTokens.every(isTokenSpan)) return false;
  if (!isIndex(d.layers) || !isIndex(d.heads) || !(d.means instanceof Float32Array)) return false;
  return (
    typeof d.sourceText === 'string' &&
    typeof d.targetText === 'string' &&
    typeof d.linked === 'boolean' &&
    typeof d.truncated === 'boolean' &&
    d.means.length === d.layers * d.targetTokens.length * d.sourceTokens.length
  );
}
