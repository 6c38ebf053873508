import * as vscode from 'vscode';
import type { AttentionPayload, AttentionViewToHost, HostToAttentionView } from '../protocol/attentionView';
import { isAttentionViewMessage } from '../protocol/attentionView';
import type { Logger } from './logger';
import { webviewHtml, webviewOptions } from './webviewHtml';

/** Messages from the view other than the `ready` handshake, which the provider handles itself. */
export type AttentionViewRequest = Exclude<AttentionViewToHost, { type: 'ready' }>;

/**
 * The sidebar Attention view's webview plumbing. Messages posted before the webview reports `ready` are held and
 * sent in order once it does; only the newest `show` matters, so older pending ones are dropped. Every message
 * from the webview is validated before anyone sees it.
 */
export class AttentionViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'bertLens.attention';

  private view: vscode.WebviewView | undefined;
  private ready = false;
  private queue: HostToAttentionView[] = [];
  private disposables: vscode.Disposable[] = [];
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  private readonly requestEmitter = new vscode.EventEmitter<AttentionViewRequest>();
  /** Fires for every valid request from the view. */
  readonly onDidRequest = this.requestEmitter.event;
  /** The last payload shown, re-sent when the view is re-created (e.g. after being hidden). */
  private last: AttentionPayload | undefined;
  private pinned = false;

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
    // Listeners of this webview live as long as it does (the view is re-created after being closed).
    const listeners = [
      view.webview.onDidReceiveMessage((m: unknown) => {
        if (!isAttentionViewMessage(m)) {
          this.logger.warn(`ignored an invalid message from the Attention view: ${JSON.stringify(m)?.slice(0, 200)}`);
          return;
        }
        if (m.type === 'ready') this.onReady();
        else this.requestEmitter.fire(m);
      }),
    ];
    listeners.push(
      view.onDidDispose(() => {
        listeners.forEach((d) => d.dispose());
        this.disposables = this.disposables.filter((d) => !listeners.includes(d));
        if (this.view === view) {
          this.view = undefined;
          this.ready = false;
        }
      }),
    );
    this.disposables.push(...listeners);
  }

  /** True while the view is open and on screen. */
  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  /** Reveals the view (creating its webview if needed) and resolves once it is ready for messages. */
  async reveal(): Promise<void> {
    if (this.view && this.ready) {
      if (!this.view.visible) this.view.show(true);
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

  /** The payload most recently sent to the view. */
  get lastShown(): AttentionPayload | undefined {
    return this.last;
  }

  show(payload: AttentionPayload): void {
    this.last = payload;
    this.post({ type: 'show', payload });
  }

  showCursorToken(index: number | null): void {
    if (this.ready) this.post({ type: 'cursorToken', index });
  }

  /** Sends another layer of the shown maps. */
  showLayer(id: number, layer: number, weights: Uint16Array): void {
    if (this.last?.id === id) this.post({ type: 'layer', id, layer, weights });
  }

  setPinned(pinned: boolean): void {
    this.pinned = pinned;
    this.post({ type: 'pinned', pinned });
  }

  private onReady(): void {
    this.ready = true;
    const queued: HostToAttentionView[] = this.queue.filter((m) => m.type !== 'pinned');
    this.queue = [];
    if (!queued.some((m) => m.type === 'show') && this.last) queued.unshift({ type: 'show', payload: this.last });
    queued.unshift({ type: 'pinned', pinned: this.pinned });
    for (const m of queued) void this.view?.webview.postMessage(m);
    this.readyEmitter.fire();
  }

  private post(message: HostToAttentionView): void {
    if (this.view && this.ready) {
      void this.view.webview.postMessage(message);
      return;
    }
    if (message.type === 'cursorToken' || message.type === 'layer') return;
    this.queue = [...this.queue.filter((m) => m.type !== message.type || message.type === 'busy'), message];
  }

  dispose(): void {
    this.readyEmitter.dispose();
    this.requestEmitter.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
