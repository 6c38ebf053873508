import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ExcludeMatcher, GitignoreRules } from './globs';
import { formatBytes } from './textFiles';
import type { FileSource, ListedItem } from './types';

/** Folders and files VS Code leaves out by default (`files.exclude` ∪ `search.exclude`); the CLI's default. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '**/.git',
  '**/.svn',
  '**/.hg',
  '**/CVS',
  '**/.DS_Store',
  '**/Thumbs.db',
  '**/node_modules',
  '**/bower_components',
  '**/*.code-search',
];

/** Default largest file indexed: 1 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** Largest value `bertLens.search.maxFileSize` may take: a workspace setting cannot make the indexer read more. */
export const MAX_FILE_BYTES_CEILING = 16 * 1024 * 1024;

export interface NodeFileSourceOptions {
  /** VS Code globs matched against paths relative to the root (e.g. `**\/dist`). Default {@link DEFAULT_EXCLUDES}. */
  readonly excludeGlobs?: readonly string[];
  /** Files larger than this are skipped and reported. Default {@link DEFAULT_MAX_FILE_BYTES}. */
  readonly maxFileBytes?: number;
  /** Honour .gitignore files (every folder's, and .git/info/exclude). Default true. */
  readonly gitignore?: boolean;
  /** Index files that links inside the folder point to outside it. Default false: such links are reported, not read. */
  readonly followExternalLinks?: boolean;
}

/** Why a link to a file outside the folder is skipped. */
export const EXTERNAL_LINK_DETAIL = 'link to a file outside the folder (not followed)';

