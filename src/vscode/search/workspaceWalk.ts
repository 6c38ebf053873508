/**
 * Listing a workspace folder for the index, without VS Code: the walk and the ignore decisions are written against a
 * small {@link WalkFileSystem} (URI strings in, names/kinds/sizes out), which the extension implements over
 * `vscode.workspace.fs` (workspaceFileSource.ts) and unit tests implement in memory.
 *
 * What is left out, in the order it is checked: `.git` folders; `files.exclude` and `search.exclude` globs (including
 * `{ "when": "$(basename).ts" }` sibling clauses); `.gitignore` files of the folder and its ancestors inside the
 * workspace folder, plus `.git/info/exclude` (when `search.useIgnoreFiles` is on). What is reported as skipped: files
 * over the size limit, links to folders (not followed), dangling links, special files, and folders or files that
 * could not be read or stat-ed. Binary files are caught later, when the index reads them.
 */
import { compileGlob, ExcludeMatcher, GitignoreRules, type PathPattern } from '../../core/search/globs';
import { formatBytes } from '../../core/search/textFiles';
import { EXTERNAL_LINK_DETAIL, isInsideFolder } from '../../core/search/nodeFileSource';
import type { FileEntry, ListedItem, SkippedFile } from '../../core/search/types';

/** What a folder entry is; links say what they point to. */
export type NodeKind = 'file' | 'directory' | 'fileLink' | 'directoryLink' | 'brokenLink' | 'other';

export interface NodeStat {
  readonly kind: NodeKind;
  /** Bytes. */
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly mtime: number;
}

/** The file system operations a walk needs, on URI strings. */
export interface WalkFileSystem {
  /** Entries of a folder as `[name, kind]`. Rejects when the folder cannot be read. */
  readDirectory(uri: string): Promise<readonly (readonly [string, NodeKind])[]>;
  /** Rejects when the entry does not exist or cannot be stat-ed. */
  stat(uri: string): Promise<NodeStat>;
  /** Text of a small file (a .gitignore); undefined when missing, unreadable or large. */
  readSmallText(uri: string): Promise<string | undefined>;
  /** The real (link-free) path of a local entry; undefined when it has none (other file systems) or cannot be resolved. */
  realPath(uri: string): Promise<string | undefined>;
  /** URI of the `/`-separated relative path `rel` under the folder `base`. */
  join(base: string, rel: string): string;
}

/** Exclude globs from VS Code settings: always-on globs, and globs that apply only when a sibling exists. */
export interface ExcludeRules {
  readonly globs: readonly string[];
  /** `{ "**\/*.js": { "when": "$(basename).ts" } }`: `sibling` is the `when` template. */
  readonly conditional: readonly { readonly glob: string; readonly sibling: string }[];
}

/**
 * Merges `files.exclude` / `search.exclude` style objects (`glob → true | false | { when }`) into {@link ExcludeRules}.
 * Later objects override earlier ones for the same glob (a `false` turns an inherited `true` off).
 */
export function excludeRulesFrom(...settings: readonly (Readonly<Record<string, unknown>> | undefined)[]): ExcludeRules {
  const merged = new Map<string, unknown>();
  for (const s of settings) for (const [glob, value] of Object.entries(s ?? {})) merged.set(glob, value);
  const globs: string[] = [];
  const conditional: { glob: string; sibling: string }[] = [];
  for (const [glob, value] of merged) {
    if (glob.trim() === '') continue;
    if (value === true) globs.push(glob);
    else if (value && typeof value === 'object' && typeof (value as { when?: unknown }).when === 'string') {
      conditional.push({ glob, sibling: (value as { when: string }).when });
    }
  }
  return { globs, conditional };
}

/** The sibling name a `when` clause asks for: `$(basename)` is the file name without its last extension. */
export function siblingName(template: string, fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  const basename = dot > 0 ? fileName.slice(0, dot) : fileName;
  return template.replace(/\$\(basename\)/g, basename);
}

export interface WalkOptions {
  readonly excludes: ExcludeRules;
  /** Honour .gitignore files and .git/info/exclude. */
  readonly gitignore: boolean;
  readonly maxFileBytes: number;
  /** Stat calls in flight at once; default 32. */
  readonly statConcurrency?: number;
  /** Index files that links in the folder point to outside it (`bertLens.search.followExternalLinks`). Default false. */
  readonly followExternalLinks?: boolean;
}

/** What {@link FolderWalker.describe} says about one path (for file watcher events). */
export type Described =
  | { readonly type: 'file'; readonly entry: FileEntry }
  | { readonly type: 'skipped'; readonly skipped: SkippedFile }
  | { readonly type: 'ignored' }
  | { readonly type: 'directory' }
  | { readonly type: 'missing' };

