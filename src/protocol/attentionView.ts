import type { AttentionViewData } from './attention';
import { isIndex, isRecord, isTokenSpan } from './guards';

/** Where the inspected text came from, so the view can say it and link back to it. */
export interface AttentionSource {
  /** Short label, e.g. `notes.md:12-14`. */
  readonly label: string;
  /** Document URI as a string. */
  readonly uri: string;
  /** Offset of the inspected text in the document; token ranges are relative to the text. */
  readonly offset: number;
}

/** Everything the Attention view draws: compact attention data (see {@link AttentionViewData}) and its source. */
export interface AttentionPayload extends AttentionViewData {
  readonly source: AttentionSource;
  /** Milliseconds from request to result, shown to the user. */
  readonly elapsedMs: number;
  /** `Date.now()` when the host posted the payload, so the view can tell how long the transfer took. */
  readonly sentAt: number;
}

/** The picture the view exports (the webview draws it; the host only writes the bytes). */
export type ExportFormat = 'png';

export type HostToAttentionView =
  | { readonly type: 'show'; readonly payload: AttentionPayload }
  | { readonly type: 'busy'; readonly message: string }
  | { readonly type: 'error'; readonly message: string }
  /** The editor caret is inside this token of the shown payload (null: outside it). */
  | { readonly type: 'cursorToken'; readonly index: number | null }
  | { readonly type: 'pinned'; readonly pinned: boolean }
  /** Another layer of the shown maps (`id` of the payload), 16-bit `[head][query][key]`. */
  | { readonly type: 'layer'; readonly id: number; readonly layer: number; readonly weights: Uint16Array };

export type AttentionViewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'inspectSelection' }
  /** Highlight a token's range in the editor (null clears); `reveal` also scrolls the editor to it. */
  | { readonly type: 'highlightToken'; readonly index: number | null; readonly reveal: boolean }
  | { readonly type: 'setPinned'; readonly pinned: boolean }
  /** Show the window of text tokens starting at `start`. */
  | { readonly type: 'moveWindow'; readonly start: number }
  | { readonly type: 'exportJson' }
  /** The view needs the maps of this layer of the shown payload. */
  | { readonly type: 'requestLayer'; readonly id: number; readonly layer: number }
  /** `data`: a `data:image/png;base64,…` URL. */
  | { readonly type: 'exportImage'; readonly format: ExportFormat; readonly data: string };

/** Largest exported image the host accepts from the webview, in characters. */
export const MAX_EXPORT_CHARS = 64 * 2 ** 20;

/** Validates a message from the webview; anything else is dropped by the host. */
export function isAttentionViewMessage(m: unknown): m is AttentionViewToHost {
  if (!isRecord(m)) return false;
  const keys = Object.keys(m).sort().join(',');
  switch (m.type) {
    case 'ready':
    case 'inspectSelection':
    case 'exportJson':
      return keys === 'type';
    case 'highlightToken':
      return keys === 'index,reveal,type' && (m.index === null || isIndex(m.index)) && typeof m.reveal === 'boolean';
    case 'setPinned':
      return keys === 'pinned,type' && typeof m.pinned === 'boolean';
    case 'moveWindow':
      return keys === 'start,type' && isIndex(m.start);
    case 'requestLayer':
      return keys === 'id,layer,type' && isIndex(m.id) && isIndex(m.layer);
    case 'exportImage':
      return (
        keys === 'data,format,type' &&
        typeof m.data === 'string' &&
        m.data.length <= MAX_EXPORT_CHARS &&
        m.format === 'png' &&
        m.data.startsWith('data:image/png;base64,')
      );
    default:
      return false;
  }
}

/** Validates a message from the host in the webview, including the shape and size of the attention data. */
export function isHostToAttentionView(m: unknown): m is HostToAttentionView {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'busy':
    case 'error':
      return typeof m.message === 'string';
    case 'cursorToken':
      return m.index === null || isIndex(m.index);
    case 'pinned':
      return typeof m.pinned === 'boolean';
    case 'layer':
      return isIndex(m.id) && isIndex(m.layer) && m.weights instanceof Uint16Array;
    case 'show':
      return isPayload(m.payload);
    default:
      return false;
  }
}

function isPayload(p: unknown): p is AttentionPayload {
  if (!isRecord(p)) return false;
  if (!Array.isArray(p.tokens) || !p.tokens.every(isTokenSpan)) return false;
  if (!isIndex(p.layers) || !isIndex(p.heads) || !isIndex(p.maxTokens) || !isIndex(p.inputTokens) || !isIndex(p.id)) return false;
  if (!isIndex(p.layer) || p.layer >= p.layers || !isIndex(p.thumbnailSize)) return false;
  const n = p.tokens.length;
  if (!(p.layerWeights instanceof Uint16Array) || p.layerWeights.length !== p.heads * n * n) return false;
  if (!(p.layerMeans instanceof Uint16Array) || p.layerMeans.length !== p.layers * n * n) return false;
  if (!(p.thumbnails instanceof Uint8Array) || p.thumbnails.length !== p.layers * p.heads * p.thumbnailSize ** 2) return false;
  const s = p.source;
  const w = p.window;
  const r = p.read;
  return (
    typeof p.model === 'string' &&
    typeof p.truncated === 'boolean' &&
    typeof p.elapsedMs === 'number' &&
    typeof p.sentAt === 'number' &&
    isRecord(w) &&
    isIndex(w.start) &&
    isIndex(w.textTokens) &&
    isRecord(r) &&
    isIndex(r.chars) &&
    isIndex(r.totalChars) &&
    r.chars <= r.totalChars &&
    isRecord(s) &&
    typeof s.label === 'string' &&
    typeof s.uri === 'string' &&
    typeof s.offset === 'number'
  );
}
