import * as vscode from 'vscode';
import type { SearchResult } from '../../core/search/types';
import { MAX_CONTEXT_CHARS, MAX_QUERY_CHARS, isSearchViewMessage, type HostToSearchView, type SearchHit, type SearchMode, type SearchViewToHost } from '../../protocol/search';
import { errorMessage, isCancellation, reportViewRequestError } from '../errors';
import type { Logger } from '../logger';
import { panelPage, WebviewChannel } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';
import type { SearchService } from './searchService';

/** The answer to the newest search: the only hits `open` may refer to. */
interface Answer {
  readonly requestId: number;
  readonly results: readonly SearchResult[];
}

/**
 * The "BERT Lens: Semantic Search" panel: a webview in the editor area, revived after a reload by its serializer.
 * Every message from the webview is validated; posts wait for the webview's `ready`. A newer search cancels the one
 * in flight (host and model worker); results only ever answer the newest request.
 */
export class SearchPanel implements vscode.Disposable {
  static readonly viewType = 'bertLens.search';

  private panel: vscode.WebviewPanel | undefined;
  private readonly channel: WebviewChannel<HostToSearchView, SearchViewToHost>;
  private inFlight: { requestId: number; controller: AbortController } | undefined;
  private answer: Answer | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** Requests answered so far, and those cancelled by a newer one (read by tests). */
  readonly counts = { searches: 0, cancelled: 0, opened: 0 };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly search: SearchService,
    private readonly logger: Logger,
  ) {
    this.channel = new WebviewChannel<HostToSearchView, SearchViewToHost>({
      name: 'search panel',
      guard: isSearchViewMessage,
      logger,
      // A page that says ready gets the index state first; of everything else the newest of each kind waits.
      greeting: () => [{ type: 'indexState', state: this.search.state }],
      hold: (held, message) => (message.type === 'indexState' ? [...held] : [...held.filter((m) => m.type !== message.type), message]),
    });
    this.disposables.push(
      this.channel,
      this.channel.onDidRequest((m) => void this.onMessage(m)),
      // A new page (the panel was hidden and shown again, or reloaded): its request ids start again at 1, and its
      // answers to the old page's requests would be dropped, so whatever the old page asked for goes.
      this.channel.onDidBecomeReady(() => this.forgetRequests()),
      this.channel.onDidDispose(() => {
        this.panel = undefined;
        this.forgetRequests();
      }),
      vscode.window.registerWebviewPanelSerializer(SearchPanel.viewType, {
        deserializeWebviewPanel: async (panel) => this.revive(panel),
      }),
      search.onDidChangeState((state) => this.post({ type: 'indexState', state })),
    );
  }

  /** Opens the panel (or reveals it) with the query box focused; a `query` is put in the box and searched. */
  show(query?: string): void {
    if (this.panel) this.panel.reveal(undefined, false);
    else {
      const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
      this.attach(vscode.window.createWebviewPanel(SearchPanel.viewType, 'Semantic Search', column, { ...webviewOptions(this.extensionUri), enableFindWidget: true }));
    }
    if (query !== undefined) this.post({ type: 'setQuery', query: query.slice(0, MAX_QUERY_CHARS) });
    else this.post({ type: 'focusQuery' });
  }

  /** Searches for the editor's selection (or the line under the caret). */
  searchSelection(editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor): void {
    if (!editor) {
      this.show();
      return;
    }
    const { document, selection } = editor;
    const range = selection.isEmpty ? document.lineAt(selection.active.line).range : selection;
    // Cut before anything else: a selection can be the whole of a large file, and the query keeps its start only.
    const start = document.offsetAt(range.start);
    const end = Math.min(document.offsetAt(range.end), start + MAX_QUERY_CHARS);
    const text = document.getText(new vscode.Range(range.start, document.positionAt(end)));
    this.show(text.replace(/\s+/g, ' ').trim());
  }

  /**
   * Takes over a panel restored by VS Code after a reload. VS Code may restore it late (its tab was in the background
   * when a search opened a new panel): the panel already open is then the one in use, and the restored one is closed
   * rather than left behind with no host side.
   */
  revive(panel: vscode.WebviewPanel): void {
    if (this.panel) panel.dispose();
    else this.attach(panel);
  }

  get visible(): boolean {
    return this.channel.visible;
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'bert-lens.svg');
    panel.webview.options = webviewOptions(this.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { title: 'Semantic Search', script: 'search', styles: ['webview.css', 'search.css'] });
    this.channel.connect(panelPage(panel));
  }

  private forgetRequests(): void {
    this.inFlight?.controller.abort();
    this.inFlight = undefined;
    this.answer = undefined;
  }

  private async onMessage(m: Exclude<SearchViewToHost, { type: 'ready' }>): Promise<void> {
    switch (m.type) {
      case 'search':
        return this.runSearch(m.requestId, m.query, m.mode, m.k);
      case 'cancelSearch':
        if (this.inFlight && this.inFlight.requestId <= m.requestId) {
          this.inFlight.controller.abort();
          this.inFlight = undefined;
        }
        return;
      case 'open':
        return this.open(m.requestId, m.index, m.preserveFocus);
      case 'indexWorkspace':
        try {
          await this.search.indexWorkspace();
        } catch (e) {
          reportViewRequestError(this.logger, 'Could not index the workspace', e);
        }
        return;
      case 'cancelIndexing':
        this.search.cancelIndexing();
        return;
      case 'showSkipped':
        this.search.showSkipped();
        return;
    }
  }

  private async runSearch(requestId: number, query: string, mode: SearchMode, k: number): Promise<void> {
    if (this.inFlight) {
      if (this.inFlight.requestId > requestId) return; // an older request arriving late
      this.inFlight.controller.abort();
      this.counts.cancelled++;
    }
    const controller = new AbortController();
    const mine = { requestId, controller };
    this.inFlight = mine;
    const started = performance.now();
    try {
      const results = query.trim() === '' ? [] : await this.search.search(query, { mode, k }, controller.signal);
      if (this.inFlight !== mine) return;
      this.answer = { requestId, results };
      this.counts.searches++;
      const unsavedPending = this.search.unsavedPending;
      this.post({ type: 'results', requestId, query, mode, hits: results.map(toHit), elapsedMs: performance.now() - started, ...(unsavedPending > 0 ? { unsavedPending } : {}) });
    } catch (e) {
      if (controller.signal.aborted || this.inFlight !== mine) return;
      if (!isCancellation(e)) this.logger.error(`search for ${JSON.stringify(query.slice(0, 80))} failed`, e);
      this.post({ type: 'searchError', requestId, message: isCancellation(e) ? 'Cancelled.' : errorMessage(e) });
    } finally {
      if (this.inFlight === mine) this.inFlight = undefined;
    }
  }

  /** Opens hit `index` of the newest answer at its range: selected (caret at its start) and revealed. */
  private async open(requestId: number, index: number, preserveFocus: boolean): Promise<void> {
    const result = this.answer?.requestId === requestId ? this.answer.results[index] : undefined;
    if (!result) return;
    try {
      const uri = vscode.Uri.parse(result.uri, true);
      const editor = await vscode.window.showTextDocument(uri, { viewColumn: this.editorColumn(), preserveFocus, preview: true });
      const range = editor.document.validateRange(new vscode.Range(result.startLine, result.startCharacter, result.endLine, result.endCharacter));
      editor.selection = new vscode.Selection(range.end, range.start);
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      this.counts.opened++;
    } catch (e) {
      this.post({ type: 'searchError', requestId, message: `Could not open ${result.relPath}: ${errorMessage(e)}` });
    }
  }

  /** A column other than the panel's that shows an editor, so the panel stays visible; else beside the panel. */
  private editorColumn(): vscode.ViewColumn {
    const own = this.panel?.viewColumn;
    const other = vscode.window.visibleTextEditors.find((e) => e.viewColumn !== undefined && e.viewColumn !== own);
    return other?.viewColumn ?? vscode.ViewColumn.Beside;
  }

  private post(message: HostToSearchView): void {
    this.channel.post(message);
  }

  dispose(): void {
    this.inFlight?.controller.abort();
    this.panel?.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}

/** The protocol form of a core result: no URI (the host keeps it), offsets of the query terms for highlighting. */
export function toHit(r: SearchResult): SearchHit {
  const { why } = r;
  return {
    relPath: r.relPath,
    startLine: r.startLine,
    startCharacter: r.startCharacter,
    endLine: r.endLine,
    endCharacter: r.endCharacter,
    score: r.score,
    text: r.text,
    ...(r.context ? { context: r.context.slice(0, MAX_CONTEXT_CHARS) } : {}),
    unsaved: r.fromOverlay,
    why: {
      matchedTerms: why.matchedTerms,
      matches: why.matches.map((m) => ({ start: m.start, end: m.end })),
      ...(why.lexicalRank !== undefined ? { lexicalRank: why.lexicalRank } : {}),
      ...(why.lexicalScore !== undefined ? { lexicalScore: why.lexicalScore } : {}),
      ...(why.vectorRank !== undefined ? { vectorRank: why.vectorRank } : {}),
      ...(why.similarity !== undefined ? { similarity: why.similarity } : {}),
      ...(why.weakMatch ? { weakMatch: true } : {}),
    },
  };
}
