/**
 * A persistent, incremental hybrid (BM25 + vector) index of documents, VS Code-free.
 *
 * Storage (see segmentStore.ts for the byte layout): one folder per embedder model key, holding immutable
 * checksummed segment files and a manifest naming the live ones. An update appends one new segment per commit
 * (vectors not yet on disk + records of changed files, deletions as tombstones) and then atomically replaces the
 * manifest; nothing already written is modified, so a crash or kill at any moment leaves the previous manifest and its
 * segments intact. When more than half of the records are dead, the live ones are rewritten into fresh segments
 * (compaction) behind the same atomic manifest switch. A manifest or segment that fails its checks is never trusted:
 * the index is rebuilt, keeping only vectors from segments that verify on their own (content-addressed by the hash of
 * their text, so they cannot be attached to the wrong passage).
 *
 * In memory: vectors in a {@link VectorStore} (WebAssembly memory, SIMD scan), a {@link Bm25Index}, and per document
 * its chunk ranges pointing at "slots". A slot is one distinct chunk text: its vector, its BM25 document, and where its
 * text lives (in memory until committed, then read back from its segment on demand). Identical text in two files, or
 * text that comes back after an edit or a rename, reuses its slot: it is never embedded twice.
 *
 * @example
 *   const index = await SemanticIndex.open({ storeDir, embedder });
 *   for await (const p of index.update(new NodeFileSource(dir))) console.log(p.phase, p.filesDone, p.filesTotal);
 *   const hits = await index.search('where do we retry failed uploads', { k: 10 });
 *   await index.close();
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Bm25Index, type Bm25Params } from './bm25';
import { chunkDocument, chunkerKey, type ChunkerOptions, type ChunkInput } from './chunker';
import { fitChunks } from './tokenFit';
import { DEFAULT_LEXICAL_WEIGHT, weightedScoreFusion, type ScoredIds } from './fusion';
import { queryTerms, tokenize } from './lexical';
import { decodeLexicon, LexiconBuilder } from './lexicon';
import { DEFAULT_MAX_FILE_BYTES } from './nodeFileSource';
import { contextOf, modelInput, shownText, storedPassage } from './passageText';
import {
  acquireLock,
  FORMAT,
  IndexDamagedError,
  modelDirName,
  readManifest,
  readSegment,
  RecordKind,
  SCHEMA_VERSION,
  segmentName,
  segmentNumber,
  segmentRecords,
  SegmentTextReader,
  SegmentWriter,
  writeManifest,
  type ChunkRecord,
  type FileRecordJson,
  type Manifest,
  type SegmentHeader,
  type SegmentRef,
} from './segmentStore';
import { binaryTextReason, decodeText, formatBytes } from './textFiles';
import type { Scored } from './topK';
import type {
  Chunk,
  Embedder,
  FileEntry,
  FileSource,
  IndexPhase,
  IndexProgress,
  SearchOptions,
  SearchResult,
  SkippedFile,
  SymbolRange,
  TextRange,
  UpdateSummary,
} from './types';
import { VectorStore, yieldToEventLoop, type VectorStoreOptions } from './vectorStore';

export interface OpenIndexOptions {
  /** Folder holding indexes: the extension's workspace storage, or the CLI's `--store`. One subfolder per model key. */
  readonly storeDir: string;
  readonly embedder: Embedder;
  /** Chunk sizing; `maxTokens` and `countTokens` default to the embedder's. */
  readonly chunker?: Partial<ChunkerOptions>;
  /** Texts per embed call; default 32. */
  readonly batchSize?: number;
  readonly vectors?: VectorStoreOptions;
  /** Commit after this many newly embedded chunks; default 1024. */
  readonly commitEveryChunks?: number;
  /** …or after this long with uncommitted work; default 10 000 ms. */
  readonly commitEveryMs?: number;
  /** Segment size at which compaction starts a new file; default 32 MiB. */
  readonly maxSegmentBytes?: number;
  /** Files larger than this are skipped, whatever the source; default 1 MiB. */
  readonly maxFileBytes?: number;
  /** A read that takes longer is abandoned and the file reported unreadable; default 30 000 ms. */
  readonly readTimeoutMs?: number;
  readonly log?: (message: string) => void;
  /** BM25 parameters (see {@link Bm25Params} for the defaults). */
  readonly bm25?: Bm25Params;
}

export interface OpenReport {
  /** `created`: no index was there; `loaded`: the stored index verified; `rebuilt`: it was damaged or foreign. */
  readonly status: 'created' | 'loaded' | 'rebuilt';
  /** Why it was rebuilt. */
  readonly reason?: string;
  /** Vectors recovered from segments that verify on their own (after damage or an interrupted commit). */
  readonly salvagedVectors: number;
  readonly files: number;
  readonly chunks: number;
  readonly ms: number;
}

export interface UpdateOptions {
  readonly signal?: AbortSignal;
  /**
   * Only these changes (file watcher events); without it the whole source is listed and files it no longer lists
   * are removed. `changed` entries need the current size and mtime.
   */
  readonly changes?: { readonly changed?: readonly FileEntry[]; readonly deleted?: readonly string[] };
  /** Re-read every file even when size and mtime match. */
  readonly force?: boolean;
}

/** Unsaved editor contents: searchable, never persisted. */
export interface OverlayDocument {
  readonly uri: string;
  readonly relPath: string;
  readonly text: string;
  readonly languageId?: string;
  readonly symbols?: readonly SymbolRange[];
}

/** Why unsaved contents were refused by {@link SemanticIndex.setOverlay}: the same rules as for stored files. */
export interface OverlaySkip {
  readonly reason: 'tooLarge' | 'binary';
  /** e.g. `10.0 MB > 1.0 MB` or `NUL character at offset 12`. */
  readonly detail: string;
}

export interface IndexStats {
  /** Documents indexed (skipped binaries excluded). */
  readonly files: number;
  readonly chunks: number;
  /** Distinct chunk texts visible to search. */
  readonly liveTexts: number;
  /** Vectors held (live + cached for reuse). */
  readonly vectors: number;
  /** Unsaved documents: searchable ones plus those waiting for {@link SemanticIndex.applyOverlays}. */
  readonly overlays: number;
  /** Unsaved documents not searchable yet (set, not yet applied). */
  readonly overlaysPending: number;
  readonly segments: number;
  readonly generation: number;
  /** Chunk texts embedded since open (files and overlays). */
  readonly chunksEmbedded: number;
  readonly simd: boolean;
  readonly quantized: boolean;
  readonly vectorMemoryBytes: number;
  readonly storePath: string;
}

interface ChunkRef extends TextRange {
  readonly slot: number;
}

interface DocState {
  readonly uri: string;
  readonly relPath: string;
  readonly size: number;
  readonly mtime: number;
  readonly contentHash?: string;
  readonly skip?: FileRecordJson['skip'];
  readonly chunks: readonly ChunkRef[];
  readonly overlay: boolean;
}

interface Occurrence {
  readonly doc: DocState;
  readonly chunk: number;
}

