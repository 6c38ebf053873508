import * as vscode from 'vscode';
import { RepeatedWarnings, type Logger, type RepeatLimit } from './logger';

/** A message with a literal `type`, as every webview protocol has. */
interface Typed {
  readonly type: string;
}

export interface WebviewChannelOptions<TOut extends Typed, TIn extends Typed> {
  /** Name of the surface, for logs. */
  readonly name: string;
  /** Validates every message from the page; others are logged and dropped. */
  readonly guard: (m: unknown) => m is TIn;
  readonly logger: Logger;
  /**
   * What waits for the page while it is not ready, after `message` is added (default: the newest message of each
   * type, in order). Return the list unchanged to drop `message`.
   */
  readonly hold?: (held: readonly TOut[], message: TOut) => TOut[];
  /** Messages sent first whenever a page says `ready`, before those held (e.g. the state a new page must know). */
  readonly greeting?: () => readonly TOut[];
  /** Hold messages posted before any page exists, for the first page (default: drop them). */
  readonly holdWithoutPage?: boolean;
  /** How many invalid messages are logged in full (default: the first 5 a minute, then one line that counts the rest). */
  readonly invalidLogLimit?: RepeatLimit;
}

/** The page of a webview panel or view: its webview and when it goes away or out of sight. */
export interface WebviewPage {
  readonly webview: vscode.Webview;
  readonly onDidDispose: vscode.Event<void>;
  /** Fires when the page is shown or hidden; `visible` tells which. */
  readonly onDidChangeVisibility: vscode.Event<unknown>;
  readonly visible: boolean;
}

/** The page of a webview panel, for {@link WebviewChannel.connect}. */
export function panelPage(panel: vscode.WebviewPanel): WebviewPage {
  return {
    webview: panel.webview,
    onDidDispose: panel.onDidDispose,
    onDidChangeVisibility: panel.onDidChangeViewState,
    get visible() {
      return panel.visible;
    },
  };
}

/** The page of a webview view, for {@link WebviewChannel.connect}. */
export function viewPage(view: vscode.WebviewView): WebviewPage {
  return {
    webview: view.webview,
    onDidDispose: view.onDidDispose,
    onDidChangeVisibility: view.onDidChangeVisibility,
    get visible() {
      return view.visible;
    },
  };
}

/**
 * The host end of one webview surface: validates what the page sends, and holds what the host posts until the page
 * says `ready`. A hidden page is torn down by VS Code (BERT Lens keeps no hidden webviews alive), so hiding makes the
 * channel wait for the next `ready` again; the page restores its own state and the held messages catch it up.
 */
export class WebviewChannel<TOut extends Typed, TIn extends Typed> implements vscode.Disposable {
  private page: WebviewPage | undefined;
  private ready = false;
  private held: TOut[] = [];
  private pageListeners: vscode.Disposable[] = [];
  private readonly requestEmitter = new vscode.EventEmitter<Exclude<TIn, { type: 'ready' }>>();
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  private readonly goneEmitter = new vscode.EventEmitter<void>();
  /** Every valid message from the page other than `ready`. */
  readonly onDidRequest = this.requestEmitter.event;
  /** A page said `ready`: a new page after loading, showing again, or reloading. */
  readonly onDidBecomeReady = this.readyEmitter.event;
  /** The page was disposed (the panel or view closed). */
  readonly onDidDispose = this.goneEmitter.event;

  private readonly invalid: RepeatedWarnings;

  constructor(private readonly options: WebviewChannelOptions<TOut, TIn>) {
    this.invalid = new RepeatedWarnings(options.logger, `invalid messages from the ${options.name}`, options.invalidLogLimit);
  }

  /** Talks to `page` from now on (a new panel, a revived one, or a re-created view). */
  connect(page: WebviewPage): void {
    this.release();
    this.page = page;
    this.ready = false;
    this.pageListeners = [
      page.webview.onDidReceiveMessage((m: unknown) => {
        if (!this.options.guard(m)) {
          this.invalid.warn(() => `ignored an invalid message from the ${this.options.name}: ${JSON.stringify(m)?.slice(0, 200)}`);
          return;
        }
        if (m.type === 'ready') this.onReady();
        else this.requestEmitter.fire(m as Exclude<TIn, { type: 'ready' }>);
      }),
      page.onDidChangeVisibility(() => {
        if (!page.visible) this.ready = false;
      }),
      page.onDidDispose(() => {
        if (this.page !== page) return;
        this.release();
        this.page = undefined;
        this.ready = false;
        this.held = [];
        this.goneEmitter.fire();
      }),
    ];
  }

  get connected(): boolean {
    return this.page !== undefined;
  }

  get isReady(): boolean {
    return this.ready;
  }

  get visible(): boolean {
    return this.page?.visible ?? false;
  }

  /** Resolves once a page has said `ready` (at once when one has). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => {
      const sub = this.readyEmitter.event(() => {
        sub.dispose();
        resolve();
      });
    });
  }

  /** Sends `message` now, or holds it until the page is ready (without a page only with `holdWithoutPage`). */
  post(message: TOut): void {
    if (this.page && this.ready) {
      void this.page.webview.postMessage(message);
      return;
    }
    if (!this.page && !this.options.holdWithoutPage) return;
    this.held = this.options.hold ? this.options.hold(this.held, message) : [...this.held.filter((m) => m.type !== message.type), message];
  }

  private onReady(): void {
    this.ready = true;
    const messages = [...(this.options.greeting?.() ?? []), ...this.held];
    this.held = [];
    for (const m of messages) void this.page?.webview.postMessage(m);
    this.readyEmitter.fire();
  }

  private release(): void {
    this.pageListeners.forEach((d) => d.dispose());
    this.pageListeners = [];
  }

  dispose(): void {
    this.release();
    this.invalid.dispose();
    this.requestEmitter.dispose();
    this.readyEmitter.dispose();
    this.goneEmitter.dispose();
  }
}
