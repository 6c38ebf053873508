/**
 * Summaries by content hash, in memory and in one JSON file (the extension's global storage), so a hover on
 * unchanged code answers at once, also after a restart. The file is written whole under a temporary name and
 * renamed into place, a short while after the last change; a file that cannot be read or parsed is ignored and
 * damaged entries are left out, and the file is then written again from what is good. Least recently used entries
 * go first when the cache is full. No `vscode` import.
 */
import { removeStaleTemps, writeFileAtomic } from '../../core/atomicFile';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import type { SummaryMode } from '../../protocol/summaryView';

/** One cached summary. */
export interface CachedSummary {
  readonly text: string;
  readonly mode: SummaryMode;
  /** Model reference that produced it. */
  readonly model: string;
  /** A short remark shown with it (e.g. why it is extractive). */
  readonly note?: string;
  /** True when `text` is lines of code (an extractive summary of code without comments). */
  readonly code?: boolean;
}

export interface SummaryCacheOptions {
  /** Most entries kept (memory and file). Default 5000. */
  readonly maxEntries?: number;
  /** Milliseconds between the last change and the write. Default 1000. */
  readonly saveDelayMs?: number;
  readonly log?: (message: string) => void;
}

/** Bump when the meaning of keys or entries changes: older files are then ignored. */
export const SUMMARY_CACHE_VERSION = 1;

interface CacheFile {
  readonly version: number;
  /** Oldest use first. */
  readonly entries: readonly (readonly [string, CachedSummary])[];
}

export class SummaryCache {
  private readonly entries = new Map<string, CachedSummary>();
  private loaded: Promise<void> | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly maxEntries: number;
  /** Why the file was not used at load, if it was not (read by tests). */
  loadProblem: string | undefined;
  /** Completed writes (read by tests). */
  writes = 0;

  /** `file` undefined: memory only. */
  constructor(
    private readonly file: string | undefined,
    private readonly options: SummaryCacheOptions = {},
  ) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 5000);
  }

  /** The key of a summary: a SHA-256 of everything that decides it (mode, model, settings, text). */
  static key(...parts: readonly string[]): string {
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p).update('\u0000');
    return hash.digest('hex');
  }

  /**
   * Reads the file once; later calls wait for the same read. Entries set before it finishes win over the file's.
   * Never rejects: a file that cannot be used is reported in {@link loadProblem} and rebuilt by the next write.
   */
  load(): Promise<void> {
    this.loaded ??= this.read().catch((e: unknown) => this.problem(`it could not be loaded (${(e as Error)?.message ?? String(e)}); it will be rebuilt`));
    return this.loaded;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedSummary | undefined {
    const value = this.entries.get(key);
    if (value) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: CachedSummary): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    this.dirty = true;
    this.scheduleSave();
  }

  /** Writes pending changes now. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // A write before the file was read would replace its entries with the few set meanwhile: read it first.
    if (this.file) await this.load();
    if (!this.file || !this.dirty) return this.writing;
    this.dirty = false;
    const file = this.file;
    const body: CacheFile = { version: SUMMARY_CACHE_VERSION, entries: [...this.entries] };
    this.writing = this.writing.then(() => writeFileAtomic(file, JSON.stringify(body), { mkdir: true })).then(
      () => void this.writes++,
      (e: unknown) => this.options.log?.(`could not save the summary cache to ${file}: ${(e as Error).message}`),
    );
    return this.writing;
  }

  async dispose(): Promise<void> {
    await this.flush();
  }

  private scheduleSave(): void {
    if (!this.file || this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.options.saveDelayMs ?? 1000);
    this.timer.unref?.();
  }

  private async read(): Promise<void> {
    if (!this.file) return;
    await removeStaleTemps(this.file);
    let raw: string;
    try {
      raw = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.problem(`could not read it (${(e as Error).message})`);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      this.problem(`it is damaged (${(e as Error).message}); it will be rebuilt`);
      return;
    }
    if (!isCacheFile(parsed)) {
      this.problem('it has an unknown layout or version; it will be rebuilt');
      return;
    }
    const good = parsed.entries.filter(isEntry);
    const fresh = [...this.entries];
    this.entries.clear();
    for (const [key, value] of good) this.entries.set(key, value);
    for (const [key, value] of fresh) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    const bad = parsed.entries.length - good.length;
    if (bad > 0) this.problem(`${bad} of its ${parsed.entries.length} entries are damaged and were left out; it will be rebuilt`);
  }

  private problem(what: string): void {
    this.loadProblem = what;
    this.dirty = true;
    this.scheduleSave();
    this.options.log?.(`summary cache ${this.file}: ${what}`);
  }
}

function isCacheFile(v: unknown): v is CacheFile {
  return typeof v === 'object' && v !== null && (v as CacheFile).version === SUMMARY_CACHE_VERSION && Array.isArray((v as CacheFile).entries);
}

function isEntry(v: unknown): v is readonly [string, CachedSummary] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && isCachedSummary(v[1]);
}

function isCachedSummary(v: unknown): v is CachedSummary {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.text === 'string' &&
    (s.mode === 'abstractive' || s.mode === 'extractive') &&
    typeof s.model === 'string' &&
    (s.note === undefined || typeof s.note === 'string') &&
    (s.code === undefined || typeof s.code === 'boolean')
  );
}
