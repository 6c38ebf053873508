import * as vscode from 'vscode';
import type { AttentionPayload, AttentionViewToHost, HostToAttentionView } from '../protocol/attentionView';
import { isAttentionViewMessage } from '../protocol/attentionView';
import type { Logger } from './logger';
import { viewPage, WebviewChannel } from './webviewChannel';
import { webviewHtml, webviewOptions } from './webviewHtml';

/** Messages from the view other than the `ready` handshake, which the channel handles itself. */
export type AttentionViewRequest = Exclude<AttentionViewToHost, { type: 'ready' }>;

/**
 * The sidebar Attention view. A page that says `ready` (first load, shown again, reloaded) gets the pin state and
 * the last payload first, then any busy or error note that came after it; cursor marks and extra layers (which
 * belong to the page that asked) are not kept for a later page.
 */
export class AttentionViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'bertLens.attention';

  private view: vscode.WebviewView | undefined;
  private last: AttentionPayload | undefined;
  private pinned = false;
  private readonly channel: WebviewChannel<HostToAttentionView, AttentionViewToHost>;
  /** Fires for every valid request from the view. */
  readonly onDidRequest: vscode.Event<AttentionViewRequest>;

  constructor(
    private readonly extensionUri: vscode.Uri,
    logger: Logger,
  ) {
    this.channel = new WebviewChannel<HostToAttentionView, AttentionViewToHost>({
      name: 'Attention view',
      guard: isAttentionViewMessage,
      logger,
      holdWithoutPage: true,
      hold: (held, message) => {
        switch (message.type) {
          case 'show':
            // The greeting brings the newest payload; a busy or error note from before it is out of date.
            return held.filter((m) => m.type !== 'busy' && m.type !== 'error');
          case 'pinned':
          case 'cursorToken':
          case 'layer':
            return [...held];
          default:
            return [...held.filter((m) => m.type !== message.type), message];
        }
      },
      greeting: (): HostToAttentionView[] => [{ type: 'pinned', pinned: this.pinned }, ...(this.last ? [{ type: 'show' as const, payload: this.last }] : [])],
    });
    this.onDidRequest = this.channel.onDidRequest;
    this.channel.onDidDispose(() => (this.view = undefined));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, {
      title: 'Attention',
      script: 'attention',
      styles: ['webview.css', 'attention.css'],
    });
    this.channel.connect(viewPage(view));
  }

  /** True while the view is open and on screen. */
  get visible(): boolean {
    return this.channel.visible;
  }

  /** Reveals the view (creating its webview if needed) and resolves once it is ready for messages. */
  async reveal(): Promise<void> {
    if (this.view && this.channel.isReady) {
      if (!this.view.visible) this.view.show(true);
      return;
    }
    const ready = this.channel.whenReady();
    await vscode.commands.executeCommand(`${AttentionViewProvider.viewType}.focus`);
    await ready;
  }

  showBusy(message: string): void {
    this.channel.post({ type: 'busy', message });
  }

  showError(message: string): void {
    this.channel.post({ type: 'error', message });
  }

  /** The payload most recently sent to the view. */
  get lastShown(): AttentionPayload | undefined {
    return this.last;
  }

  show(payload: AttentionPayload): void {
    this.last = payload;
    this.channel.post({ type: 'show', payload });
  }

  /** Sends another layer of the shown maps. */
  showLayer(id: number, layer: number, weights: Uint16Array): void {
    if (this.last?.id === id) this.channel.post({ type: 'layer', id, layer, weights });
  }

  showCursorToken(index: number | null): void {
    this.channel.post({ type: 'cursorToken', index });
  }

  setPinned(pinned: boolean): void {
    this.pinned = pinned;
    this.channel.post({ type: 'pinned', pinned });
  }

  dispose(): void {
    this.channel.dispose();
  }
}
