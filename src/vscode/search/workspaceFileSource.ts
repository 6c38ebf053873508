import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { readRegularFileBounded } from '../../core/search/nodeFileSource';
import type { FileSource, ListedItem } from '../../core/search/types';
import { excludeRulesFrom, FolderWalker, type Described, type NodeKind, type WalkFileSystem } from './workspaceWalk';

/** Largest .gitignore read, in bytes. */
const MAX_IGNORE_FILE_BYTES = 1024 * 1024;

/** {@link WalkFileSystem} over `vscode.workspace.fs`: works the same for local, remote, WSL and virtual workspaces. */
const workspaceFs: WalkFileSystem = {
  async readDirectory(uri) {
    const entries = await vscode.workspace.fs.readDirectory(vscode.Uri.parse(uri, true));
    return entries.map(([name, type]) => [name, nodeKind(type)] as const);
  },
  async stat(uri) {
    const s = await vscode.workspace.fs.stat(vscode.Uri.parse(uri, true));
    return { kind: nodeKind(s.type), size: s.size, mtime: s.mtime };
  },
  async readSmallText(uri) {
    try {
      const u = vscode.Uri.parse(uri, true);
      const s = await vscode.workspace.fs.stat(u);
      if (s.size > MAX_IGNORE_FILE_BYTES || (s.type & vscode.FileType.File) === 0) return undefined;
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(u));
    } catch {
      return undefined;
    }
  },
  async realPath(uri) {
    const u = vscode.Uri.parse(uri, true);
    return u.scheme === 'file' ? fs.promises.realpath(u.fsPath).catch(() => undefined) : undefined;
  },
  join(base, rel) {
    return vscode.Uri.joinPath(vscode.Uri.parse(base, true), ...rel.split('/')).toString();
  },
};

function nodeKind(type: vscode.FileType): NodeKind {
  const link = (type & vscode.FileType.SymbolicLink) !== 0;
  if (type & vscode.FileType.Directory) return link ? 'directoryLink' : 'directory';
  if (type & vscode.FileType.File) return link ? 'fileLink' : 'file';
  return link ? 'brokenLink' : 'other';
}

/**
 * The workspace's files for the index, through VS Code's file system API and URIs only (never raw paths). Honours
 * `files.exclude`, `search.exclude` (per folder), `.gitignore` (when `search.useIgnoreFiles` is on) and the size
 * limit; reports what it skips. Relative paths carry the folder's name in multi-root workspaces.
 *
 * Code symbols are not asked for: VS Code's symbol providers need every document opened (language servers, file
 * events), which costs far more than the chunker's own declaration heuristics.
 */
export class WorkspaceFileSource implements FileSource {
  private readonly walkers: readonly { readonly folder: vscode.WorkspaceFolder; readonly walker: FolderWalker }[];

  constructor(
    folders: readonly vscode.WorkspaceFolder[],
    readonly maxFileBytes: number,
    followExternalLinks = false,
  ) {
    const multiRoot = folders.length > 1;
    this.walkers = folders.map((folder) => {
      const files = vscode.workspace.getConfiguration('files', folder.uri);
      const search = vscode.workspace.getConfiguration('search', folder.uri);
      const excludes = excludeRulesFrom(files.get<Record<string, unknown>>('exclude'), search.get<Record<string, unknown>>('exclude'));
      const walker = new FolderWalker(workspaceFs, folder.uri.toString(), multiRoot ? `${folder.name}/` : '', {
        excludes,
        gitignore: search.get<boolean>('useIgnoreFiles') ?? true,
        maxFileBytes,
        followExternalLinks,
      });
      return { folder, walker };
    });
  }

  async *list(signal?: AbortSignal): AsyncGenerator<ListedItem> {
    for (const { walker } of this.walkers) yield* walker.list(signal);
  }

  /**
   * At most `maxFileBytes + 1` bytes: local files are read only up to the limit, whatever their size now; other file
   * systems (remote, virtual) can only read whole files, so a file over the limit by its current size is not read.
   */
  async read(uri: string, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const u = vscode.Uri.parse(uri, true);
    let bytes: Uint8Array;
    if (u.scheme === 'file') bytes = await readRegularFileBounded(u.fsPath, this.maxFileBytes);
    else {
      const s = await vscode.workspace.fs.stat(u);
      if ((s.type & vscode.FileType.File) === 0) throw new Error(`${uri} is not a file`);
      bytes = s.size > this.maxFileBytes ? new Uint8Array(this.maxFileBytes + 1) : await vscode.workspace.fs.readFile(u);
    }
    signal?.throwIfAborted();
    return bytes;
  }

  /** Whether `uri` is inside one of the folders. */
  contains(uri: vscode.Uri): boolean {
    return this.locate(uri) !== undefined;
  }

  /** The path shown for `uri` (folder-relative, prefixed in multi-root workspaces), or undefined outside the folders. */
  relPathOf(uri: vscode.Uri): string | undefined {
    const found = this.locate(uri);
    return found ? `${found.walker.prefix}${found.rel}` : undefined;
  }

  /** What a full listing would say about `uri` (undefined outside the workspace folders). */
  async describe(uri: vscode.Uri): Promise<Described | undefined> {
    const found = this.locate(uri);
    return found ? found.walker.describe(found.rel) : undefined;
  }

  invalidateGitignore(): void {
    for (const { walker } of this.walkers) walker.invalidateGitignore();
  }

  private locate(uri: vscode.Uri): { walker: FolderWalker; rel: string } | undefined {
    let best: { walker: FolderWalker; rel: string; depth: number } | undefined;
    for (const { folder, walker } of this.walkers) {
      const root = folder.uri;
      if (root.scheme !== uri.scheme || root.authority !== uri.authority) continue;
      const base = root.path.endsWith('/') ? root.path : `${root.path}/`;
      if (!uri.path.startsWith(base) || uri.path.length === base.length) continue;
      // Nested workspace folders: the deepest one owns the file.
      if (!best || base.length > best.depth) best = { walker, rel: uri.path.slice(base.length), depth: base.length };
    }
    return best;
  }
}
