import * as vscode from 'vscode';
import { isSummaryViewMessage, type HostToSummaryView, type SummaryViewToHost } from '../../protocol/summaryView';
import type { Logger } from '../logger';
import { panelPage, WebviewChannel } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/** Most messages {@link SummaryPanel.sent} keeps. */
const MAX_RECORDED = 100;
/** Most stream steps {@link SummaryPanel.streamSteps} keeps. */
const MAX_STEPS = 10_000;

/** Messages from the panel other than the `ready` handshake, which the panel class handles itself. */
export type SummaryPanelRequest = Exclude<SummaryViewToHost, { type: 'ready' }>;

/**
 * The Summary panel's webview plumbing: one editor panel, created beside the editor on first use and revived after
 * a reload (its page restores the last summary from its own state). Messages posted while the page is not ready
 * (loading, or hidden: the page is not kept alive when hidden) are held and sent in order when it says `ready`;
 * of the streamed text and the progress only the newest is kept, and a new summary drops what was held for the old
 * one. Every message from the page is validated before anyone sees it.
 */
export class SummaryPanel implements vscode.Disposable {
  static readonly viewType = 'bertLens.summary';

  private panel: vscode.WebviewPanel | undefined;
  private readonly channel: WebviewChannel<HostToSummaryView, SummaryViewToHost>;
  /** Fires for every valid request from the page. */
  readonly onDidRequest: vscode.Event<SummaryPanelRequest>;
  private record: HostToSummaryView[] = [];
  private steps: number[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    logger: Logger,
  ) {
    this.channel = new WebviewChannel<HostToSummaryView, SummaryViewToHost>({
      name: 'Summary panel',
      guard: isSummaryViewMessage,
      logger,
      holdWithoutPage: true,
      hold: (held, message) => {
        // A new summary drops what was held for the old one; the page shows only the newest text and progress.
        if (message.type === 'start') return [message];
        if (message.type === 'stream' || message.type === 'progress') return [...held.filter((m) => m.type !== message.type), message];
        return [...held, message];
      },
    });
    this.onDidRequest = this.channel.onDidRequest;
    this.channel.onDidDispose(() => (this.panel = undefined));
  }

  /** Shows the panel beside the active editor (creating it if needed) without taking focus. */
  show(): void {
    if (this.panel) {
      if (!this.panel.visible) this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      SummaryPanel.viewType,
      'Summary',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      webviewOptions(this.extensionUri),
    );
    this.attach(panel);
  }

  /**
   * Takes over a panel restored by VS Code after a reload. VS Code may restore it late (its tab was in the background,
   * or a Summarize ran while the window was still loading): a panel opened this session is then newer and may be
   * showing a summary in progress, so the restored one, which only holds an older summary, is closed instead.
   */
  revive(panel: vscode.WebviewPanel): void {
    if (this.panel) {
      panel.dispose();
      return;
    }
    panel.webview.options = webviewOptions(this.extensionUri);
    this.attach(panel);
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /**
   * The current summary's messages to the page, newest last (read by tests). Kept small: stream updates each carry
   * the whole text so far, so only the newest is kept, and past {@link MAX_RECORDED} messages the oldest after
   * `start` go.
   */
  get sent(): readonly HostToSummaryView[] {
    return this.record;
  }

  /** The steps of the current summary's stream updates, in order (the first {@link MAX_STEPS}; read by tests). */
  get streamSteps(): readonly number[] {
    return this.steps;
  }

  post(message: HostToSummaryView): void {
    this.remember(message);
    this.channel.post(message);
  }

  private remember(message: HostToSummaryView): void {
    if (message.type === 'start') {
      this.record = [];
      this.steps = [];
    }
    if (message.type === 'stream') {
      const previous = this.record.findIndex((m) => m.type === 'stream' && m.id === message.id);
      if (previous >= 0) this.record.splice(previous, 1);
      if (this.steps.length < MAX_STEPS) this.steps.push(message.step);
    }
    this.record.push(message);
    if (this.record.length > MAX_RECORDED) this.record.splice(this.record[0]?.type === 'start' ? 1 : 0, 1);
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'bert-lens.svg');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, { title: 'Summary', script: 'summary', styles: ['webview.css', 'summary.css'] });
    this.channel.connect(panelPage(panel));
  }

  dispose(): void {
    this.panel?.dispose();
    this.channel.dispose();
  }
}
