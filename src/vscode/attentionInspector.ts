import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttentionViewProvider } from './attentionViewProvider';
import { errorMessage, isCancellation, reportError } from './errors';
import type { Logger } from './logger';
import type { ModelService } from './modelService';

/** Runs attention for the editor selection and shows it in the Attention view; a newer request cancels the older. */
export class AttentionInspector implements vscode.Disposable {
  private running: vscode.CancellationTokenSource | undefined;

  constructor(
    private readonly models: ModelService,
    private readonly view: AttentionViewProvider,
    private readonly logger: Logger,
  ) {}

  /** Inspects the selection of `editor` (the active editor by default); an empty selection means its line. */
  async inspectSelection(editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor): Promise<void> {
    if (!editor) {
      void vscode.window.showInformationMessage('BERT Lens: open a document and select the text to inspect.');
      return;
    }
    const { document, selection } = editor;
    const range = selection.isEmpty ? document.lineAt(selection.active.line).range : new vscode.Range(selection.start, selection.end);
    const text = document.getText(range);
    if (text.trim() === '') {
      void vscode.window.showInformationMessage('BERT Lens: select some text to inspect its attention.');
      return;
    }
    this.running?.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.running = cts;
    const label = `${path.basename(document.uri.path)}:${range.start.line + 1}${range.end.line > range.start.line ? `-${range.end.line + 1}` : ''}`;
    try {
      await this.view.reveal();
      this.view.showBusy(`Computing attention for ${label}…`);
      const started = performance.now();
      const maps = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'BERT Lens: attention' },
        () => this.models.attention(text, cts.token),
      );
      if (cts.token.isCancellationRequested) return;
      this.view.show({
        ...maps,
        source: { label, uri: document.uri.toString(), offset: document.offsetAt(range.start) },
        elapsedMs: performance.now() - started,
      });
      this.logger.info(`attention for ${label}: ${maps.tokens.length} tokens, ${maps.layers}x${maps.heads} maps`);
    } catch (e) {
      if (cts.token.isCancellationRequested || isCancellation(e)) return;
      this.view.showError(errorMessage(e));
      await reportError(this.logger, 'Could not compute attention', e, () => this.inspectSelection(editor));
    } finally {
      if (this.running === cts) this.running = undefined;
      cts.dispose();
    }
  }

  dispose(): void {
    this.running?.cancel();
  }
}
