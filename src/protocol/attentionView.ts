import type { TokenSpan } from './attention';
import { isRecord } from './worker';

/** Where the inspected text came from, so the view can say it and link back to it. */
export interface AttentionSource {
  /** Short label, e.g. `notes.md:12-14`. */
  readonly label: string;
  /** Document URI as a string. */
  readonly uri: string;
  /** Offset of the inspected text in the document; token ranges are relative to the text. */
  readonly offset: number;
}

/** Everything the Attention view draws; `weights` is laid out as in {@link AttentionMaps}. */
export interface AttentionPayload {
  readonly model: string;
  readonly tokens: readonly TokenSpan[];
  readonly layers: number;
  readonly heads: number;
  readonly weights: Float32Array;
  readonly truncated: boolean;
  readonly maxTokens: number;
  readonly inputTokens: number;
  readonly source: AttentionSource;
  /** Milliseconds from request to result in the worker, shown to the user. */
  readonly elapsedMs: number;
}

export type HostToAttentionView =
  | { readonly type: 'show'; readonly payload: AttentionPayload }
  | { readonly type: 'busy'; readonly message: string }
  | { readonly type: 'error'; readonly message: string };

export type AttentionViewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'inspectSelection' };

/** Validates a message from the webview; anything else is dropped by the host. */
export function isAttentionViewMessage(m: unknown): m is AttentionViewToHost {
  return isRecord(m) && (m.type === 'ready' || m.type === 'inspectSelection') && Object.keys(m).length === 1;
}

/** Validates a message from the host in the webview, including the shape and size of the attention data. */
export function isHostToAttentionView(m: unknown): m is HostToAttentionView {
  if (!isRecord(m)) return false;
  if (m.type === 'busy' || m.type === 'error') return typeof m.message === 'string';
  if (m.type !== 'show' || !isRecord(m.payload)) return false;
  const p = m.payload;
  if (!Array.isArray(p.tokens) || !p.tokens.every(isTokenSpan)) return false;
  if (!isCount(p.layers) || !isCount(p.heads) || !isCount(p.maxTokens) || !isCount(p.inputTokens)) return false;
  if (!(p.weights instanceof Float32Array)) return false;
  const n = p.tokens.length;
  if (p.weights.length !== p.layers * p.heads * n * n) return false;
  const s = p.source;
  return (
    typeof p.model === 'string' &&
    typeof p.truncated === 'boolean' &&
    typeof p.elapsedMs === 'number' &&
    isRecord(s) &&
    typeof s.label === 'string' &&
    typeof s.uri === 'string' &&
    typeof s.offset === 'number'
  );
}

function isTokenSpan(t: unknown): t is TokenSpan {
  return isRecord(t) && typeof t.text === 'string' && typeof t.start === 'number' && typeof t.end === 'number' && typeof t.special === 'boolean';
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
