// Semantic search core: the public surface for the CLI and the extension.
export type {
  Chunk,
  Embedder,
  FileEntry,
  FileSource,
  IndexPhase,
  IndexProgress,
  ListedItem,
  MatchExplanation,
  SearchMode,
  SearchOptions,
  SearchResult,
  SkippedFile,
  SkipReason,
  SymbolRange,
  TermMatch,
  TextRange,
  UpdateSummary,
} from './types';
export { chunkDocument, chunkerKey, documentKind, estimateTokens, type ChunkerOptions, type ChunkInput, type DocumentKind } from './chunker';
export { defaultStoreDir, indexDirectory, searchDirectory, toSearchJson, type IndexDirectoryOptions, type IndexDirectoryResult, type SearchDirectoryOptions, type SearchJson } from './directory';
export { compileGlob, ExcludeMatcher, GitignoreRules, type PathPattern } from './globs';
export { queryTerms, tokenize } from './lexical';
export { MemoryFileSource } from './memoryFileSource';
export { DEFAULT_EXCLUDES, DEFAULT_MAX_FILE_BYTES, NodeFileSource, type NodeFileSourceOptions } from './nodeFileSource';
export { IndexDamagedError, IndexLockedError } from './segmentStore';
export { runUpdate, SemanticIndex, type IndexStats, type OpenIndexOptions, type OpenReport, type OverlayDocument, type OverlaySkip, type UpdateOptions } from './semanticIndex';
export { decodeText } from './textFiles';
export { WorkerEmbedder, workerModelKey, type WorkerEmbedderOptions } from './workerEmbedder';
