import type { FileSource, ListedItem, SymbolRange } from './types';

interface MemoryFile {
  bytes: Uint8Array;
  mtime: number;
  symbols?: readonly SymbolRange[];
}

/**
 * Documents held in memory, keyed by relative path; URIs are `mem:///<relPath>`. For tests, benchmarks and virtual
 * documents. `set` bumps the mtime so the index sees the change.
 */
export class MemoryFileSource implements FileSource {
  private readonly files = new Map<string, MemoryFile>();
  private clock = 1;
  /** URIs whose read rejects, to simulate I/O errors. */
  readonly failing = new Set<string>();
  /** Number of `read` calls so far. */
  reads = 0;

  constructor(files: Record<string, string | Uint8Array> = {}) {
    for (const [relPath, content] of Object.entries(files)) this.set(relPath, content);
  }

  static uriOf(relPath: string): string {
    return `mem:///${relPath}`;
  }

  set(relPath: string, content: string | Uint8Array, symbols?: readonly SymbolRange[]): void {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    this.files.set(relPath, { bytes, mtime: this.clock++, ...(symbols ? { symbols } : {}) });
  }

  delete(relPath: string): void {
    this.files.delete(relPath);
  }

  rename(from: string, to: string): void {
    const f = this.files.get(from);
    if (!f) throw new Error(`no file ${from}`);
    this.files.delete(from);
    this.files.set(to, f);
  }

  has(relPath: string): boolean {
    return this.files.has(relPath);
  }

  async *list(signal?: AbortSignal): AsyncGenerator<ListedItem> {
    for (const [relPath, f] of [...this.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
      signal?.throwIfAborted();
      yield { type: 'file', uri: MemoryFileSource.uriOf(relPath), relPath, size: f.bytes.length, mtime: f.mtime };
    }
  }

  async read(uri: string): Promise<Uint8Array> {
    this.reads++;
    if (this.failing.has(uri)) throw new Error(`EIO: simulated read failure of ${uri}`);
    const f = this.files.get(uri.replace(/^mem:\/\/\//, ''));
    if (!f) throw new Error(`ENOENT: ${uri}`);
    return f.bytes;
  }

  async symbols(uri: string): Promise<readonly SymbolRange[] | undefined> {
    return this.files.get(uri.replace(/^mem:\/\/\//, ''))?.symbols;
  }
}
