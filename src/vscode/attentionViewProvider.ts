import * as vscode from 'vscode';
import type { AttentionPayload, HostToAttentionView } from '../protocol/attentionView';
import { isAttentionViewMessage } from '../protocol/attentionView';
import type { Logger } from './logger';
import { webviewHtml, webviewOptions } from './webviewHtml';

/**
 * The sidebar Attention view. Messages posted before the webview reports `ready` are held and sent in order
 * once it does; only the newest `show` matters, so older pending ones are dropped.
 */
export class AttentionViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'bertLens.attention';

  private view: vscode.WebviewView | undefined;
  private ready = false;
  private queue: HostToAttentionView[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  private readonly inspectEmitter = new vscode.EventEmitter<void>();
  /** Fires when the user asks the view itself to inspect the current selection. */
  readonly onDidRequestInspection = this.inspectEmitter.event;
  /** The last payload shown, re-sent when the view is re-created (e.g. after being hidden). */
  private last: AttentionPayload | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly logger: Logger,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, {
      title: 'Attention',
      script: 'attention',
      styles: ['webview.css', 'attention.css'],
    });
    this.disposables.push(
      view.webview.onDidReceiveMessage((m: unknown) => {
        if (!isAttentionViewMessage(m)) {
          this.logger.warn(`ignored an invalid message from the Attention view: ${JSON.stringify(m)?.slice(0, 200)}`);
          return;
        }
        if (m.type === 'ready') this.onReady();
        else this.inspectEmitter.fire();
      }),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = undefined;
          this.ready = false;
        }
      }),
    );
  }

  /** Reveals the view (creating its webview if needed) and resolves once it is ready for messages. */
  async reveal(): Promise<void> {
    if (this.view && this.ready) {
      this.view.show(true);
      return;
    }
    const ready = new Promise<void>((resolve) => {
      const sub = this.readyEmitter.event(() => {
        sub.dispose();
        resolve();
      });
    });
    await vscode.commands.executeCommand(`${AttentionViewProvider.viewType}.focus`);
    await ready;
  }

  showBusy(message: string): void {
    this.post({ type: 'busy', message });
  }

  showError(message: string): void {
    this.post({ type: 'error', message });
  }

  /** The payload most recently sent to the view (read by tests and used to restore a re-created view). */
  get lastShown(): AttentionPayload | undefined {
    return this.last;
  }

  show(payload: AttentionPayload): void {
    this.last = payload;
    this.post({ type: 'show', payload });
  }

  private onReady(): void {
    this.ready = true;
    const queued = this.queue;
    this.queue = [];
    if (queued.length === 0 && this.last) queued.push({ type: 'show', payload: this.last });
    for (const m of queued) void this.view?.webview.postMessage(m);
    this.readyEmitter.fire();
  }

  private post(message: HostToAttentionView): void {
    if (this.view && this.ready) {
      void this.view.webview.postMessage(message);
      return;
    }
    this.queue = [...this.queue.filter((m) => m.type !== 'show' || message.type !== 'show'), message];
  }

  dispose(): void {
    this.readyEmitter.dispose();
    this.inspectEmitter.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
