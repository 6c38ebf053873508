import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelDisplayName } from '../../core/models/modelRef';
import { IndexLockedError } from '../../core/search/segmentStore';
import { runUpdate, SemanticIndex, type IndexStats } from '../../core/search/semanticIndex';
import { formatBytes } from '../../core/search/textFiles';
import type { FileEntry, IndexProgress, SearchMode, SearchResult, SkippedFile, UpdateSummary } from '../../core/search/types';
import { WorkerEmbedder } from '../../core/search/workerEmbedder';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { IndexState, SkippedCounts } from '../../protocol/search';
import type { Config } from '../config';
import { errorMessage, isCancellation, reportError } from '../errors';
import type { Logger } from '../logger';
import type { ModelService } from '../modelService';
import { PendingChanges, type ChangeBatch } from './pendingChanges';
import { WorkspaceFileSource } from './workspaceFileSource';

/** Quiet time after the last file event before the index is updated. */
const FILE_EVENT_DELAY_MS = 400;
/** Quiet time after the last keystroke before unsaved text is handed to the index. */
const OVERLAY_DELAY_MS = 250;
/** An incremental update shows "indexing" only when it takes longer than this (no flicker on every save). */
const QUIET_UPDATE_MS = 300;

/** One opened index: the settings it was opened with, its model's vectors, and the workspace listing rules. */
interface Session {
  /** Settings that decide the vector space and the listing (model, dtype, size limit). */
  readonly key: string;
  readonly model: string;
  /** Folder of the model whose vectors the index holds ('' for a bundled model). */
  readonly modelDir: string;
  readonly index: SemanticIndex;
  source: WorkspaceFileSource;
  /** Aborted when the session closes: its searches and updates stop. */
  readonly closing: AbortController;
  /** A full scan has finished in this session. */
  scanned: boolean;
  /** The last full scan was cancelled. */
  partial: boolean;
  /** Skipped by the last full scan. */
  skipped: readonly SkippedFile[];
}

export interface SearchRequest {
  readonly mode: SearchMode;
  readonly k: number;
}

/**
 * Owns the semantic index of the workspace: opens it in the workspace storage (one folder per model key, so vectors
 * of different models never mix, and switching back to a model finds its index), indexes the workspace on the first
 * search or on command, then keeps it current from file events, renames and unsaved editors. Inference runs in the
 * model worker; the host thread only lists, reads, chunks and writes, in slices that yield to the event loop.
 */
