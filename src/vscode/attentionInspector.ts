import * as path from 'node:path';
import * as vscode from 'vscode';
import { nestedAttentions, type TokenSpan } from '../protocol/attention';
import type { AttentionPayload, ExportFormat } from '../protocol/attentionView';
import type { Config } from './config';
import type { AttentionViewProvider, AttentionViewRequest } from './attentionViewProvider';
import { errorMessage, isCancellation, reportError, reportViewRequestError } from './errors';
import type { Logger } from './logger';
import type { ModelService } from './modelService';

/** What the view shows: the text and where it came from, so windows can move and tokens link back. */
interface Inspection {
  readonly text: string;
  readonly uri: vscode.Uri;
  /** Document version when inspected; token ranges are only trusted while it is unchanged. */
  readonly version: number;
  readonly offset: number;
  readonly label: string;
  readonly range: vscode.Range;
}

/**
 * Who asked: the user through a command or the editor (answered with notifications), or the Attention view (answered
 * in the view and the log only, so no message from a page raises a notification).
 */
type Origin = 'editor' | 'view';

/** Selections longer than this are not followed automatically (the command still works on them). */
const FOLLOW_MAX_CHARS = 20_000;

/**
 * Drives the Attention view: inspects the selection on command or, unless pinned, whenever it changes
 * (debounced, newest wins); links tokens to the editor in both directions; moves windows over long inputs;
 * exports the data and the picture.
 */
