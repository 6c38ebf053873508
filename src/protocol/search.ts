/**
 * Messages between the Semantic Search panel (webview-ui/src/search) and the extension host
 * (src/vscode/search/searchPanel.ts), with guards. The host validates every message from the webview with
 * {@link isSearchViewMessage}; the webview validates the host's with {@link isHostToSearchView}.
 *
 * Requests carry a `requestId` chosen by the webview (increasing); the host answers with the same id, and a newer
 * `search` cancels the older one in the host and the model worker ("latest wins").
 */
import { isRecord } from './worker';

export type SearchMode = 'hybrid' | 'vector' | 'lexical';

export const SEARCH_MODES: readonly SearchMode[] = ['hybrid', 'vector', 'lexical'];

/** Longest query the host accepts, in characters (a selection can be long; the model reads its first tokens anyway). */
export const MAX_QUERY_CHARS = 4000;
/** Longest passage context (heading path or declaration) sent to the panel. */
export const MAX_CONTEXT_CHARS = 300;

/** Most results a panel asks for. */
export const MAX_RESULTS = 100;

/** A query term found in a result's text: UTF-16 offsets into {@link SearchHit.text}, `start` inclusive, `end` exclusive. */
export interface TermSpan {
  readonly start: number;
  readonly end: number;
}

/** Why a result matched (from the core's `MatchExplanation`). Ranks are 1-based; absent when that retriever did not rank it. */
export interface SearchWhy {
  /** Distinct normalised query terms present in the passage, e.g. `upload` for `retryUploads`. */
  readonly matchedTerms: readonly string[];
  readonly matches: readonly TermSpan[];
  readonly lexicalRank?: number;
  /** BM25 score. */
  readonly lexicalScore?: number;
  readonly vectorRank?: number;
  /** Cosine similarity of query and passage vectors, in [-1, 1]. */
  readonly similarity?: number;
  /** The similarity is under the model's floor: without query words, a weak match rather than a match by meaning. */
  readonly weakMatch?: boolean;
}

/** One passage found. Lines and characters are 0-based (VS Code's Range); `end` is exclusive. */
export interface SearchHit {
  /** Path relative to the workspace folder (prefixed by the folder's name in multi-root workspaces), `/`-separated. */
  readonly relPath: string;
  readonly startLine: number;
  readonly startCharacter: number;
  readonly endLine: number;
  readonly endCharacter: number;
  /** hybrid: normalised combination of BM25 and cosine, 0–1; vector: cosine similarity; lexical: BM25. Higher is better. */
  readonly score: number;
  /** Exactly the document's text in the range. */
  readonly text: string;
  /** Where the passage sits: its heading path or enclosing declaration, at most {@link MAX_CONTEXT_CHARS}. */
  readonly context?: string;
  /** The passage comes from unsaved editor contents. */
  readonly unsaved: boolean;
  readonly why: SearchWhy;
}

/** Counts of skipped files by reason. */
export interface SkippedCounts {
  readonly tooLarge: number;
  readonly binary: number;
  readonly unreadable: number;
  readonly special: number;
}

/** What the index is doing, for the panel and the status bar. `model` names the model whose vectors are in use. */
export type IndexState =
  /** Nothing opened yet: the first search (or "Index Workspace") starts indexing. */
  | { readonly kind: 'notIndexed'; readonly reason?: string }
  /** Resolving or downloading the model, or loading the stored index. */
  | { readonly kind: 'opening'; readonly model: string; readonly message: string }
  | {
      readonly kind: 'indexing';
      readonly model: string;
      /** `scanning`: listing files (total unknown); `indexing`: reading and embedding; `committing`/`compacting`: writing. */
      readonly phase: 'scanning' | 'indexing' | 'committing' | 'compacting';
      readonly filesDone: number;
      /** 0 while scanning. */
      readonly filesTotal: number;
      readonly chunksEmbedded: number;
      /** 0–100; 0 while scanning. */
      readonly percent: number;
    }
  | {
      readonly kind: 'ready';
      readonly model: string;
      readonly files: number;
      readonly chunks: number;
      readonly skipped: SkippedCounts;
      /** The last full scan was cancelled: some files may be missing or stale until indexing resumes. */
      readonly partial: boolean;
    }
  | { readonly kind: 'error'; readonly message: string };

export type HostToSearchView =
  | { readonly type: 'indexState'; readonly state: IndexState }
  | {
      readonly type: 'results';
      readonly requestId: number;
      readonly query: string;
      readonly mode: SearchMode;
      readonly hits: readonly SearchHit[];
      /** Milliseconds from request to answer, as the host measured it. */
      readonly elapsedMs: number;
      /** Unsaved editors whose latest text this answer could not include yet (still being embedded); absent when none. */
      readonly unsavedPending?: number;
    }
  | { readonly type: 'searchError'; readonly requestId: number; readonly message: string }
  /** Put this query in the box and search with the panel's mode (Search for Selection). */
  | { readonly type: 'setQuery'; readonly query: string }
  | { readonly type: 'focusQuery' };