export class SearchService implements vscode.Disposable {
  private session: Session | undefined;
  private opening: { key: string; promise: Promise<Session> } | undefined;
  private readonly pending = new PendingChanges();
  private drainTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  /** Unsaved editors being chunked and embedded (beside the file updates, so they need not wait for a full scan). */
  private applyingOverlays: Promise<void> | undefined;
  /** Unsaved text was set while {@link applyingOverlays} ran: run again when it ends. */
  private overlaysAgain = false;
  /** Unsaved editors refused (too large, binary) and logged once. */
  private readonly refusedOverlays = new Set<string>();
  private running: { full: boolean; cancel: vscode.CancellationTokenSource } | undefined;
  /** Resolved when the next full scan finishes (callers of indexWorkspace wait on it). */
  private fullWaiters: { resolve(summary: UpdateSummary | undefined): void; reject(e: unknown): void }[] = [];
  private readonly overlayTimers = new Map<string, NodeJS.Timeout>();
  /** Saved documents whose overlay stays until the index holds the saved text. */
  private readonly savedOverlays = new Set<string>();
  private watching: vscode.Disposable[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<IndexState>();
  private current: IndexState = { kind: 'notIndexed' };
  /** Settles when the indexes closed so far have released their files (a model switched back opens the same folder). */
  private closed: Promise<void> = Promise.resolve();
  /** Bumped when the model settings change: an index still opening for the old ones is dropped. */
  private generation = 0;
  readonly onDidChangeState = this.stateEmitter.event;
  /** Summary of the last finished update (full or incremental), for tests and the log. */
  lastSummary: UpdateSummary | undefined;
  /** Number of updates finished, full ones included (read by tests). */
  updates = 0;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: Config,
    private readonly models: ModelService,
    private readonly worker: ModelWorkerClient,
    private readonly logger: Logger,
  ) {
    this.disposables.push(
      this.stateEmitter,
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfiguration(e)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.onListingRulesChanged()),
    );
  }

  get state(): IndexState {
    return this.current;
  }

  /** Statistics of the open index, or undefined when none is open. */
  stats(): IndexStats | undefined {
    return this.session?.index.stats();
  }

  /** The stored documents and their passage ranges (not unsaved editors), sorted by path. */
  documents(): ReturnType<SemanticIndex['documents']> {
    return this.session?.index.documents() ?? [];
  }

  /** No file changes are waiting or being applied, and none will be without a new event (read by tests). */
  get idle(): boolean {
    return this.drainTimer === undefined && this.draining === undefined && this.pending.empty;
  }

  /** Unsaved editors whose latest text is not searchable yet: searches answer without it until it is embedded. */
  get unsavedPending(): number {
    return this.session?.index.pendingOverlayCount ?? 0;
  }

  /** Files the last full scan skipped (too large, binary, unreadable, special). */
  get skipped(): readonly SkippedFile[] {
    return this.session?.skipped ?? [];
  }

  /**
   * The best passages for `query`. Opens the index first (resolving the model), and starts indexing the workspace
   * when this session has not scanned it yet; results come from what is indexed so far (unsaved editors once their
   * text is embedded in the background; see {@link unsavedPending}). Aborting `signal` stops the search in the host and
   * in the model worker.
   */
  async search(query: string, request: SearchRequest, signal: AbortSignal): Promise<SearchResult[]> {
    const session = await abortable(this.ensureSession(), signal);
    signal.throwIfAborted();
    if (!session.scanned && !session.partial && !this.running?.full && !this.pending.fullRequested) {
      this.pending.requestFull();
      this.kick(0);
    }
    // Normally running already; this retries after a failure (a model worker that restarted, say).
    if (session.index.pendingOverlayCount > 0 && !this.applyingOverlays) this.applyOverlays();
    return session.index.search(query, { mode: request.mode, k: request.k, signal: AbortSignal.any([signal, session.closing.signal]) });
  }

  /**
   * Brings the index up to date with the whole workspace (resumes a cancelled scan) and resolves with the summary,
   * or undefined when it was cancelled. Shows a notification with progress and Cancel.
   */
  async indexWorkspace(): Promise<UpdateSummary | undefined> {
    await this.ensureSession();
    const done = new Promise<UpdateSummary | undefined>((resolve, reject) => this.fullWaiters.push({ resolve, reject }));
    this.pending.requestFull();
    this.kick(0);
    return done;
  }

  /**
   * Closes the open index when its model lives in `dir` (or under it), because that folder is being deleted: the next
   * search resolves the model again (downloading it when allowed) instead of using a model that is gone. Resolves when
   * the index has released its files; true when it was open on that model. An index being opened meanwhile is not
   * affected: it resolved its model after the deletion began, or fails on its own.
   */
  async onModelDeleted(dir: string): Promise<boolean> {
    const session = this.session;
    if (!session?.modelDir || !isSameOrInside(session.modelDir, dir)) return false;
    this.logger.info(`search: the model in ${dir} is being deleted; the index closes and the next search resolves the model again`);
    await this.closeSession();
    return true;
  }

  /** Stops the indexing in progress; what was finished stays indexed and is saved. */
  cancelIndexing(): void {
    this.running?.cancel.cancel();
  }

  /** Writes the skipped files into the log and shows it. */
  showSkipped(): void {
    const skipped = this.skipped;
    this.logger.info(skipped.length === 0 ? 'search index: no files skipped' : `search index: ${skipped.length} files skipped:`);
    for (const s of skipped) this.logger.info(`  ${s.relPath}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
    this.logger.show();
  }

  // ───────────────────────────── sessions ─────────────────────────────

  /** Settings that decide which index is open; the bundled encoder standing in for an unavailable model counts. */
  private settingsKey(): string {
    const { model, dtype } = this.config.settings;
    const { searchMaxFileSize, searchFollowExternalLinks } = this.config.settings;
    return JSON.stringify([model, dtype, searchMaxFileSize, searchFollowExternalLinks, this.models.fallbackReason !== undefined]);
  }

  private ensureSession(): Promise<Session> {
    const key = this.settingsKey();
    if (this.session?.key === key) return Promise.resolve(this.session);
    if (this.opening?.key === key) return this.opening.promise;
    const promise = this.open();
    const opening = { key, promise };
    this.opening = opening;
    promise.then(
      () => {
        if (this.opening === opening) this.opening = undefined;
      },
      () => {
        if (this.opening === opening) this.opening = undefined;
      },
    );
    return promise;
  }

  private async open(): Promise<Session> {
    await this.closeSession();
    const generation = this.generation;
    const configured = this.config.settings.model;
    this.setState({ kind: 'opening', model: modelDisplayName(configured), message: `Loading ${modelDisplayName(configured)}…` });
    const cts = new vscode.CancellationTokenSource();
    let index: SemanticIndex | undefined;
    try {
      const local = await this.models.resolveModel(cts.token);
      const embedder = await WorkerEmbedder.create(this.worker, local);
      index = await SemanticIndex.open({
        storeDir: this.storeDir(),
        embedder,
        maxFileBytes: this.config.settings.searchMaxFileSize,
        log: (m) => this.logger.info(m),
      });
      const { report } = index;
      this.logger.info(
        `search index ${report.status} for ${embedder.modelKey}: ${report.files} files, ${report.chunks} chunks in ${report.ms.toFixed(0)} ms (${index.storePath})` +
          (report.reason ? `; rebuilt because ${report.reason}` : ''),
      );
      if (this.generation !== generation) throw new vscode.CancellationError();
      const session: Session = {
        key: this.settingsKey(),
        model: modelDisplayName(local.ref),
        modelDir: local.dir,
        index,
        source: this.newSource(),
        closing: new AbortController(),
        scanned: false,
        partial: false,
        skipped: [],
      };
      this.session = session;
      this.startWatching();
      for (const doc of vscode.workspace.textDocuments) this.scheduleOverlay(doc, 0);
      this.setReady(session);
      return session;
    } catch (e) {
      await index?.close();
      if (isCancellation(e)) {
        // When the settings changed meanwhile, onConfiguration has said so already.
        if (this.generation === generation) this.setState({ kind: 'notIndexed' });
      } else {
        const message = e instanceof IndexLockedError ? `${errorMessage(e)}. Close the other window using this workspace, then search again.` : errorMessage(e);
        this.setState({ kind: 'error', message });
      }
      throw e;
    } finally {
      cts.dispose();
    }
  }

  /** Closes the open index; resolves when every index closed so far has released its files (and its lock). */
  private closeSession(reason?: string): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) {
      session.closing.abort();
      this.running?.cancel.cancel();
      const previous = this.closed;
      this.closed = (async () => {
        await previous;
        await this.draining?.catch(() => undefined);
        await this.applyingOverlays;
        await session.index.close().catch((e: unknown) => this.logger.error('could not close the search index', e));
        this.setState({ kind: 'notIndexed', ...(reason ? { reason } : {}) });
      })();
    }
    return this.closed;
  }

  /** Indexes live under the workspace's storage folder, one subfolder per model key (see SemanticIndex.open). */
  private storeDir(): string {
    const storage = this.context.storageUri;
    if (storage?.scheme === 'file') return path.join(storage.fsPath, 'search');
    // No folder open, or storage that is not on this machine's disk: a folder per workspace in global storage.
    const identity = vscode.workspace.workspaceFile?.toString() ?? vscode.workspace.workspaceFolders?.map((f) => f.uri.toString()).join('\n') ?? 'no-folder';
    return path.join(this.context.globalStorageUri.fsPath, 'search', createHash('sha256').update(identity).digest('hex').slice(0, 16));
  }

  private newSource(): WorkspaceFileSource {
    return new WorkspaceFileSource(vscode.workspace.workspaceFolders ?? [], this.config.settings.searchMaxFileSize, this.config.settings.searchFollowExternalLinks);
  }

  private onConfiguration(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration('bertLens.model') || e.affectsConfiguration('bertLens.dtype') || e.affectsConfiguration('bertLens.search.maxFileSize')) {
      // The model decides the vector space: the open index is closed and the next search opens the new model's.
      const reason = 'The model settings changed: search again to use the new model.';
      this.generation++;
      const wasOpening = this.opening !== undefined;
      this.opening = undefined;
      if (this.session) {
        this.logger.info('search: the model settings changed; the index of the new model opens at the next search');
        void this.closeSession(reason);
      } else if (wasOpening) this.setState({ kind: 'notIndexed', reason });
      return;
    }
    if (e.affectsConfiguration('files.exclude') || e.affectsConfiguration('search.exclude') || e.affectsConfiguration('search.useIgnoreFiles')) {
      this.onListingRulesChanged();
    }
  }

  private onListingRulesChanged(): void {
    const session = this.session;
    if (!session) return;
    session.source = this.newSource();
    if (session.scanned || this.running?.full) {
      this.pending.requestFull();
      this.kick();
    }
  }

  // ───────────────────────────── updating ─────────────────────────────

  private startWatching(): void {
    if (this.watching.length > 0) return;
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    const onFile = (kind: 'changed' | 'deleted') => (uri: vscode.Uri) => {
      const session = this.session;
      if (!session || !session.source.contains(uri)) return;
      if (uri.path.endsWith('/.gitignore') || uri.path.endsWith('/.git/info/exclude')) {
        session.source.invalidateGitignore();
        this.pending.requestFull();
      } else this.pending.add(uri.toString(), kind);
      this.kick();
    };
    this.watching = [
      watcher,
      watcher.onDidCreate(onFile('changed')),
      watcher.onDidChange(onFile('changed')),
      watcher.onDidDelete(onFile('deleted')),
      vscode.workspace.onDidRenameFiles((e) => {
        // Without an open index the next one's first scan finds the files where they are.
        if (!this.session) return;
        for (const f of e.files) this.pending.rename(f.oldUri.toString(), f.newUri.toString());
        this.kick();
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (!this.session?.source.contains(doc.uri)) return;
        this.savedOverlays.add(doc.uri.toString());
        this.pending.add(doc.uri.toString(), 'changed');
        this.kick();
      }),
      vscode.workspace.onDidOpenTextDocument((doc) => this.scheduleOverlay(doc, OVERLAY_DELAY_MS)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.scheduleOverlay(e.document, OVERLAY_DELAY_MS);
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        const uri = doc.uri.toString();
        clearTimeout(this.overlayTimers.get(uri));
        this.overlayTimers.delete(uri);
        this.refusedOverlays.delete(uri);
        // Closed without saving: the stored version is the truth again.
        if (!this.savedOverlays.has(uri)) this.session?.index.clearOverlay(uri);
      }),
    ];
  }

  /** Runs the pending changes after `delay` ms of quiet; one drain at a time. */
  private kick(delay = FILE_EVENT_DELAY_MS): void {
    clearTimeout(this.drainTimer);
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      if (this.draining) return; // the running drain picks the new changes up when it finishes
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        if (!this.pending.empty) this.kick();
      });
    }, delay);
  }

  private async drain(): Promise<void> {
    while (!this.pending.empty) {
      const session = this.session;
      const batch = this.pending.take();
      if (!session) {
        // The index closed (model settings changed, model deleted): the next one's first scan lists everything anew.
        if (batch.full) this.settleFull(undefined);
        return;
      }
      try {
        if (batch.renames.length > 0) await this.applyRenames(session, batch);
        if (batch.full) await this.runFull(session);
        else if (batch.changed.length > 0 || batch.deleted.length > 0) await this.runChanges(session, batch);
      } catch (e) {
        if (batch.full) this.settleFull(undefined, e);
        if (session.closing.signal.aborted || isCancellation(e) || isAbort(e)) continue;
        this.logger.error('search index update failed', e);
        this.setState({ kind: 'error', message: errorMessage(e) });
      }
    }
  }

  private async runFull(session: Session): Promise<void> {
    const cancel = new vscode.CancellationTokenSource();
    this.running = { full: true, cancel };
    // The first scan of a new or rebuilt index embeds the whole workspace: show it with a Cancel button.
    const loud = session.index.report.status !== 'loaded' || this.fullWaiters.length > 0;
    const run = async (progress?: vscode.Progress<{ message?: string; increment?: number }>, token?: vscode.CancellationToken): Promise<void> => {
      const controller = new AbortController();
      const subs = [cancel.token, token].filter((t) => t !== undefined).map((t) => t.onCancellationRequested(() => controller.abort()));
      const signal = AbortSignal.any([controller.signal, session.closing.signal]);
      let reported = 0;
      try {
        const summary = await runUpdate(session.index.update(session.source, { signal }), (p) => {
          this.onProgress(session, p);
          if (progress && p.filesTotal > 0) {
            const percent = (100 * p.filesDone) / p.filesTotal;
            progress.report({ message: `${p.filesDone} of ${p.filesTotal} files, ${p.chunksEmbedded} passages embedded`, increment: percent - reported });
            reported = percent;
          } else progress?.report({ message: p.message ?? 'listing files…' });
        });
        session.scanned = true;
        session.partial = false;
        session.skipped = summary.skipped;
        this.finished(session, summary, 'full');
        this.settleFull(summary);
      } catch (e) {
        if (!controller.signal.aborted || session.closing.signal.aborted) throw e;
        session.partial = true;
        this.logger.info('search: indexing cancelled; what was finished is saved');
        this.setReady(session);
        this.settleFull(undefined);
      } finally {
        subs.forEach((s) => s.dispose());
      }
    };
    try {
      if (loud) {
        await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'BERT Lens: indexing the workspace for semantic search', cancellable: true },
          (progress, token) => run(progress, token),
        );
      } else await run();
    } finally {
      if (this.running?.cancel === cancel) this.running = undefined;
      cancel.dispose();
    }
  }

  private async runChanges(session: Session, batch: ChangeBatch): Promise<void> {
    const known = new Map(session.index.documents().map((d) => [d.uri, d]));
    const changed: FileEntry[] = [];
    const deleted = new Set<string>();
    for (const uri of [...batch.changed, ...batch.deleted]) {
      const described = await session.source.describe(vscode.Uri.parse(uri, true));
      if (!described) continue;
      if (described.type === 'file') changed.push(described.entry);
      else if (described.type === 'skipped' && described.skipped.reason === 'tooLarge' && described.skipped.uri) {
        // Passed on so that the index drops the old version and reports the file as too large.
        const stat = await vscode.workspace.fs.stat(vscode.Uri.parse(uri, true)).then((s) => s, () => undefined);
        if (stat) changed.push({ uri, relPath: described.skipped.relPath, size: stat.size, mtime: stat.mtime });
      } else if (described.type === 'directory') {
        // A folder appeared (copied in, checked out): list everything again rather than walk it here.
        this.pending.requestFull();
      } else {
        if (known.has(uri)) deleted.add(uri);
        // A deleted folder: everything indexed under it goes.
        const prefix = uri.endsWith('/') ? uri : `${uri}/`;
        for (const k of known.keys()) if (k.startsWith(prefix)) deleted.add(k);
      }
    }
    if (changed.length === 0 && deleted.size === 0) {
      this.clearSavedOverlays(session, batch.changed);
      return;
    }
    const cancel = new vscode.CancellationTokenSource();
    this.running = { full: false, cancel };
    const started = performance.now();
    const controller = new AbortController();
    const sub = cancel.token.onCancellationRequested(() => controller.abort());
    try {
      const summary = await runUpdate(
        session.index.update(session.source, { signal: AbortSignal.any([controller.signal, session.closing.signal]), changes: { changed, deleted: [...deleted] } }),
        (p) => {
          if (performance.now() - started > QUIET_UPDATE_MS) this.onProgress(session, p);
        },
      );
      this.finished(session, summary, 'incremental');
      this.clearSavedOverlays(session, batch.changed);
    } catch (e) {
      if (!controller.signal.aborted || session.closing.signal.aborted) throw e;
      // Cancelled: these files are picked up again by the next full scan.
      this.setReady(session);
    } finally {
      sub.dispose();
      if (this.running?.cancel === cancel) this.running = undefined;
      cancel.dispose();
    }
  }

  private async applyRenames(session: Session, batch: ChangeBatch): Promise<void> {
    const known = session.index.documents().map((d) => d.uri);
    const moves: { oldUri: string; newUri: string; newRelPath: string }[] = [];
    for (const r of batch.renames) {
      const newUri = vscode.Uri.parse(r.newUri, true);
      const relPath = session.source.relPathOf(newUri);
      if (relPath === undefined) continue;
      const prefix = r.oldUri.endsWith('/') ? r.oldUri : `${r.oldUri}/`;
      for (const uri of known) {
        if (uri === r.oldUri) moves.push({ oldUri: uri, newUri: r.newUri, newRelPath: relPath });
        else if (uri.startsWith(prefix)) {
          const rest = uri.slice(prefix.length);
          const moved = vscode.Uri.joinPath(newUri, ...rest.split('/').map((s) => decodeURIComponent(s)));
          moves.push({ oldUri: uri, newUri: moved.toString(), newRelPath: `${relPath}/${decodeURIComponent(rest)}` });
        }
      }
    }
    if (moves.length > 0) {
      const moved = await session.index.renameFiles(moves);
      this.logger.info(`search index: moved ${moved} renamed files without re-reading them`);
    }
    // The watcher's create/delete events for the same files follow; they find the files unchanged.
  }

  private finished(session: Session, summary: UpdateSummary, kind: 'full' | 'incremental'): void {
    this.lastSummary = summary;
    this.updates++;
    if (summary.filesIndexed + summary.filesDeleted + summary.filesRenamed > 0 || kind === 'full') {
      this.logger.info(
        `search index ${kind} update: ${summary.filesIndexed} files indexed, ${summary.filesUnchanged} unchanged, ${summary.filesDeleted} deleted, ` +
          `${summary.chunksEmbedded} passages embedded, ${summary.chunksReused} reused, ${summary.passagesSplit} split to fit the model, ${summary.skipped.length} skipped, ${summary.ignored} ignored, ${summary.ms.toFixed(0)} ms`,
      );
    }
    this.setReady(session);
  }

  private settleFull(summary: UpdateSummary | undefined, error?: unknown): void {
    const waiters = this.fullWaiters;
    this.fullWaiters = [];
    for (const w of waiters) {
      if (error !== undefined && !isCancellation(error) && !isAbort(error)) w.reject(error);
      else w.resolve(summary);
    }
  }

  // ───────────────────────────── unsaved editors ─────────────────────────────

  /** Makes a dirty (or untitled) document's text searchable after `delay` ms of quiet. */
  private scheduleOverlay(doc: vscode.TextDocument, delay: number): void {
    const session = this.session;
    if (!session) return;
    const uri = doc.uri.toString();
    const untitled = doc.uri.scheme === 'untitled';
    if (!untitled && !session.source.contains(doc.uri)) return;
    clearTimeout(this.overlayTimers.get(uri));
    this.overlayTimers.set(
      uri,
      setTimeout(() => {
        this.overlayTimers.delete(uri);
        void this.setOverlay(session, doc, untitled);
      }, delay),
    );
  }

  /** Hands the editor's text to the index, which embeds it in the background ({@link applyOverlays}). */
  private async setOverlay(session: Session, doc: vscode.TextDocument, untitled: boolean): Promise<void> {
    if (this.session !== session || doc.isClosed) return;
    const uri = doc.uri.toString();
    if (!doc.isDirty && !untitled) {
      if (!this.savedOverlays.has(uri)) session.index.clearOverlay(uri);
      return;
    }
    const relPath = untitled ? doc.uri.path : session.source.relPathOf(doc.uri);
    if (relPath === undefined) {
      session.index.clearOverlay(uri);
      return;
    }
    // Measured before the text is copied out of the editor: a UTF-16 unit is at least one UTF-8 byte.
    const limit = this.config.settings.searchMaxFileSize;
    const length = doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
    if (length > limit) {
      session.index.clearOverlay(uri);
      this.refuseOverlay(relPath, uri, `at least ${formatBytes(length)} > ${formatBytes(limit)}`);
      return;
    }
    const text = doc.getText();
    if (text.trim() === '') {
      session.index.clearOverlay(uri);
      return;
    }
    if (!untitled) {
      const described = await session.source.describe(doc.uri);
      if (described?.type === 'ignored') return;
    }
    if (this.session !== session || doc.isClosed) return;
    this.savedOverlays.delete(uri);
    const refused = session.index.setOverlay({ uri, relPath, text, languageId: doc.languageId });
    if (refused) {
      this.refuseOverlay(relPath, uri, `${refused.reason === 'binary' ? 'not text' : 'too large'}: ${refused.detail}`);
      return;
    }
    this.refusedOverlays.delete(uri);
    this.applyOverlays();
  }

  private refuseOverlay(relPath: string, uri: string, why: string): void {
    if (this.refusedOverlays.has(uri)) return;
    this.refusedOverlays.add(uri);
    this.logger.info(`search: unsaved changes in ${relPath} are not searchable (${why})`);
  }

  /** Chunks and embeds the unsaved texts handed to the index, one run at a time; searches never wait for it. */
  private applyOverlays(): void {
    const session = this.session;
    if (!session) return;
    if (this.applyingOverlays) {
      this.overlaysAgain = true;
      return;
    }
    this.overlaysAgain = false;
    const run = async (): Promise<void> => {
      try {
        const applied = await session.index.applyOverlays(session.closing.signal);
        // The panel asks again when the index says it is ready: its answer may now include these editors.
        if (applied > 0 && this.current.kind === 'ready') this.setReady(session);
      } catch (e) {
        if (session.closing.signal.aborted || isCancellation(e) || isAbort(e)) return;
        this.logger.error('search: could not index the unsaved editors', e);
      }
    };
    this.applyingOverlays = run().finally(() => {
      this.applyingOverlays = undefined;
      if (this.overlaysAgain && this.session === session) this.applyOverlays();
    });
  }

  /** After an update holds the saved text, the overlay kept since the save goes (unless the editor is dirty again). */
  private clearSavedOverlays(session: Session, uris: readonly string[]): void {
    for (const uri of uris) {
      if (!this.savedOverlays.delete(uri)) continue;
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
      if (!doc?.isDirty) session.index.clearOverlay(uri);
    }
  }

  // ───────────────────────────── state ─────────────────────────────

  private onProgress(session: Session, p: IndexProgress): void {
    if (this.session !== session || p.phase === 'done' || p.phase === 'opening') return;
    const percent = p.filesTotal > 0 ? Math.min(100, Math.floor((100 * p.filesDone) / p.filesTotal)) : 0;
    this.setState({ kind: 'indexing', model: session.model, phase: p.phase, filesDone: p.filesDone, filesTotal: p.filesTotal, chunksEmbedded: p.chunksEmbedded, percent });
  }

  private setReady(session: Session): void {
    if (this.session !== session) return;
    const stats = session.index.stats();
    this.setState({ kind: 'ready', model: session.model, files: stats.files, chunks: stats.chunks, skipped: countSkipped(session.skipped), partial: session.partial });
  }

  private setState(state: IndexState): void {
    this.current = state;
    this.stateEmitter.fire(state);
  }

  /** Shows an error about the index with the usual actions (Open Settings for model problems, Show Logs). */
  reportError(what: string, e: unknown): Promise<void> {
    return reportError(this.logger, what, e);
  }

  async dispose(): Promise<void> {
    clearTimeout(this.drainTimer);
    this.settleFull(undefined);
    for (const t of this.overlayTimers.values()) clearTimeout(t);
    this.watching.forEach((d) => d.dispose());
    this.disposables.forEach((d) => d.dispose());
    await this.closeSession();
  }
}

/** Whether `target` is `folder` or inside it (paths of this machine; case-insensitive where the file system is). */
function isSameOrInside(target: string, folder: string): boolean {
  const fold = (p: string): string => (process.platform === 'win32' || process.platform === 'darwin' ? p.toLowerCase() : p);
  const relative = path.relative(fold(path.resolve(folder)), fold(path.resolve(target)));
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

function countSkipped(skipped: readonly SkippedFile[]): SkippedCounts {
  const counts = { tooLarge: 0, binary: 0, unreadable: 0, special: 0 };
  for (const s of skipped) counts[s.reason]++;
  return counts;
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** `promise`, or a rejection as soon as `signal` aborts (the promise itself goes on for other waiters). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
