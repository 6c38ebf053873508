/**
 * Shared types of semantic search. Nothing here knows VS Code, onnxruntime or transformers.js: embeddings come
 * through {@link Embedder}, files through {@link FileSource}, so the same core serves the extension (workspace.fs,
 * remote workspaces, the model worker) and the CLI (Node's fs, {@link NodeFileSource}).
 */

/**
 * Turns texts into vectors. The extension implements it with the model worker ({@link WorkerEmbedder}); tests use
 * deterministic fakes. Everything stored is keyed by {@link modelKey}: two embedders with different keys never
 * share a store, so switching model never mixes vector spaces.
 */
export interface Embedder {
  /** Identity of the vector space, e.g. `Xenova/all-MiniLM-L6-v2|fp32` or `bundled:use-lite|fp32`. */
  readonly modelKey: string;
  /** Length of every vector. */
  readonly dims: number;
  /** Longest input in tokens the model reads, special tokens included. Chunks are sized to fit it. */
  readonly maxTokens: number;
  /**
   * `texts.length` vectors, row-major (`result[i * dims + d]`), each L2-normalised. Rejects when `signal` aborts.
   */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array>;
  /** Vector of a search query, when the model treats queries differently from passages (e.g. a `query: ` prefix). */
  embedQuery?(text: string, signal?: AbortSignal): Promise<Float32Array>;
  /** Cosine similarity under which a passage without query words is a weak match, not a match by meaning (see modelConventions.ts). */
  readonly weakMatchBelow?: number;
  /** Exact token count of `text` (special tokens excluded) when a tokenizer is at hand; else a heuristic is used. */
  countTokens?(text: string): number;
  /**
   * Exact tokens of each text as {@link embed} would read it (special tokens and prefixes included, nothing cut).
   * When present, the index splits every passage that would not fit {@link maxTokens}, so no text is cut.
   */
  inputTokenCounts?(texts: readonly string[], signal?: AbortSignal): Promise<ArrayLike<number>>;
}

/** A file the source can read. */
export interface FileEntry {
  /** Stable identity of the document (a VS Code URI string, `file:///…` for the CLI). Never parsed by the core. */
  readonly uri: string;
  /** Path shown to the user and printed by the CLI, relative to the workspace/dir, `/`-separated. */
  readonly relPath: string;
  /** Bytes. */
  readonly size: number;
  /** Modification time in milliseconds since the epoch. Together with `size` it decides whether a file is re-read. */
  readonly mtime: number;
}

export type SkipReason =
  /** Over the size limit. */
  | 'tooLarge'
  /** NUL bytes or not valid UTF-8/UTF-16. */
  | 'binary'
  /** Could not be read or listed (permissions, dangling link, I/O error, read timeout). */
  | 'unreadable'
  /** Not a regular file (FIFO, socket, device): never opened. */
  | 'special';

/** A file or folder left out of the index, and why. */
export interface SkippedFile {
  readonly relPath: string;
  readonly uri?: string;
  readonly reason: SkipReason;
  /** Human-readable detail, e.g. `EACCES: permission denied` or `3.2 MB > 1 MB`. */
  readonly detail?: string;
}

/** What {@link FileSource.list} yields: files to index, files/folders it skipped, and ignore-rule hits. */
export type ListedItem =
  | ({ readonly type: 'file' } & FileEntry)
  | ({ readonly type: 'skipped' } & SkippedFile)
  /** Left out by `.gitignore` or an exclude glob (a folder counts once: nothing under it is visited). */
  | { readonly type: 'ignored'; readonly relPath: string; readonly by: 'gitignore' | 'exclude' };