export type SearchViewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'search'; readonly requestId: number; readonly query: string; readonly mode: SearchMode; readonly k: number }
  /** The query box was emptied: drop the search in flight. */
  | { readonly type: 'cancelSearch'; readonly requestId: number }
  /** Open hit `index` of the answer to `requestId` (the host only opens what it returned). */
  | { readonly type: 'open'; readonly requestId: number; readonly index: number; readonly preserveFocus: boolean }
  /** Bring the index up to date (or resume a cancelled scan). */
  | { readonly type: 'indexWorkspace' }
  | { readonly type: 'cancelIndexing' }
  /** List the skipped files in the log. */
  | { readonly type: 'showSkipped' };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isId = (v: unknown): v is number => isCount(v) && v <= Number.MAX_SAFE_INTEGER;
const isMode = (v: unknown): v is SearchMode => typeof v === 'string' && (SEARCH_MODES as readonly string[]).includes(v);

/** Validates a message from the webview; the host drops anything else. Extra fields are refused too. */
export function isSearchViewMessage(m: unknown): m is SearchViewToHost {
  if (!isRecord(m)) return false;
  const keys = Object.keys(m).sort().join(',');
  switch (m.type) {
    case 'ready':
    case 'indexWorkspace':
    case 'cancelIndexing':
    case 'showSkipped':
      return keys === 'type';
    case 'search':
      return (
        keys === 'k,mode,query,requestId,type' &&
        isId(m.requestId) &&
        typeof m.query === 'string' &&
        m.query.length <= MAX_QUERY_CHARS &&
        isMode(m.mode) &&
        isCount(m.k) &&
        m.k >= 1 &&
        m.k <= MAX_RESULTS
      );
    case 'cancelSearch':
      return keys === 'requestId,type' && isId(m.requestId);
    case 'open':
      return keys === 'index,preserveFocus,requestId,type' && isId(m.requestId) && isCount(m.index) && typeof m.preserveFocus === 'boolean';
    default:
      return false;
  }
}

/** Validates a message from the host in the webview. */
export function isHostToSearchView(m: unknown): m is HostToSearchView {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'indexState':
      return isIndexState(m.state);
    case 'results':
      return (
        isId(m.requestId) &&
        typeof m.query === 'string' &&
        isMode(m.mode) &&
        Array.isArray(m.hits) &&
        m.hits.every(isHit) &&
        typeof m.elapsedMs === 'number' &&
        (m.unsavedPending === undefined || isCount(m.unsavedPending))
      );
    case 'searchError':
      return isId(m.requestId) && typeof m.message === 'string';
    case 'setQuery':
      return typeof m.query === 'string';
    case 'focusQuery':
      return true;
    default:
      return false;
  }
}

export function isIndexState(s: unknown): s is IndexState {
  if (!isRecord(s)) return false;
  switch (s.kind) {
    case 'notIndexed':
      return s.reason === undefined || typeof s.reason === 'string';
    case 'opening':
      return typeof s.model === 'string' && typeof s.message === 'string';
    case 'indexing':
      return (
        typeof s.model === 'string' &&
        (s.phase === 'scanning' || s.phase === 'indexing' || s.phase === 'committing' || s.phase === 'compacting') &&
        isCount(s.filesDone) &&
        isCount(s.filesTotal) &&
        isCount(s.chunksEmbedded) &&
        typeof s.percent === 'number' &&
        s.percent >= 0 &&
        s.percent <= 100
      );
    case 'ready':
      return typeof s.model === 'string' && isCount(s.files) && isCount(s.chunks) && isSkipped(s.skipped) && typeof s.partial === 'boolean';
    case 'error':
      return typeof s.message === 'string';
    default:
      return false;
  }
}

function isSkipped(s: unknown): s is SkippedCounts {
  return isRecord(s) && isCount(s.tooLarge) && isCount(s.binary) && isCount(s.unreadable) && isCount(s.special);
}

function isHit(h: unknown): h is SearchHit {
  if (!isRecord(h)) return false;
  const w = h.why;
  return (
    typeof h.relPath === 'string' &&
    isCount(h.startLine) &&
    isCount(h.startCharacter) &&
    isCount(h.endLine) &&
    isCount(h.endCharacter) &&
    typeof h.score === 'number' &&
    typeof h.text === 'string' &&
    (h.context === undefined || (typeof h.context === 'string' && h.context.length <= MAX_CONTEXT_CHARS)) &&
    typeof h.unsaved === 'boolean' &&
    isRecord(w) &&
    Array.isArray(w.matchedTerms) &&
    w.matchedTerms.every((t) => typeof t === 'string') &&
    Array.isArray(w.matches) &&
    w.matches.every((m) => isRecord(m) && isCount(m.start) && isCount(m.end) && m.start <= m.end && m.end <= (h.text as string).length) &&
    (w.lexicalRank === undefined || isCount(w.lexicalRank)) &&
    (w.lexicalScore === undefined || typeof w.lexicalScore === 'number') &&
    (w.vectorRank === undefined || isCount(w.vectorRank)) &&
    (w.similarity === undefined || typeof w.similarity === 'number') &&
    (w.weakMatch === undefined || typeof w.weakMatch === 'boolean')
  );
}
