import * as vscode from 'vscode';
import type { HoverSummaries } from './hoverSummaries';
import type { SummaryScheduler } from './scheduler';

/** How long the active editor must be left alone (no edit, scroll or switch) before visible symbols are warmed. */
export const IDLE_MS = 1500;

/**
 * Keeps hovers warm: when the active editor has been idle for {@link IDLE_MS}, summarises the symbols and
 * paragraphs in view that are not cached yet, in the background lane (one at a time, only while no user request
 * runs). Any edit, scroll or editor switch stops that work and starts the wait again.
 */
export class HoverWarmer implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];
  /** Rounds of warming started (read by tests). */
  rounds = 0;

  constructor(
    private readonly summaries: HoverSummaries,
    private readonly scheduler: SummaryScheduler,
  ) {
    this.disposables = [
      vscode.window.onDidChangeActiveTextEditor(() => this.restart()),
      // Symbols come from the language server, which may take seconds on a file just opened: ask at once, so the
      // first hover finds its target within its budget instead of showing nothing.
      vscode.window.onDidChangeVisibleTextEditors((editors) => this.primeSymbols(editors)),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        if (e.textEditor === vscode.window.activeTextEditor) this.restart();
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0 && e.document === vscode.window.activeTextEditor?.document) this.restart();
      }),
    ];
    this.primeSymbols(vscode.window.visibleTextEditors);
    this.restart();
  }

  /** Asks for the symbols of visible documents that get hovers (cached per document version by the targets). */
  private primeSymbols(editors: readonly vscode.TextEditor[]): void {
    for (const e of editors) if (this.summaries.enabledFor(e.document)) void this.summaries.targets.prime(e.document);
  }

  /** Stops background work and waits for the editor to be idle again. */
  restart(): void {
    this.scheduler.cancelBackground();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.warm(), IDLE_MS);
  }

  private async warm(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !this.summaries.enabledFor(editor.document)) return;
    const { document } = editor;
    const version = document.version;
    const targets = await this.summaries.targets.within(document, editor.visibleRanges, this.summaries.minLines);
    if (document.version !== version || editor !== vscode.window.activeTextEditor) return;
    this.rounds++;
    for (const t of targets) void this.summaries.warm(document, t);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.disposables.forEach((d) => d.dispose());
  }
}