/** Where the indexer finds documents. */
export interface FileSource {
  /** Every candidate file once. Must not hang on special files and must report what it could not list. */
  list(signal?: AbortSignal): AsyncIterable<ListedItem>;
  /** Bytes of a listed file. May reject; the indexer reports the file as unreadable and goes on. */
  read(uri: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Symbol ranges of a document (VS Code document symbols), used by the chunker when present. */
  symbols?(uri: string, text: string, signal?: AbortSignal): Promise<readonly SymbolRange[] | undefined>;
}

/** A code symbol (function, class, method…), 0-based inclusive lines, as VS Code's DocumentSymbol.range gives. */
export interface SymbolRange {
  readonly name: string;
  readonly startLine: number;
  readonly endLine: number;
  readonly children?: readonly SymbolRange[];
}

/** A 0-based range: `start` is the first character, `end` the position after the last (VS Code's Range). */
export interface TextRange {
  readonly startLine: number;
  readonly startCharacter: number;
  readonly endLine: number;
  readonly endCharacter: number;
}

/** A passage of a document that is embedded and searched as one unit. */
export interface Chunk extends TextRange {
  readonly uri: string;
  readonly relPath: string;
  /** Exactly the document's text in the range. */
  readonly text: string;
  /** Title and heading path (Markdown) or enclosing declarations (code), one line; '' when none. Embedded and indexed, never shown. */
  readonly context: string;
  /** First 16 bytes of SHA-256 of the stored passage (`storedPassage(context, text)`), hex (32 characters). Keys the vector cache. */
  readonly hash: string;
  /** UTF-16 offsets of the range in the document. */
  readonly startOffset: number;
  readonly endOffset: number;
}

export type SearchMode = 'hybrid' | 'vector' | 'lexical';

/** A query term found in a result's text: UTF-16 offsets into `SearchResult.text`, for highlighting. */
export interface TermMatch {
  /** Normalised term (lowercase, identifier part, light stem), e.g. `upload` for `retryUploads`. */
  readonly term: string;
  readonly start: number;
  readonly end: number;
}

/** Why a result matched. Ranks are 1-based among the candidates of that retriever; absent when it did not rank it. */
export interface MatchExplanation {
  /** Distinct query terms present in the text. */
  readonly matchedTerms: readonly string[];
  /** Every occurrence of a query term in the text. */
  readonly matches: readonly TermMatch[];
  readonly lexicalRank?: number;
  /** BM25 score of the text for the query. */
  readonly lexicalScore?: number;
  readonly vectorRank?: number;
  /** Cosine similarity of the query and the passage vectors, in [-1, 1]. */
  readonly similarity?: number;
  /** True when the similarity is under the model's floor ({@link Embedder.weakMatchBelow}): not a match by meaning. */
  readonly weakMatch?: boolean;
}

export interface SearchResult extends TextRange {
  readonly uri: string;
  readonly relPath: string;
  /** hybrid: normalised score combination, 0–1; vector: cosine similarity; lexical: BM25 score. Higher is better. */
  readonly score: number;
  readonly text: string;
  /** Where the passage sits: the heading path (Markdown) or the enclosing declaration (code); absent when none. */
  readonly context?: string;
  /** True when the passage comes from unsaved editor contents (an overlay). */
  readonly fromOverlay: boolean;
  readonly why: MatchExplanation;
}

export interface SearchOptions {
  /** Default `hybrid`. */
  readonly mode?: SearchMode;
  /** Results wanted; default 10. */
  readonly k?: number;
  /** Candidates each retriever contributes to fusion; default max(100, 5k). */
  readonly candidates?: number;
  /** Share of the words in hybrid scores, 0–1 (the rest is meaning); default {@link DEFAULT_LEXICAL_WEIGHT}. */
  readonly lexicalWeight?: number;
  /** Keep only results whose document passes (e.g. a folder scope). */
  readonly filter?: (relPath: string, uri: string) => boolean;
  readonly signal?: AbortSignal;
}

export type IndexPhase = 'opening' | 'scanning' | 'indexing' | 'committing' | 'compacting' | 'done';

/** A progress event of {@link SemanticIndex.update}. Counters are cumulative for the update. */
export interface IndexProgress {
  readonly phase: IndexPhase;
  readonly filesDone: number;
  /** Known once scanning has finished; 0 before. */
  readonly filesTotal: number;
  /** Chunk texts sent to the embedder so far. */
  readonly chunksEmbedded: number;
  /** Every file skipped so far (too large, binary, unreadable, special). */
  readonly skipped: readonly SkippedFile[];
  /** Files and folders left out by ignore rules so far. */
  readonly ignored: number;
  readonly message?: string;
}

export interface UpdateSummary {
  /** Files read and (re-)chunked. */
  readonly filesIndexed: number;
  /** Files whose size and mtime (or content hash) had not changed. */
  readonly filesUnchanged: number;
  readonly filesDeleted: number;
  readonly filesRenamed: number;
  /** Chunk texts sent to the embedder. */
  readonly chunksEmbedded: number;
  /** Chunks whose vector came from the cache (same text seen before, in any file). */
  readonly chunksReused: number;
  /** Cuts made in passages the model's tokenizer found over its limit (each became two), so none is cut when embedded. */
  readonly passagesSplit: number;
  readonly skipped: readonly SkippedFile[];
  readonly ignored: number;
  readonly commits: number;
  readonly ms: number;
}