/** Unsaved contents waiting to be applied; `chunks` is kept once computed, so an interrupted apply does not chunk again. */
interface PendingOverlay {
  readonly doc: OverlayDocument;
  chunks?: readonly Chunk[];
}

interface PendingDoc {
  readonly entry: FileEntry;
  readonly contentHash: string;
  readonly chunks: readonly Chunk[];
}

interface Batch {
  readonly hashes: string[];
  readonly texts: string[];
  readonly promise: Promise<Float32Array>;
}

class UpdateRun {
  filesTotal = 0;
  filesDone = 0;
  filesIndexed = 0;
  filesUnchanged = 0;
  filesDeleted = 0;
  filesRenamed = 0;
  chunksEmbedded = 0;
  chunksReused = 0;
  passagesSplit = 0;
  ignored = 0;
  commits = 0;
  embeddedSinceCommit = 0;
  lastCommit = performance.now();
  readonly skipped: SkippedFile[] = [];
  private skippedSnapshot: readonly SkippedFile[] = [];
  /** Texts waiting for an embed call, by hash. */
  readonly pending = new Map<string, string>();
  /** Hashes pending or in flight. */
  readonly queued = new Set<string>();
  readonly waiting: PendingDoc[] = [];
  inflight: Batch | undefined;
  /** Content hashes of files deleted in this update (to count renames). */
  readonly deletedContent = new Set<string>();
  readonly started = performance.now();

  constructor(readonly signal: AbortSignal | undefined) {}

  progress(phase: IndexPhase, message?: string): IndexProgress {
    if (this.skippedSnapshot.length !== this.skipped.length) this.skippedSnapshot = Object.freeze([...this.skipped]);
    return {
      phase,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      chunksEmbedded: this.chunksEmbedded,
      skipped: this.skippedSnapshot,
      ignored: this.ignored,
      ...(message ? { message } : {}),
    };
  }

  summary(): UpdateSummary {
    return {
      filesIndexed: this.filesIndexed,
      filesUnchanged: this.filesUnchanged,
      filesDeleted: this.filesDeleted,
      filesRenamed: this.filesRenamed,
      chunksEmbedded: this.chunksEmbedded,
      chunksReused: this.chunksReused,
      passagesSplit: this.passagesSplit,
      skipped: [...this.skipped],
      ignored: this.ignored,
      commits: this.commits,
      ms: performance.now() - this.started,
    };
  }
}