export class AttentionInspector implements vscode.Disposable {
  private running: vscode.CancellationTokenSource | undefined;
  private current: Inspection | undefined;
  private pinned = false;
  private followTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly highlight = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.findMatchHighlightBackground'),
    borderColor: new vscode.ThemeColor('editor.findMatchHighlightBorder'),
    borderStyle: 'solid',
    borderWidth: '1px',
  });
  /** The document range currently highlighted for a token of the view (read by tests). */
  highlightedRange: vscode.Range | undefined;
  /** Number of attention requests sent to the model (read by tests). */
  requests = 0;

  constructor(
    private readonly models: ModelService,
    private readonly view: AttentionViewProvider,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.disposables.push(
      this.highlight,
      view.onDidRequest((r) => void this.onViewRequest(r).catch((e: unknown) => this.failedRequest(r, e))),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
    );
  }

  /** Inspects the selection of `editor` (the active editor by default); an empty selection means its line. */
  async inspectSelection(editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor, origin: Origin = 'editor'): Promise<void> {
    const tell = (what: string): void => {
      if (origin === 'view') this.view.showError(what);
      else void vscode.window.showInformationMessage(`BERT Lens: ${what}`);
    };
    if (!editor) return tell('open a document and select the text to inspect.');
    const { document, selection } = editor;
    const range = selection.isEmpty ? document.lineAt(selection.active.line).range : trimLineBreak(document, selection);
    if (document.getText(range).trim() === '') return tell('select some text to inspect its attention.');
    await this.inspect(document, range, 0, origin);
  }

  private async inspect(document: vscode.TextDocument, range: vscode.Range, windowStart: number, origin: Origin = 'editor'): Promise<void> {
    const text = document.getText(range);
    this.running?.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.running = cts;
    const lines = `${range.start.line + 1}${range.end.line > range.start.line ? `-${range.end.line + 1}` : ''}`;
    const inspection: Inspection = {
      text,
      uri: document.uri,
      version: document.version,
      offset: document.offsetAt(range.start),
      label: `${path.basename(document.uri.path)}:${lines}`,
      range,
    };
    try {
      await this.view.reveal();
      this.view.showBusy(`Computing attention for ${inspection.label}…`);
      const started = performance.now();
      this.requests++;
      const layer = this.view.lastShown?.layer ?? 0;
      const maps = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'BERT Lens: attention' }, () =>
        this.models.attentionView(text, cts.token, windowStart, layer),
      );
      if (cts.token.isCancellationRequested) return;
      this.current = inspection;
      this.clearHighlight();
      const payload: AttentionPayload = {
        ...maps,
        tokens: withSurfaces(maps.tokens, text),
        source: { label: inspection.label, uri: document.uri.toString(), offset: inspection.offset },
        elapsedMs: performance.now() - started,
        sentAt: Date.now(),
      };
      this.view.show(payload);
      void vscode.commands.executeCommand('setContext', 'bertLens.attentionShown', true);
      this.logger.info(`attention for ${inspection.label}: ${maps.tokens.length} tokens, ${maps.layers}×${maps.heads} maps`);
    } catch (e) {
      if (cts.token.isCancellationRequested || isCancellation(e)) return;
      this.view.showError(errorMessage(e));
      if (origin === 'view') reportViewRequestError(this.logger, 'Could not compute attention', e);
      else await reportError(this.logger, 'Could not compute attention', e, () => this.inspect(document, range, windowStart));
    } finally {
      if (this.running === cts) this.running = undefined;
      cts.dispose();
    }
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const { document } = e.textEditor;
    if (document.uri.scheme === 'output' || !this.view.visible) return;
    const selection = e.selections[0];
    if (!selection) return;
    if (selection.isEmpty) {
      this.view.showCursorToken(this.tokenAt(document, selection.active));
      return;
    }
    if (this.pinned || !this.config.settings.attentionFollowsSelection) return;
    if (document.offsetAt(selection.end) - document.offsetAt(selection.start) > FOLLOW_MAX_CHARS) return;
    const range = trimLineBreak(document, selection);
    if (this.current && this.current.uri.toString() === document.uri.toString() && this.current.range.isEqual(range)) return;
    clearTimeout(this.followTimer);
    this.followTimer = setTimeout(() => {
      if (document.getText(range).trim() !== '') void this.inspect(document, range, 0);
    }, 400);
  }

  /** Index of the token of the shown payload under `position`, or null. */
  private tokenAt(document: vscode.TextDocument, position: vscode.Position): number | null {
    const payload = this.view.lastShown;
    const current = this.current;
    if (!payload || !current || current.uri.toString() !== document.uri.toString() || current.version !== document.version) return null;
    const offset = document.offsetAt(position) - current.offset;
    const index = payload.tokens.findIndex((t) => !t.special && t.start <= offset && offset < t.end);
    return index >= 0 ? index : null;
  }

  private async onViewRequest(request: AttentionViewRequest): Promise<void> {
    switch (request.type) {
      case 'inspectSelection':
        return this.inspectSelection(vscode.window.activeTextEditor, 'view');
      case 'highlightToken':
        return this.highlightToken(request.index, request.reveal);
      case 'setPinned':
        this.setPinned(request.pinned);
        return;
      case 'moveWindow': {
        const current = this.current;
        if (!current) return;
        const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === current.uri.toString());
        if (!document || document.version !== current.version) {
          this.view.showError('The document changed since it was inspected; select the text again.');
          return;
        }
        return this.inspect(document, current.range, request.start, 'view');
      }
      case 'requestLayer':
        this.view.showLayer(request.id, request.layer, await this.models.attentionLayer(request.id, request.layer));
        return;
      case 'exportJson':
        if (this.view.lastShown) await this.exportJson();
        return;
      case 'exportImage':
        await this.exportImage(request.format, request.data);
        return;
    }
  }

  /** A request from the view that failed: said in the view, the log and the status bar; never a notification. */
  private failedRequest(request: AttentionViewRequest, e: unknown): void {
    if (isCancellation(e)) return;
    // A layer of maps the view has already replaced: the answer would not be shown anyway.
    const stale = request.type === 'requestLayer' && request.id !== this.view.lastShown?.id;
    if (!stale) this.view.showError(errorMessage(e));
    const what = request.type === 'exportJson' || request.type === 'exportImage' ? 'Could not export the attention' : `The Attention view's ${request.type} request failed`;
    reportViewRequestError(this.logger, what, e);
  }

  setPinned(pinned: boolean): void {
    this.pinned = pinned;
    if (pinned) clearTimeout(this.followTimer);
    this.view.setPinned(pinned);
    void vscode.commands.executeCommand('setContext', 'bertLens.attentionPinned', pinned);
  }

  private async highlightToken(index: number | null, reveal: boolean): Promise<void> {
    const payload = this.view.lastShown;
    const current = this.current;
    const token = index === null ? undefined : payload?.tokens[index];
    if (!payload || !current || !token || token.special) {
      this.clearHighlight();
      return;
    }
    let editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === current.uri.toString());
    if (!editor && reveal) editor = await vscode.window.showTextDocument(current.uri, { preserveFocus: true, preview: true });
    if (!editor || editor.document.version !== current.version) return;
    const range = new vscode.Range(editor.document.positionAt(current.offset + token.start), editor.document.positionAt(current.offset + token.end));
    editor.setDecorations(this.highlight, [range]);
    this.highlightedRange = range;
    if (reveal) editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private clearHighlight(): void {
    for (const editor of vscode.window.visibleTextEditors) editor.setDecorations(this.highlight, []);
    this.highlightedRange = undefined;
  }

  /** Saves the shown attention data as JSON (`attentions[layer][head][query][key]`); `target` skips the dialog. */
  async exportJson(target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const payload = this.view.lastShown;
    if (!payload) {
      void vscode.window.showInformationMessage('BERT Lens: inspect some text first; there is no attention to export.');
      return undefined;
    }
    const uri = target ?? (await this.askTarget(payload, 'json'));
    if (!uri) return undefined;
    const maps = await this.models.attentionMaps(payload.id);
    const json = {
      model: maps.model,
      source: payload.source,
      tokens: maps.tokens,
      layers: maps.layers,
      heads: maps.heads,
      truncated: maps.truncated,
      window: maps.window,
      read: maps.read,
      attentions: nestedAttentions(maps),
    };
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(JSON.stringify(json)));
    void vscode.window.showInformationMessage(`BERT Lens: attention saved to ${uri.fsPath || uri.toString()}`);
    return uri;
  }

  private async exportImage(format: ExportFormat, data: string): Promise<void> {
    const payload = this.view.lastShown;
    if (!payload) return;
    const uri = await this.askTarget(payload, format);
    if (!uri) return;
    const bytes = Buffer.from(data.slice('data:image/png;base64,'.length), 'base64');
    await vscode.workspace.fs.writeFile(uri, bytes);
    void vscode.window.showInformationMessage(`BERT Lens: picture saved to ${uri.fsPath || uri.toString()}`);
  }

  private askTarget(payload: AttentionPayload, extension: 'json' | ExportFormat): Thenable<vscode.Uri | undefined> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `attention-${payload.source.label.replace(/[^\w.-]+/g, '_')}.${extension}`;
    return vscode.window.showSaveDialog({
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}),
      filters: { [extension.toUpperCase()]: [extension] },
      title: 'Export attention',
    });
  }

  dispose(): void {
    clearTimeout(this.followTimer);
    this.running?.cancel();
    this.disposables.forEach((d) => d.dispose());
  }
}

/**
 * Tokens labelled with the text they cover in `text` (what the user wrote, not the tokenizer's form: no '▁' or
 * '##', original case, a line break rather than the unknown piece it became); special tokens keep their names.
 */
function withSurfaces(tokens: readonly TokenSpan[], text: string): TokenSpan[] {
  return tokens.map((t) => (t.special || t.end <= t.start ? t : { ...t, text: text.slice(t.start, t.end) }));
}

/** A selection that ends at the start of a line (whole-line selections) without that final line break. */
function trimLineBreak(document: vscode.TextDocument, selection: vscode.Selection): vscode.Range {
  const { start, end } = selection;
  if (end.character === 0 && end.line > start.line) return new vscode.Range(start, document.lineAt(end.line - 1).range.end);
  return new vscode.Range(start, end);
}