/** Whether the real path `target` lies inside (or is) the real folder `root`. */
export function isInsideFolder(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const STAT_CONCURRENCY = 32;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/**
 * The files under a local folder, for the CLI (the extension lists through VS Code's workspace.fs instead).
 * Honours nested .gitignore files and exclude globs; reports (never opens) FIFOs, sockets and devices; reports
 * files over the size limit, unreadable folders and dangling links; does not follow links to folders.
 * URIs are `file://` URLs; `relPath` is `/`-separated and relative to `rootDir`.
 */
export class NodeFileSource implements FileSource {
  readonly rootDir: string;
  readonly maxFileBytes: number;
  private readonly excludes: ExcludeMatcher;
  private readonly gitignore: boolean;
  private readonly followExternalLinks: boolean;
  private rootReal: Promise<string> | undefined;

  constructor(rootDir: string, options: NodeFileSourceOptions = {}) {
    this.rootDir = path.resolve(rootDir);
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.excludes = new ExcludeMatcher(options.excludeGlobs ?? DEFAULT_EXCLUDES);
    this.gitignore = options.gitignore ?? true;
    this.followExternalLinks = options.followExternalLinks ?? false;
  }

  /** Whether the link at `abs` points outside the folder (a link that cannot be resolved counts as outside). */
  private async pointsOutside(abs: string): Promise<boolean> {
    this.rootReal ??= fs.promises.realpath(this.rootDir).catch(() => this.rootDir);
    const [root, target] = await Promise.all([this.rootReal, fs.promises.realpath(abs).catch(() => undefined)]);
    return target === undefined || !isInsideFolder(root, target);
  }

  uriOf(relPath: string): string {
    return pathToFileURL(path.join(this.rootDir, ...relPath.split('/'))).href;
  }

  async *list(signal?: AbortSignal): AsyncGenerator<ListedItem> {
    let rootRules = GitignoreRules.none;
    if (this.gitignore) {
      const info = await readSmallTextFile(path.join(this.rootDir, '.git', 'info', 'exclude'));
      if (info !== undefined) rootRules = rootRules.with('', info);
    }
    const stack: { abs: string; rel: string; rules: GitignoreRules }[] = [{ abs: this.rootDir, rel: '', rules: rootRules }];
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const dir = stack.pop()!;
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir.abs, { withFileTypes: true });
      } catch (e) {
        yield { type: 'skipped', relPath: dir.rel || '.', reason: 'unreadable', detail: errorDetail(e) };
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      let rules = dir.rules;
      if (this.gitignore && entries.some((e) => e.name === '.gitignore' && !e.isDirectory())) {
        const content = await readSmallTextFile(path.join(dir.abs, '.gitignore'));
        if (content !== undefined) rules = rules.with(dir.rel, content);
      }
      const subdirs: typeof stack = [];
      const files: { abs: string; rel: string; link: boolean }[] = [];
      for (const entry of entries) {
        const rel = dir.rel ? `${dir.rel}/${entry.name}` : entry.name;
        const abs = path.join(dir.abs, entry.name);
        const isDir = entry.isDirectory();
        if (this.excludes.matches(rel, isDir) || (isDir && entry.name === '.git')) {
          yield { type: 'ignored', relPath: rel, by: 'exclude' };
          continue;
        }
        if (rules.ignores(rel, isDir)) {
          yield { type: 'ignored', relPath: rel, by: 'gitignore' };
          continue;
        }
        if (isDir) subdirs.push({ abs, rel, rules });
        else if (entry.isFile() || entry.isSymbolicLink()) files.push({ abs, rel, link: entry.isSymbolicLink() });
        else yield { type: 'skipped', relPath: rel, uri: pathToFileURL(abs).href, reason: 'special', detail: specialKind(entry) };
      }
      for (let i = 0; i < files.length; i += STAT_CONCURRENCY) {
        signal?.throwIfAborted();
        const batch = files.slice(i, i + STAT_CONCURRENCY);
        const stats = await Promise.all(batch.map((f) => fs.promises.stat(f.abs).then((s) => s, (e: unknown) => e)));
        for (let j = 0; j < batch.length; j++) {
          const f = batch[j]!;
          const s = stats[j];
          const uri = pathToFileURL(f.abs).href;
          if (!(s instanceof fs.Stats)) {
            yield { type: 'skipped', relPath: f.rel, uri, reason: 'unreadable', detail: f.link ? `dangling link (${errorDetail(s)})` : errorDetail(s) };
          } else if (s.isDirectory()) {
            yield { type: 'skipped', relPath: f.rel, uri, reason: 'special', detail: 'link to a folder (not followed)' };
          } else if (!s.isFile()) {
            yield { type: 'skipped', relPath: f.rel, uri, reason: 'special', detail: 'not a regular file' };
          } else if (f.link && !this.followExternalLinks && (await this.pointsOutside(f.abs))) {
            yield { type: 'skipped', relPath: f.rel, uri, reason: 'special', detail: EXTERNAL_LINK_DETAIL };
          } else if (s.size > this.maxFileBytes) {
            yield { type: 'skipped', relPath: f.rel, uri, reason: 'tooLarge', detail: `${formatBytes(s.size)} > ${formatBytes(this.maxFileBytes)}` };
          } else {
            yield { type: 'file', uri, relPath: f.rel, size: s.size, mtime: Math.floor(s.mtimeMs) };
          }
        }
      }
      // Depth-first, in name order: push in reverse so the first name is visited first.
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
    }
  }

  /** Reads at most `maxFileBytes + 1` bytes of a regular file: see {@link readRegularFileBounded}. */
  async read(uri: string, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const bytes = await readRegularFileBounded(fileURLToPath(uri), this.maxFileBytes);
    signal?.throwIfAborted();
    return bytes;
  }
}

/**
 * Reads at most `maxBytes + 1` bytes of `file` (so a file that grew past the limit is still caught, and a huge one
 * costs no more memory than the limit). Opens without blocking and refuses anything but a regular file, so a FIFO
 * put in a file's place cannot hang the indexer.
 */
export async function readRegularFileBounded(file: string, maxBytes: number): Promise<Uint8Array> {
  const handle = await fs.promises.open(file, fs.constants.O_RDONLY | O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    const limit = Math.min(st.size, maxBytes) + 1;
    const buffer = Buffer.allocUnsafe(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await handle.read(buffer, filled, limit - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

async function readSmallTextFile(file: string): Promise<string | undefined> {
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile() || st.size > 1024 * 1024) return undefined;
    return await fs.promises.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

function specialKind(entry: fs.Dirent): string {
  if (entry.isFIFO()) return 'named pipe (FIFO)';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'device';
  return 'not a regular file';
}

function errorDetail(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') {
    const message = 'message' in e && typeof e.message === 'string' ? e.message.split(',')[0] : '';
    return message ? `${e.code}: ${message.replace(/^[A-Z]+: /, '')}` : e.code;
  }
  return e instanceof Error ? e.message : String(e);
}