/** One async holder at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    return release;
  }
}

const PROGRESS_EVERY_MS = 100;
const BUSY_SLICE_MS = 12;

export class SemanticIndex {
  readonly storePath: string;
  readonly modelKey: string;
  readonly dims: number;
  report!: OpenReport;

  private readonly embedder: Embedder;
  private readonly chunkerOptions: ChunkerOptions;
  private readonly chunkerKey: string;
  private readonly batchSize: number;
  private readonly commitEveryChunks: number;
  private readonly commitEveryMs: number;
  private readonly maxSegmentBytes: number;
  private readonly maxFileBytes: number;
  private readonly readTimeoutMs: number;
  private readonly header: SegmentHeader;
  private readonly log: (message: string) => void;
  private readonly mutex = new Mutex();
  /** Serialises {@link applyOverlays} (it runs beside updates: unsaved editors need not wait for a full scan). */
  private readonly overlayMutex = new Mutex();
  private readonly reader: SegmentTextReader;

  // Slots: one per distinct chunk text.
  private vectors!: VectorStore;
  private bm25!: Bm25Index;
  private hashToSlot = new Map<string, number>();
  private slotHash: string[] = [];
  private textMem: (string | undefined)[] = [];
  /** Segment number holding the slot's committed vector record, or -1. */
  private textSeg: number[] = [];
  private textOff: number[] = [];
  private textLen: number[] = [];
  private refs = new Int32Array(1024);
  private mask = new Uint8Array(1024);
  private occ: Occurrence[][] = [];

  // Documents.
  private files = new Map<string, DocState>();
  private overlays = new Map<string, DocState>();
  private pendingOverlays = new Map<string, PendingOverlay>();
  /** URIs whose current record (or deletion) is not in a committed segment. */
  private dirty = new Set<string>();

  // Disk state.
  private segments: SegmentRef[] = [];
  private generation = 0;
  private nextSegment = 1;
  private storedChunkerKey: string;
  private vectorRecordsOnDisk = 0;
  private fileRecordsOnDisk = 0;
  private embeddedTotal = 0;
  private closed = false;
  private releaseLock: (() => Promise<void>) | undefined;

  private constructor(options: OpenIndexOptions, storePath: string) {
    const { embedder } = options;
    this.storePath = storePath;
    this.embedder = embedder;
    this.modelKey = embedder.modelKey;
    this.dims = embedder.dims;
    this.chunkerOptions = {
      maxTokens: embedder.maxTokens,
      ...(embedder.countTokens ? { countTokens: (t: string) => embedder.countTokens!(t) } : {}),
      ...options.chunker,
    };
    // Passages fitted by the model's own tokenizer differ from estimated ones: a fitted index is keyed apart.
    this.chunkerKey = `${chunkerKey(this.chunkerOptions)}${embedder.inputTokenCounts ? ':fit' : ''}`;
    this.storedChunkerKey = this.chunkerKey;
    this.batchSize = Math.max(1, options.batchSize ?? 32);
    this.commitEveryChunks = Math.max(1, options.commitEveryChunks ?? 1024);
    this.commitEveryMs = options.commitEveryMs ?? 10_000;
    this.maxSegmentBytes = options.maxSegmentBytes ?? 32 * 1024 * 1024;
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.readTimeoutMs = options.readTimeoutMs ?? 30_000;
    this.header = { schema: SCHEMA_VERSION, dims: embedder.dims, modelKey: embedder.modelKey };
    this.log = options.log ?? (() => undefined);
    this.reader = new SegmentTextReader(storePath);
    this.vectorOptions = options.vectors ?? {};
    this.bm25Params = options.bm25 ?? {};
    this.resetMemory();
  }

  private readonly vectorOptions: VectorStoreOptions;

  private readonly bm25Params: Bm25Params;

  /** Folder of the index for `modelKey` under `storeDir`. */
  static storePathFor(storeDir: string, modelKey: string): string {
    return path.join(storeDir, modelDirName(modelKey));
  }

  /**
   * Opens (or creates) the index of `embedder.modelKey` under `storeDir`, verifies it and loads it; a damaged one is
   * rebuilt (see {@link report}). @throws IndexLockedError when another live process is updating it.
   */
  static async open(options: OpenIndexOptions): Promise<SemanticIndex> {
    const { embedder } = options;
    if (!Number.isInteger(embedder.dims) || embedder.dims <= 0) throw new Error(`embedder ${embedder.modelKey} reports ${embedder.dims} dimensions`);
    const storePath = SemanticIndex.storePathFor(options.storeDir, embedder.modelKey);
    await fs.promises.mkdir(storePath, { recursive: true });
    const index = new SemanticIndex(options, storePath);
    index.releaseLock = await acquireLock(storePath);
    try {
      await index.load();
    } catch (e) {
      await index.close();
      throw e;
    }
    return index;
  }

  // ───────────────────────────── loading ─────────────────────────────

  private resetMemory(): void {
    this.vectors = new VectorStore(this.dims, this.vectorOptions);
    this.bm25 = new Bm25Index(this.bm25Params);
    this.hashToSlot = new Map();
    this.slotHash = [];
    this.textMem = [];
    this.textSeg = [];
    this.textOff = [];
    this.textLen = [];
    this.refs = new Int32Array(1024);
    this.mask = new Uint8Array(1024);
    this.occ = [];
    this.files = new Map();
    this.overlays = new Map();
    this.dirty = new Set();
    this.segments = [];
    this.vectorRecordsOnDisk = 0;
    this.fileRecordsOnDisk = 0;
  }

  private async load(): Promise<void> {
    const started = performance.now();
    let manifest: Manifest | undefined;
    let damage: string | undefined;
    try {
      manifest = await readManifest(this.storePath);
    } catch (e) {
      if (!(e instanceof IndexDamagedError)) throw e;
      damage = e.message;
    }
    if (manifest && !damage && (manifest.modelKey !== this.modelKey || manifest.dims !== this.dims)) {
      damage = `the index was built for ${manifest.modelKey} (${manifest.dims}-d), not ${this.modelKey} (${this.dims}-d)`;
    }
    if (manifest && !damage) {
      try {
        await this.loadSegments(manifest);
      } catch (e) {
        if (!(e instanceof IndexDamagedError)) throw e;
        damage = e.message;
      }
    }
    let status: OpenReport['status'] = manifest ? 'loaded' : 'created';
    if (damage) {
      this.log(`index at ${this.storePath} is damaged (${damage}); rebuilding it`);
      this.resetMemory();
      this.storedChunkerKey = this.chunkerKey;
      status = 'rebuilt';
    }
    // Segments the manifest does not name: an interrupted commit or compaction, or all of a damaged index. Their
    // vectors are kept (in memory, re-written when used) when the segment verifies on its own; then they are deleted.
    const salvaged = await this.salvageAndClean(damage !== undefined);
    if (damage) {
      this.generation = (manifest?.generation ?? this.generation) + 1;
      await this.writeCurrentManifest();
    }
    this.report = {
      status,
      ...(damage ? { reason: damage } : {}),
      salvagedVectors: salvaged,
      files: this.fileCount(),
      chunks: this.chunkCount(),
      ms: performance.now() - started,
    };
  }

  private async loadSegments(manifest: Manifest): Promise<void> {
    this.generation = manifest.generation;
    this.nextSegment = manifest.nextSegment;
    this.storedChunkerKey = manifest.chunkerKey;
    const records = new Map<string, FileRecordJson>();
    let sliceStart = performance.now();
    for (const seg of manifest.segments) {
      const number = segmentNumber(seg.name)!;
      if (number >= this.nextSegment) throw new IndexDamagedError(`segment ${seg.name} is newer than the manifest allows`);
      const data = await readSegment(this.storePath, seg.name, this.header, seg);
      /** Slot of each vector record of this segment, in order; -1 for a text already loaded from an earlier one. */
      const local: number[] = [];
      let lexicon = false;
      for (const r of segmentRecords(data, seg.name, this.dims)) {
        if (r.kind === RecordKind.Vector) {
          this.vectorRecordsOnDisk++;
          if (this.hashToSlot.has(r.hash)) local.push(-1);
          else {
            const slot = this.addStoredSlot(r.hash, r.vector);
            this.textSeg[slot] = number;
            this.textOff[slot] = r.textOffset;
            this.textLen[slot] = r.textBytes;
            local.push(slot);
          }
        } else if (r.kind === RecordKind.Lexicon) {
          lexicon = true;
          try {
            decodeLexicon(r.data, local.length, {
              length: (i, length) => {
                if (local[i]! >= 0) this.bm25.setLength(local[i]!, length);
              },
              term: (term, bytes, offset, count) => this.bm25.addPostings(term, bytes, offset, count, (i) => local[i]!),
            });
          } catch {
            throw new IndexDamagedError(`segment ${seg.name}: malformed lexicon`);
          }
        } else if (r.kind === RecordKind.File) {
          this.fileRecordsOnDisk++;
          records.set(r.file.uri, r.file);
        } else {
          this.fileRecordsOnDisk++;
          records.delete(r.uri);
        }
        if (performance.now() - sliceStart > BUSY_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
      if (local.length > 0 && !lexicon) throw new IndexDamagedError(`segment ${seg.name} has no lexicon`);
      this.segments.push(seg);
    }
    for (const rec of records.values()) {
      const chunks = rec.chunks.map((c) => {
        const slot = this.hashToSlot.get(c[4]);
        if (slot === undefined) throw new IndexDamagedError(`${rec.relPath} refers to a passage whose vector is missing`);
        return { startLine: c[0], startCharacter: c[1], endLine: c[2], endCharacter: c[3], slot };
      });
      const doc: DocState = {
        uri: rec.uri,
        relPath: rec.relPath,
        size: rec.size,
        mtime: rec.mtime,
        ...(rec.contentHash ? { contentHash: rec.contentHash } : {}),
        ...(rec.skip ? { skip: rec.skip } : {}),
        chunks,
        overlay: false,
      };
      this.files.set(rec.uri, doc);
      this.attach(doc);
    }
  }

  private async salvageAndClean(all: boolean): Promise<number> {
    const live = new Set(this.segments.map((s) => s.name));
    let names: string[];
    try {
      names = await fs.promises.readdir(this.storePath);
    } catch {
      return 0;
    }
    let salvaged = 0;
    let highest = 0;
    for (const name of names.sort()) {
      const number = segmentNumber(name);
      if (number !== undefined) highest = Math.max(highest, number);
      if (name.endsWith('.tmp')) {
        await fs.promises.rm(path.join(this.storePath, name), { force: true });
        continue;
      }
      if (number === undefined || (live.has(name) && !all)) continue;
      try {
        const data = await readSegment(this.storePath, name, this.header, undefined);
        for (const r of segmentRecords(data, name, this.dims)) {
          if (r.kind !== RecordKind.Vector || this.hashToSlot.has(r.hash)) continue;
          // Content-addressed: keep the vector only if its text really has that hash.
          const text = r.text();
          if (createHash('sha256').update(text).digest('hex').slice(0, 32) !== r.hash) continue;
          this.addSlot(r.hash, text, bytesAsFloats(r.vector), false);
          salvaged++;
        }
      } catch (e) {
        if (!(e instanceof IndexDamagedError)) throw e;
        this.log(`dropping ${name}: ${e.message}`);
      }
      await this.reader.forget(name);
      await fs.promises.rm(path.join(this.storePath, name), { force: true });
    }
    this.nextSegment = Math.max(this.nextSegment, highest + 1);
    return salvaged;
  }

  // ───────────────────────────── slots and documents ─────────────────────────────

  /** A new slot for a distinct text; `vector` is normalised on the way in. */
  private addSlot(hash: string, text: string, vector: Float32Array, normalise = true): number {
    const existing = this.hashToSlot.get(hash);
    if (existing !== undefined) return existing;
    let v: ArrayLike<number> = vector;
    if (normalise) {
      let norm = 0;
      for (let d = 0; d < this.dims; d++) norm += vector[d]! * vector[d]!;
      const scale = norm > 0 && Number.isFinite(norm) ? 1 / Math.sqrt(norm) : 0;
      const copy = new Float32Array(this.dims);
      for (let d = 0; d < this.dims; d++) copy[d] = vector[d]! * scale;
      v = copy;
    }
    const slot = this.vectors.add(v);
    this.bm25.add(slot, text);
    this.registerSlot(slot, hash);
    this.textMem[slot] = text;
    return slot;
  }

  /** A slot loaded from disk: vector bytes as stored, BM25 statistics from the segment's lexicon, text left on disk. */
  private addStoredSlot(hash: string, vector: Uint8Array): number {
    const slot = this.vectors.addBytes(vector);
    this.bm25.addStored(slot, 0);
    this.registerSlot(slot, hash);
    this.textMem[slot] = undefined;
    return slot;
  }

  private registerSlot(slot: number, hash: string): void {
    this.hashToSlot.set(hash, slot);
    this.slotHash[slot] = hash;
    this.textSeg[slot] = -1;
    this.textOff[slot] = 0;
    this.textLen[slot] = 0;
    this.occ[slot] = [];
    if (slot >= this.refs.length) {
      const refs = new Int32Array(this.refs.length * 2);
      refs.set(this.refs);
      this.refs = refs;
      const mask = new Uint8Array(this.mask.length * 2);
      mask.set(this.mask);
      this.mask = mask;
    }
  }

  /** Makes sure a reused slot can produce its text (after compaction dropped it from disk). */
  private reviveText(slot: number, text: string): void {
    if (this.textSeg[slot]! < 0 && this.textMem[slot] === undefined) this.textMem[slot] = text;
  }

  private attach(doc: DocState | undefined): void {
    if (!doc) return;
    doc.chunks.forEach((c, chunk) => {
      if (++this.refs[c.slot]! === 1) {
        this.mask[c.slot] = 1;
        this.bm25.setLive(c.slot, true);
      }
      this.occ[c.slot]!.push({ doc, chunk });
    });
  }

  private detach(doc: DocState | undefined): void {
    if (!doc) return;
    doc.chunks.forEach((c) => {
      const list = this.occ[c.slot]!;
      const i = list.findIndex((o) => o.doc === doc);
      if (i >= 0) list.splice(i, 1);
      if (--this.refs[c.slot]! === 0) {
        this.mask[c.slot] = 0;
        this.bm25.setLive(c.slot, false);
      }
    });
  }

  /** Replaces the stored state of a file (undefined deletes it); search sees it unless an overlay hides it. */
  private setFile(uri: string, doc: DocState | undefined): void {
    const old = this.files.get(uri);
    if (doc) this.files.set(uri, doc);
    else this.files.delete(uri);
    if (!this.overlays.has(uri)) {
      this.detach(old);
      this.attach(doc);
    }
    this.dirty.add(uri);
  }

  private fileCount(): number {
    let n = 0;
    for (const f of this.files.values()) if (!f.skip) n++;
    return n;
  }

  private chunkCount(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.chunks.length;
    return n;
  }

  // ───────────────────────────── updating ─────────────────────────────

  /**
   * Brings the index up to date with `source`, as a stream of progress events; returns a summary. Only files whose
   * size or mtime changed are read, only chunks whose text has no vector yet are embedded (in batches, one batch in
   * flight while the next files are read), and work is committed every `commitEveryChunks` chunks or
   * `commitEveryMs`, so a cancelled, failed or killed update keeps what it had committed and the next update resumes.
   * Aborting `signal` commits the finished files and rejects with the abort reason. Updates run one at a time.
   */
  async *update(source: FileSource, options: UpdateOptions = {}): AsyncGenerator<IndexProgress, UpdateSummary> {
    this.assertOpen();
    const release = await this.mutex.acquire();
    const run = new UpdateRun(options.signal);
    const signal = options.signal;
    try {
      yield run.progress('scanning');
      let entries: FileEntry[] = [];
      let deleted: string[];
      if (options.changes) {
        entries = [...(options.changes.changed ?? [])];
        deleted = [...(options.changes.deleted ?? [])];
      } else {
        const seen = new Set<string>();
        let lastYield = performance.now();
        for await (const item of source.list(signal)) {
          if (item.type === 'file') {
            if (seen.has(item.uri)) continue;
            seen.add(item.uri);
            entries.push({ uri: item.uri, relPath: item.relPath, size: item.size, mtime: item.mtime });
          } else if (item.type === 'skipped') {
            run.skipped.push({ relPath: item.relPath, ...(item.uri ? { uri: item.uri } : {}), reason: item.reason, ...(item.detail ? { detail: item.detail } : {}) });
          } else run.ignored++;
          if (performance.now() - lastYield > PROGRESS_EVERY_MS) {
            lastYield = performance.now();
            yield run.progress('scanning', `${entries.length} files found`);
          }
        }
        deleted = [...this.files.keys()].filter((uri) => !seen.has(uri));
      }
      signal?.throwIfAborted();
      run.filesTotal = entries.length;
      for (const uri of deleted) {
        const old = this.files.get(uri);
        if (!old) continue;
        if (old.contentHash) run.deletedContent.add(old.contentHash);
        this.setFile(uri, undefined);
        run.filesDeleted++;
      }
      yield run.progress('indexing');
      let lastYield = performance.now();
      let busySince = performance.now();
      for (const entry of entries) {
        signal?.throwIfAborted();
        await this.indexFile(source, entry, run);
        run.filesDone++;
        if (this.dirty.size > 0 && (run.embeddedSinceCommit >= this.commitEveryChunks || performance.now() - run.lastCommit > this.commitEveryMs)) {
          yield run.progress('committing');
          await this.commit(run);
        }
        if (performance.now() - lastYield > PROGRESS_EVERY_MS) {
          lastYield = performance.now();
          yield run.progress('indexing');
        }
        if (performance.now() - busySince > BUSY_SLICE_MS) {
          await yieldToEventLoop();
          busySince = performance.now();
        }
      }
      while (run.pending.size > 0) await this.launchBatch(run);
      await this.settleInflight(run);
      yield run.progress('committing');
      if (!options.changes && run.waiting.length === 0) this.storedChunkerKey = this.chunkerKey;
      await this.commit(run);
      if (this.needsCompaction()) {
        yield run.progress('compacting');
        await this.compactLocked();
      }
      yield run.progress('done');
      return run.summary();
    } finally {
      // Cancelled, failed or abandoned: keep every finished file (their vectors are in memory) for the next run.
      if (run.inflight) run.inflight.promise.catch(() => undefined);
      run.inflight = undefined;
      try {
        await this.commit(run);
      } catch (e) {
        this.log(`could not save the index: ${(e as Error).message}`);
      }
      release();
    }
  }

  private async indexFile(source: FileSource, entry: FileEntry, run: UpdateRun): Promise<void> {
    const existing = this.files.get(entry.uri);
    const rechunk = this.storedChunkerKey !== this.chunkerKey;
    if (existing && !rechunk && existing.size === entry.size && existing.mtime === entry.mtime && existing.relPath === entry.relPath) {
      run.filesUnchanged++;
      if (existing.skip) run.skipped.push({ relPath: entry.relPath, uri: entry.uri, reason: existing.skip.reason, ...(existing.skip.detail ? { detail: existing.skip.detail } : {}) });
      return;
    }
    const skip = (reason: SkippedFile['reason'], detail: string, keep?: DocState): void => {
      run.skipped.push({ relPath: entry.relPath, uri: entry.uri, reason, detail });
      if (keep) this.setFile(entry.uri, keep);
      else if (existing) this.setFile(entry.uri, undefined);
    };
    if (entry.size > this.maxFileBytes) return skip('tooLarge', `${formatBytes(entry.size)} > ${formatBytes(this.maxFileBytes)}`);
    let bytes: Uint8Array;
    try {
      bytes = await withTimeout(source.read(entry.uri, run.signal), this.readTimeoutMs, `reading took longer than ${this.readTimeoutMs} ms`);
    } catch (e) {
      run.signal?.throwIfAborted();
      return skip('unreadable', (e as Error).message ?? String(e));
    }
    if (bytes.length > this.maxFileBytes) return skip('tooLarge', `more than ${formatBytes(this.maxFileBytes)}`);
    const decoded = decodeText(bytes);
    const base = { uri: entry.uri, relPath: entry.relPath, size: entry.size, mtime: entry.mtime, overlay: false };
    if ('binary' in decoded) {
      return skip('binary', decoded.detail, { ...base, skip: { reason: 'binary', detail: decoded.detail }, chunks: [] });
    }
    const text = decoded.text;
    const contentHash = createHash('sha256').update(text).digest('hex').slice(0, 32);
    if (existing && !rechunk && !run.signal?.aborted && existing.contentHash === contentHash && !existing.skip) {
      // Touched but not changed (or renamed in place): new metadata, same chunks.
      this.setFile(entry.uri, { ...existing, ...base, contentHash, chunks: existing.chunks });
      run.filesUnchanged++;
      return;
    }
    if (run.deletedContent.has(contentHash)) run.filesRenamed++;
    let symbols: readonly SymbolRange[] | undefined;
    try {
      symbols = await source.symbols?.(entry.uri, text, run.signal);
    } catch {
      symbols = undefined;
    }
    const fitted = await this.chunkToFit({ uri: entry.uri, relPath: entry.relPath, text, ...(symbols ? { symbols } : {}) }, run.signal);
    const chunks = fitted.chunks;
    run.passagesSplit += fitted.split;
    run.filesIndexed++;
    for (const c of chunks) {
      const slot = this.hashToSlot.get(c.hash);
      if (slot !== undefined) {
        this.reviveText(slot, storedPassage(c.context, c.text));
        run.chunksReused++;
      } else if (!run.queued.has(c.hash)) {
        run.queued.add(c.hash);
        run.pending.set(c.hash, storedPassage(c.context, c.text));
      } else run.chunksReused++;
    }
    run.waiting.push({ entry, contentHash, chunks });
    this.applyReady(run);
    if (run.pending.size >= this.batchSize) await this.launchBatch(run);
  }

  /**
   * Passages of a document, each within the model's limit by its own tokenizer when the embedder can count (see
   * tokenFit.ts): the chunker's estimate decides the cuts, exact counts split whatever would still be cut.
   */
  private async chunkToFit(input: ChunkInput, signal?: AbortSignal): Promise<{ chunks: Chunk[]; split: number }> {
    const chunks = chunkDocument(input, this.chunkerOptions);
    const count = this.embedder.inputTokenCounts?.bind(this.embedder);
    if (!count || chunks.length === 0) return { chunks, split: 0 };
    return fitChunks(input.text, chunks, this.embedder.maxTokens, count, signal);
  }

  /** Sends the next batch of pending texts to the embedder, after taking in the previous batch's vectors. */
  private async launchBatch(run: UpdateRun): Promise<void> {
    const hashes: string[] = [];
    const texts: string[] = [];
    for (const [hash, text] of run.pending) {
      hashes.push(hash);
      texts.push(text);
      run.pending.delete(hash);
      if (hashes.length >= this.batchSize) break;
    }
    await this.settleInflight(run);
    run.signal?.throwIfAborted();
    const promise = this.embedder.embed(texts.map(modelInput), run.signal);
    // Awaited later; a rejection while the next files are read must not count as unhandled.
    promise.catch(() => undefined);
    run.inflight = { hashes, texts, promise };
  }

  private async settleInflight(run: UpdateRun): Promise<void> {
    const batch = run.inflight;
    if (!batch) return;
    let vectors: Float32Array;
    try {
      vectors = await batch.promise;
    } finally {
      run.inflight = undefined;
    }
    this.checkVectors(vectors, batch.texts.length);
    batch.hashes.forEach((hash, i) => {
      this.addSlot(hash, batch.texts[i]!, vectors.subarray(i * this.dims, (i + 1) * this.dims));
      run.queued.delete(hash);
    });
    run.chunksEmbedded += batch.hashes.length;
    run.embeddedSinceCommit += batch.hashes.length;
    this.embeddedTotal += batch.hashes.length;
    this.applyReady(run);
  }

  private checkVectors(vectors: Float32Array, count: number): void {
    if (!(vectors instanceof Float32Array) || vectors.length !== count * this.dims) {
      throw new Error(`the embedder ${this.modelKey} returned ${vectors?.length} values for ${count} texts of ${this.dims} dimensions`);
    }
  }

  /** Applies, in order, every waiting document whose chunks all have vectors now. */
  private applyReady(run: UpdateRun): void {
    let kept = 0;
    for (const doc of run.waiting) {
      if (doc.chunks.every((c) => this.hashToSlot.has(c.hash))) {
        const chunks = doc.chunks.map((c) => ({
          startLine: c.startLine,
          startCharacter: c.startCharacter,
          endLine: c.endLine,
          endCharacter: c.endCharacter,
          slot: this.hashToSlot.get(c.hash)!,
        }));
        for (const c of doc.chunks) this.reviveText(this.hashToSlot.get(c.hash)!, storedPassage(c.context, c.text));
        const { uri, relPath, size, mtime } = doc.entry;
        this.setFile(uri, { uri, relPath, size, mtime, contentHash: doc.contentHash, chunks, overlay: false });
      } else run.waiting[kept++] = doc;
    }
    run.waiting.length = kept;
  }

  /** Moves documents without reading or embedding anything (VS Code's onDidRenameFiles). */
  async renameFiles(renames: readonly { readonly oldUri: string; readonly newUri: string; readonly newRelPath: string }[]): Promise<number> {
    this.assertOpen();
    const release = await this.mutex.acquire();
    try {
      let moved = 0;
      for (const r of renames) {
        const doc = this.files.get(r.oldUri);
        if (!doc) continue;
        this.setFile(r.oldUri, undefined);
        this.setFile(r.newUri, { ...doc, uri: r.newUri, relPath: r.newRelPath });
        moved++;
      }
      await this.commit(undefined);
      return moved;
    } finally {
      release();
    }
  }

  // ───────────────────────────── committing ─────────────────────────────

  /** Writes a segment with every dirty document (and vectors not yet on disk), then switches the manifest to it. */
  private async commit(run: UpdateRun | undefined): Promise<void> {
    if (this.dirty.size === 0) return;
    const number = this.nextSegment;
    const name = segmentName(number);
    const uris = [...this.dirty];
    const writer = await SegmentWriter.create(this.storePath, name, this.header);
    const located: { slot: number; offset: number; bytes: number }[] = [];
    const inSegment = new Set<number>();
    const lexicon = new LexiconBuilder();
    let ref: SegmentRef;
    let vectorRecords = 0;
    let sliceStart = performance.now();
    try {
      for (const uri of uris) {
        if (performance.now() - sliceStart > BUSY_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
        const doc = this.files.get(uri);
        if (!doc) {
          await writer.addJson(RecordKind.Delete, { uri });
          continue;
        }
        for (const c of doc.chunks) {
          if (this.textSeg[c.slot]! >= 0 || inSegment.has(c.slot)) continue;
          const text = this.textMem[c.slot];
          if (text === undefined) throw new Error(`internal: text of passage ${c.slot} is neither in memory nor on disk`);
          const loc = await writer.addVector(this.slotHash[c.slot]!, this.vectors.get(c.slot), text);
          located.push({ slot: c.slot, ...loc });
          lexicon.add(text);
          inSegment.add(c.slot);
          vectorRecords++;
          if (performance.now() - sliceStart > BUSY_SLICE_MS) {
            await yieldToEventLoop();
            sliceStart = performance.now();
          }
        }
        await writer.addJson(RecordKind.File, this.toRecord(doc));
      }
      if (lexicon.size > 0) await writer.addLexicon(lexicon.encode());
      ref = await writer.commit();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    const previous = this.segments;
    this.segments = [...previous, ref];
    this.nextSegment = number + 1;
    this.generation++;
    try {
      await this.writeCurrentManifest();
    } catch (e) {
      this.segments = previous;
      this.generation--;
      await fs.promises.rm(path.join(this.storePath, name), { force: true });
      throw e;
    }
    for (const l of located) {
      this.textSeg[l.slot] = number;
      this.textOff[l.slot] = l.offset;
      this.textLen[l.slot] = l.bytes;
      this.textMem[l.slot] = undefined;
    }
    for (const uri of uris) this.dirty.delete(uri);
    this.vectorRecordsOnDisk += vectorRecords;
    this.fileRecordsOnDisk += uris.length;
    if (run) {
      run.commits++;
      run.embeddedSinceCommit = 0;
      run.lastCommit = performance.now();
    }
  }

  private toRecord(doc: DocState): FileRecordJson {
    return {
      uri: doc.uri,
      relPath: doc.relPath,
      size: doc.size,
      mtime: doc.mtime,
      ...(doc.contentHash ? { contentHash: doc.contentHash } : {}),
      ...(doc.skip ? { skip: doc.skip } : {}),
      chunks: doc.chunks.map((c): ChunkRecord => [c.startLine, c.startCharacter, c.endLine, c.endCharacter, this.slotHash[c.slot]!]),
    };
  }

  private async writeCurrentManifest(): Promise<void> {
    await writeManifest(this.storePath, {
      format: FORMAT,
      schema: SCHEMA_VERSION,
      modelKey: this.modelKey,
      dims: this.dims,
      chunkerKey: this.storedChunkerKey,
      generation: this.generation,
      nextSegment: this.nextSegment,
      segments: this.segments,
    });
  }

  private liveDiskSlots(): Set<number> {
    const live = new Set<number>();
    for (const f of this.files.values()) for (const c of f.chunks) live.add(c.slot);
    return live;
  }

  private needsCompaction(): boolean {
    const total = this.vectorRecordsOnDisk + this.fileRecordsOnDisk;
    const live = this.liveDiskSlots().size + this.files.size;
    return this.segments.length > 64 || (total > 512 && (total - live) / total > 0.5);
  }

  /**
   * Rewrites the live records into fresh segments and switches the manifest to them, then deletes the old ones.
   * Updates do this by themselves when more than half of the stored records are dead.
   */
  async compact(): Promise<void> {
    this.assertOpen();
    const release = await this.mutex.acquire();
    try {
      await this.compactLocked();
    } finally {
      release();
    }
  }

  private async compactLocked(): Promise<void> {
    const old = this.segments;
    const written: { slot: number; segment: number; offset: number; bytes: number }[] = [];
    const refs: SegmentRef[] = [];
    const done = new Set<number>();
    let writer: SegmentWriter | undefined;
    let number = this.nextSegment;
    const files = [...this.files.values()];
    let lexicon = new LexiconBuilder();
    let sliceStart = performance.now();
    const finish = async (w: SegmentWriter): Promise<void> => {
      if (lexicon.size > 0) await w.addLexicon(lexicon.encode());
      lexicon = new LexiconBuilder();
      refs.push(await w.commit());
    };
    try {
      for (const doc of files) {
        if (!writer || writer.bytes > this.maxSegmentBytes) {
          if (writer) await finish(writer);
          number = this.nextSegment + refs.length;
          writer = await SegmentWriter.create(this.storePath, segmentName(number), this.header);
        }
        for (const c of doc.chunks) {
          if (done.has(c.slot)) continue;
          done.add(c.slot);
          const text = await this.textOf(c.slot);
          const loc = await writer.addVector(this.slotHash[c.slot]!, this.vectors.get(c.slot), text);
          lexicon.add(text);
          written.push({ slot: c.slot, segment: number, ...loc });
          if (performance.now() - sliceStart > BUSY_SLICE_MS) {
            await yieldToEventLoop();
            sliceStart = performance.now();
          }
        }
        await writer.addJson(RecordKind.File, this.toRecord(doc));
      }
      if (writer) await finish(writer);
    } catch (e) {
      await writer?.abort();
      for (const r of refs) await fs.promises.rm(path.join(this.storePath, r.name), { force: true });
      throw e;
    }
    // Texts still visible (overlays) whose only copy is in an old segment move to memory first.
    for (let slot = 0; slot < this.slotHash.length; slot++) {
      if (!done.has(slot) && this.textSeg[slot]! >= 0 && this.refs[slot]! > 0) this.textMem[slot] = await this.textOf(slot);
    }
    this.segments = refs;
    this.nextSegment = this.nextSegment + Math.max(refs.length, 1);
    this.generation++;
    try {
      await this.writeCurrentManifest();
    } catch (e) {
      this.segments = old;
      for (const r of refs) await fs.promises.rm(path.join(this.storePath, r.name), { force: true });
      throw e;
    }
    for (let slot = 0; slot < this.slotHash.length; slot++) {
      if (!done.has(slot)) {
        this.textSeg[slot] = -1;
        if (this.refs[slot] === 0) this.textMem[slot] = undefined;
      }
    }
    for (const w of written) {
      this.textSeg[w.slot] = w.segment;
      this.textOff[w.slot] = w.offset;
      this.textLen[w.slot] = w.bytes;
      this.textMem[w.slot] = undefined;
    }
    this.vectorRecordsOnDisk = written.length;
    this.fileRecordsOnDisk = files.length;
    this.dirty.clear();
    for (const s of old) {
      await this.reader.forget(s.name);
      await fs.promises.rm(path.join(this.storePath, s.name), { force: true });
    }
  }

  // ───────────────────────────── overlays ─────────────────────────────

  /**
   * Queues unsaved contents of `doc.uri` to replace its stored version in search (never persisted). Cheap: the text is
   * chunked and its new passages embedded by {@link applyOverlays}; until then search answers from what it has.
   * Contents over `maxFileBytes` or that are not text are refused (and an earlier overlay of the document dropped),
   * as a saved file would be.
   */
  setOverlay(doc: OverlayDocument): OverlaySkip | undefined {
    this.assertOpen();
    const skip = this.overlaySkip(doc.text);
    if (skip) {
      this.clearOverlay(doc.uri);
      return skip;
    }
    // Deleted first so that a document edited again goes to the back of the queue.
    this.pendingOverlays.delete(doc.uri);
    this.pendingOverlays.set(doc.uri, { doc });
    return undefined;
  }

  private overlaySkip(text: string): OverlaySkip | undefined {
    // A UTF-16 code unit takes at least one UTF-8 byte: a text longer than the limit in units is over it in bytes.
    const bytes = text.length > this.maxFileBytes ? text.length : Buffer.byteLength(text, 'utf8');
    if (bytes > this.maxFileBytes) return { reason: 'tooLarge', detail: `${text.length > this.maxFileBytes ? 'at least ' : ''}${formatBytes(bytes)} > ${formatBytes(this.maxFileBytes)}` };
    const binary = binaryTextReason(text);
    return binary ? { reason: 'binary', detail: binary } : undefined;
  }

  /** Back to the stored version of `uri` (e.g. when the editor is saved or closed). */
  clearOverlay(uri: string): void {
    this.pendingOverlays.delete(uri);
    const overlay = this.overlays.get(uri);
    if (!overlay) return;
    this.detach(overlay);
    this.overlays.delete(uri);
    this.attach(this.files.get(uri));
  }

  /** Unsaved documents set by {@link setOverlay} and not yet searchable. */
  get pendingOverlayCount(): number {
    return this.pendingOverlays.size;
  }

  /**
   * Makes the queued unsaved contents searchable, one document at a time, each as soon as its new passages have
   * vectors; documents queued meanwhile are taken too. Aborting `signal` rejects and keeps the work done: vectors
   * embedded so far and the chunks of the document in progress are reused by the next call. Resolves with the number
   * of documents applied. Calls run one at a time.
   */
  async applyOverlays(signal?: AbortSignal): Promise<number> {
    this.assertOpen();
    const release = await this.overlayMutex.acquire();
    let applied = 0;
    try {
      for (;;) {
        signal?.throwIfAborted();
        if (this.closed) return applied;
        const next = this.pendingOverlays.entries().next();
        if (next.done) return applied;
        const [uri, entry] = next.value;
        const { doc } = entry;
        entry.chunks ??= (
          await this.chunkToFit(
            { uri: doc.uri, relPath: doc.relPath, text: doc.text, ...(doc.languageId ? { languageId: doc.languageId } : {}), ...(doc.symbols ? { symbols: doc.symbols } : {}) },
            signal,
          )
        ).chunks;
        const chunks = entry.chunks;
        const missing = new Map<string, string>();
        for (const c of chunks) if (!this.hashToSlot.has(c.hash)) missing.set(c.hash, storedPassage(c.context, c.text));
        const hashes = [...missing.keys()];
        for (let i = 0; i < hashes.length && this.pendingOverlays.get(uri) === entry; i += this.batchSize) {
          // An update running beside this one may have embedded some of them meanwhile.
          const batch = hashes.slice(i, i + this.batchSize).filter((h) => !this.hashToSlot.has(h));
          if (batch.length === 0) continue;
          const texts = batch.map((h) => missing.get(h)!);
          const vectors = await this.embedder.embed(texts.map(modelInput), signal);
          this.checkVectors(vectors, texts.length);
          batch.forEach((h, j) => this.addSlot(h, texts[j]!, vectors.subarray(j * this.dims, (j + 1) * this.dims)));
          this.embeddedTotal += batch.length;
        }
        if (this.closed) return applied;
        if (this.pendingOverlays.get(uri) !== entry) continue; // replaced or cleared meanwhile: its vectors stay cached
        this.pendingOverlays.delete(uri);
        for (const c of chunks) this.reviveText(this.hashToSlot.get(c.hash)!, storedPassage(c.context, c.text));
        const state: DocState = {
          uri: doc.uri,
          relPath: doc.relPath,
          size: doc.text.length,
          mtime: 0,
          chunks: chunks.map((c) => ({
            startLine: c.startLine,
            startCharacter: c.startCharacter,
            endLine: c.endLine,
            endCharacter: c.endCharacter,
            slot: this.hashToSlot.get(c.hash)!,
          })),
          overlay: true,
        };
        this.detach(this.overlays.get(doc.uri) ?? this.files.get(doc.uri));
        this.overlays.set(doc.uri, state);
        this.attach(state);
        applied++;
        await yieldToEventLoop();
      }
    } finally {
      release();
    }
  }

  // ───────────────────────────── searching ─────────────────────────────

  /**
   * The best passages for `query`. `hybrid` combines the normalised BM25 and cosine scores ({@link weightedScoreFusion}); `vector`
   * ranks by cosine similarity; `lexical` by BM25. Each result says why it matched (query terms with their offsets in
   * the text, lexical and vector ranks, similarity). Vector scoring yields to the event loop every few milliseconds;
   * aborting `signal` rejects with an AbortError (a newer query should abort the older one). Unsaved contents count
   * once {@link applyOverlays} has taken them in (see {@link pendingOverlayCount}); search never embeds them itself.
   */
  async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    this.assertOpen();
    const { signal, filter } = options;
    const mode = options.mode ?? 'hybrid';
    const k = Math.max(0, options.k ?? 10);
    const candidates = Math.max(k, options.candidates ?? Math.max(100, 5 * k));
    signal?.throwIfAborted();
    const terms = queryTerms(query);
    const accept = filter ? (slot: number) => this.occ[slot]!.some((o) => filter(o.doc.relPath, o.doc.uri)) : undefined;

    let lexical: Scored[] = [];
    let vector: Scored[] = [];
    let queryVector: Float32Array | undefined;
    if (mode !== 'vector' && terms.length > 0) lexical = this.bm25.search(terms, candidates, accept);
    if (mode !== 'lexical' && query.trim() !== '') {
      queryVector = await this.embedQuery(query, signal);
      vector = await this.vectors.search(queryVector, candidates, { mask: this.mask, ...(accept ? { accept } : {}), ...(signal ? { signal } : {}) });
    }
    signal?.throwIfAborted();

    const lexicalRank = new Map(lexical.map((s, i) => [s.doc, { rank: i + 1, score: s.score }]));
    const vectorRank = new Map(vector.map((s, i) => [s.doc, { rank: i + 1, score: s.score }]));
    let ranked: { slot: number; score: number }[];
    if (mode === 'lexical') ranked = lexical.map((s) => ({ slot: s.doc, score: s.score }));
    else if (mode === 'vector') ranked = vector.map((s) => ({ slot: s.doc, score: s.score }));
    else {
      const qv = queryVector;
      const similarity = (slot: number): number => (qv ? this.vectors.dot(slot, qv) : 0);
      const ids = (list: Scored[]): ScoredIds[] => list.map((s) => ({ id: s.doc, score: s.score }));
      ranked = weightedScoreFusion(ids(lexical), ids(vector), options.lexicalWeight ?? DEFAULT_LEXICAL_WEIGHT, similarity)
        .map((f) => ({ slot: f.id, score: f.score * this.uniqueness(f.id) }))
        .sort((a, b) => b.score - a.score);
    }

    const picked: { slot: number; score: number; occurrence: Occurrence }[] = [];
    for (const r of ranked) {
      if (picked.length >= k) break;
      const occurrences = [...this.occ[r.slot]!].sort((a, b) => (a.doc.relPath < b.doc.relPath ? -1 : a.doc.relPath > b.doc.relPath ? 1 : a.chunk - b.chunk));
      for (const o of occurrences) {
        if (picked.length >= k) break;
        if (filter && !filter(o.doc.relPath, o.doc.uri)) continue;
        picked.push({ ...r, occurrence: o });
      }
    }
    const termSet = new Set(terms);
    const idf = new Map(terms.map((t) => [t, this.bm25.idf(t)]));
    const results: SearchResult[] = [];
    for (const p of picked) {
      const stored = await this.textOf(p.slot);
      const text = shownText(stored);
      const context = contextOf(stored);
      const matches = tokenize(text).filter((t) => termSet.has(t.term));
      const matched = terms.filter((t) => matches.some((m) => m.term === t));
      const lex = lexicalRank.get(p.slot);
      const vec = vectorRank.get(p.slot);
      const lexicalScore = lex?.score ?? (matches.length > 0 ? this.bm25Score(p.slot, matches, idf) : undefined);
      const { doc, chunk } = p.occurrence;
      const range = doc.chunks[chunk]!;
      results.push({
        uri: doc.uri,
        relPath: doc.relPath,
        startLine: range.startLine,
        startCharacter: range.startCharacter,
        endLine: range.endLine,
        endCharacter: range.endCharacter,
        score: p.score,
        text,
        ...(context !== '' ? { context } : {}),
        fromOverlay: doc.overlay,
        why: {
          matchedTerms: matched,
          matches,
          ...(lex ? { lexicalRank: lex.rank } : {}),
          ...(lexicalScore !== undefined ? { lexicalScore } : {}),
          ...(vec ? { vectorRank: vec.rank } : {}),
          ...(queryVector ? this.similarityOf(p.slot, queryVector) : {}),
        },
      });
    }
    return results;
  }

  private similarityOf(slot: number, queryVector: Float32Array): { similarity: number; weakMatch?: true } {
    const similarity = this.vectors.dot(slot, queryVector);
    const floor = this.embedder.weakMatchBelow;
    return floor !== undefined && similarity < floor ? { similarity, weakMatch: true } : { similarity };
  }

  /**
   * 1 for a passage found once, less for text repeated in many places (licence headers, banners, generated code),
   * as IDF does for words: 1 / (1 + ln n) for n occurrences.
   */
  private uniqueness(slot: number): number {
    return 1 / (1 + Math.log(Math.max(1, this.occ[slot]!.length)));
  }

  private bm25Score(slot: number, matches: readonly { term: string }[], idf: Map<string, number>): number {
    const tf = new Map<string, number>();
    for (const m of matches) tf.set(m.term, (tf.get(m.term) ?? 0) + 1);
    const { k1, b } = this.bm25;
    const avgdl = this.bm25.averageLength || 1;
    let score = 0;
    for (const [term, f] of tf) {
      score += (idf.get(term)! * f * (k1 + 1)) / (f + k1 * (1 - b + (b * this.bm25.length(slot)) / avgdl));
    }
    return score;
  }

  private async embedQuery(query: string, signal: AbortSignal | undefined): Promise<Float32Array> {
    const raw = this.embedder.embedQuery ? await this.embedder.embedQuery(query, signal) : await this.embedder.embed([query], signal);
    this.checkVectors(raw, 1);
    let norm = 0;
    for (let d = 0; d < this.dims; d++) norm += raw[d]! * raw[d]!;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    return raw.map((x) => x * scale);
  }

  private async textOf(slot: number): Promise<string> {
    const mem = this.textMem[slot];
    if (mem !== undefined) return mem;
    const seg = this.textSeg[slot]!;
    if (seg < 0) return '';
    return this.reader.read(segmentName(seg), this.textOff[slot]!, this.textLen[slot]!);
  }

  // ───────────────────────────── misc ─────────────────────────────

  stats(): IndexStats {
    let liveTexts = 0;
    for (let slot = 0; slot < this.slotHash.length; slot++) if (this.refs[slot]! > 0) liveTexts++;
    return {
      files: this.fileCount(),
      chunks: this.chunkCount(),
      liveTexts,
      vectors: this.vectors.size,
      overlays: this.overlays.size + this.pendingOverlays.size,
      overlaysPending: this.pendingOverlays.size,
      segments: this.segments.length,
      generation: this.generation,
      chunksEmbedded: this.embeddedTotal,
      simd: this.vectors.simd,
      quantized: this.vectors.usesQuantization,
      vectorMemoryBytes: this.vectors.bytes,
      storePath: this.storePath,
    };
  }

  /** Paths and chunk ranges of the stored (not overlay) documents, sorted by path: for tests and diagnostics. */
  documents(): { uri: string; relPath: string; chunks: TextRange[]; skipped?: string }[] {
    return [...this.files.values()]
      .sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0))
      .map((d) => ({
        uri: d.uri,
        relPath: d.relPath,
        chunks: d.chunks.map(({ startLine, startCharacter, endLine, endCharacter }) => ({ startLine, startCharacter, endLine, endCharacter })),
        ...(d.skip ? { skipped: d.skip.reason } : {}),
      }));
  }

  /** Waits for a running update to finish, closes files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const release = await this.mutex.acquire();
    try {
      await this.reader.close();
      await this.releaseLock?.();
      this.releaseLock = undefined;
    } finally {
      release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the index has been closed');
  }
}

/** Drains an update, passing each progress event to `onProgress`; resolves with its summary. */
export async function runUpdate(updates: AsyncGenerator<IndexProgress, UpdateSummary>, onProgress?: (p: IndexProgress) => void): Promise<UpdateSummary> {
  for (;;) {
    const r = await updates.next();
    if (r.done) return r.value;
    onProgress?.(r.value);
  }
}

/** A copy of little-endian float32 bytes (a Node Buffer may sit unaligned inside a shared pool). */
function bytesAsFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