/**
 * Lists one workspace folder. `prefix` is put before every relative path shown to the user (`''` for a single-folder
 * workspace, `name/` in a multi-root one); ignore rules always match paths relative to the folder itself.
 */
export class FolderWalker {
  private readonly excludes: ExcludeMatcher;
  private readonly conditional: readonly { readonly pattern: PathPattern; readonly sibling: string }[];
  private rules = new Map<string, Promise<GitignoreRules>>();
  private rootReal: Promise<string | undefined> | undefined;

  constructor(
    private readonly fs: WalkFileSystem,
    readonly rootUri: string,
    readonly prefix: string,
    private readonly options: WalkOptions,
  ) {
    this.excludes = new ExcludeMatcher(options.excludes.globs);
    this.conditional = options.excludes.conditional.map((c) => ({ pattern: compileGlob(c.glob), sibling: c.sibling }));
  }

  /** Forget the .gitignore files read so far (one of them changed). */
  invalidateGitignore(): void {
    this.rules = new Map();
  }

  async *list(signal?: AbortSignal): AsyncGenerator<ListedItem> {
    const stack: string[] = [''];
    const concurrency = this.options.statConcurrency ?? 32;
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const dirRel = stack.pop()!;
      let entries: readonly (readonly [string, NodeKind])[];
      try {
        entries = await this.fs.readDirectory(this.uriOf(dirRel));
      } catch (e) {
        yield { type: 'skipped', relPath: this.shown(dirRel) || '.', reason: 'unreadable', detail: errorText(e) };
        continue;
      }
      const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const names = new Set(sorted.map(([name]) => name));
      const rules = await this.rulesFor(dirRel, names.has('.gitignore'));
      const subdirs: string[] = [];
      const files: { rel: string; kind: NodeKind }[] = [];
      for (const [name, kind] of sorted) {
        const rel = dirRel ? `${dirRel}/${name}` : name;
        const isDir = kind === 'directory';
        const ignored = this.ignoredBy(rel, name, isDir, rules, (sibling) => names.has(sibling));
        if (ignored) {
          yield { type: 'ignored', relPath: this.shown(rel), by: ignored };
          continue;
        }
        if (isDir) subdirs.push(rel);
        else files.push({ rel, kind });
      }
      for (let i = 0; i < files.length; i += concurrency) {
        signal?.throwIfAborted();
        const batch = files.slice(i, i + concurrency);
        const stats = await Promise.all(batch.map((f) => (f.kind === 'file' || f.kind === 'fileLink' ? this.fs.stat(this.uriOf(f.rel)).catch((e: unknown) => new StatError(e)) : undefined)));
        const outside = await Promise.all(batch.map((f) => f.kind === 'fileLink' && this.pointsOutside(f.rel)));
        for (let j = 0; j < batch.length; j++) yield outside[j] ? this.externalLink(batch[j]!.rel) : this.item(batch[j]!.rel, batch[j]!.kind, stats[j]);
      }
      // Depth-first in name order: push in reverse so the first name is visited first.
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
    }
  }

  /** Decides about one path relative to the folder, as a full listing would, reading only what it needs. */
  async describe(rel: string): Promise<Described> {
    const parts = rel.split('/').filter((p) => p !== '');
    if (parts.length === 0) return { type: 'directory' };
    let dirRel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      const sub = dirRel ? `${dirRel}/${parts[i]}` : parts[i]!;
      const rules = await this.rulesFor(dirRel);
      if (this.ignoredBy(sub, parts[i]!, true, rules, () => false)) return { type: 'ignored' };
      dirRel = sub;
    }
    const name = parts[parts.length - 1]!;
    const file = parts.join('/');
    let stat: NodeStat;
    try {
      stat = await this.fs.stat(this.uriOf(file));
    } catch {
      return this.ignoredBy(file, name, false, await this.rulesFor(dirRel), () => false) ? { type: 'ignored' } : { type: 'missing' };
    }
    const isDir = stat.kind === 'directory';
    const siblings = new Map<string, boolean>();
    const hasSibling = async (sibling: string): Promise<boolean> => {
      if (!siblings.has(sibling)) siblings.set(sibling, await this.fs.stat(this.uriOf(dirRel ? `${dirRel}/${sibling}` : sibling)).then(() => true, () => false));
      return siblings.get(sibling)!;
    };
    const wanted = isDir ? [] : this.conditional.filter((c) => c.pattern.test(file)).map((c) => siblingName(c.sibling, name));
    const present = new Set<string>();
    for (const s of wanted) if (await hasSibling(s)) present.add(s);
    if (this.ignoredBy(file, name, isDir, await this.rulesFor(dirRel), (s) => present.has(s))) return { type: 'ignored' };
    if (isDir) return { type: 'directory' };
    const item = stat.kind === 'fileLink' && (await this.pointsOutside(file)) ? this.externalLink(file) : this.item(file, stat.kind, stat);
    if (item.type === 'file') return { type: 'file', entry: { uri: item.uri, relPath: item.relPath, size: item.size, mtime: item.mtime } };
    if (item.type === 'skipped') return { type: 'skipped', skipped: item };
    return { type: 'ignored' };
  }

  /** `exclude`/`gitignore` when the path is left out, else undefined. */
  private ignoredBy(rel: string, name: string, isDir: boolean, rules: GitignoreRules, hasSibling: (name: string) => boolean): 'exclude' | 'gitignore' | undefined {
    if (isDir && name === '.git') return 'exclude';
    if (this.excludes.matches(rel, isDir)) return 'exclude';
    if (!isDir && this.conditional.some((c) => c.pattern.test(rel) && hasSibling(siblingName(c.sibling, name)))) return 'exclude';
    if (rules.ignores(rel, isDir)) return 'gitignore';
    return undefined;
  }

  /**
   * Whether the link `rel` points outside the folder, and is not to be followed. A link whose target cannot be
   * resolved, or on a file system without real paths, counts as outside.
   */
  private async pointsOutside(rel: string): Promise<boolean> {
    if (this.options.followExternalLinks) return false;
    this.rootReal ??= this.fs.realPath(this.rootUri);
    const [root, target] = await Promise.all([this.rootReal, this.fs.realPath(this.uriOf(rel))]);
    return root === undefined || target === undefined || !isInsideFolder(root, target);
  }

  private externalLink(rel: string): ListedItem {
    return { type: 'skipped', relPath: this.shown(rel), uri: this.uriOf(rel), reason: 'special', detail: EXTERNAL_LINK_DETAIL };
  }

  private item(rel: string, kind: NodeKind, stat: NodeStat | StatError | undefined): ListedItem {
    const relPath = this.shown(rel);
    const uri = this.uriOf(rel);
    if (kind === 'directoryLink') return { type: 'skipped', relPath, uri, reason: 'special', detail: 'link to a folder (not followed)' };
    if (kind === 'brokenLink') return { type: 'skipped', relPath, uri, reason: 'unreadable', detail: 'dangling link' };
    if (kind !== 'file' && kind !== 'fileLink') return { type: 'skipped', relPath, uri, reason: 'special', detail: 'not a regular file' };
    if (!stat) return { type: 'skipped', relPath, uri, reason: 'unreadable', detail: 'could not stat' };
    if (stat instanceof StatError) return { type: 'skipped', relPath, uri, reason: 'unreadable', detail: errorText(stat.cause) };
    if (stat.size > this.options.maxFileBytes) {
      return { type: 'skipped', relPath, uri, reason: 'tooLarge', detail: `${formatBytes(stat.size)} > ${formatBytes(this.options.maxFileBytes)}` };
    }
    return { type: 'file', uri, relPath, size: stat.size, mtime: Math.floor(stat.mtime) };
  }

  /** Rules that apply inside folder `dirRel`: its ancestors' and its own .gitignore (cached). */
  private rulesFor(dirRel: string, hasGitignore?: boolean): Promise<GitignoreRules> {
    if (!this.options.gitignore) return Promise.resolve(GitignoreRules.none);
    let rules = this.rules.get(dirRel);
    if (!rules) {
      rules = (async () => {
        let base: GitignoreRules;
        if (dirRel === '') {
          const info = await this.fs.readSmallText(this.uriOf('.git/info/exclude'));
          base = info === undefined ? GitignoreRules.none : GitignoreRules.none.with('', info);
        } else {
          const slash = dirRel.lastIndexOf('/');
          base = await this.rulesFor(slash < 0 ? '' : dirRel.slice(0, slash));
        }
        if (hasGitignore === false) return base;
        const own = await this.fs.readSmallText(this.uriOf(dirRel ? `${dirRel}/.gitignore` : '.gitignore'));
        return own === undefined ? base : base.with(dirRel, own);
      })();
      this.rules.set(dirRel, rules);
    }
    return rules;
  }

  private uriOf(rel: string): string {
    return rel === '' ? this.rootUri : this.fs.join(this.rootUri, rel);
  }

  private shown(rel: string): string {
    return rel === '' ? this.prefix.replace(/\/$/, '') : `${this.prefix}${rel}`;
  }
}

class StatError {
  constructor(readonly cause: unknown) {}
}

function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string' && 'message' in e && typeof e.message === 'string') {
    return e.message.startsWith(e.code) ? e.message : `${e.code}: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}
