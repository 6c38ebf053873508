import * as vscode from 'vscode';
import type { RuntimeInfo, WorkerNotice } from '../../protocol/worker';
import type { Logger } from '../logger';

/**
 * Hears which onnxruntime the model worker runs on. When it is the WebAssembly fallback the user is told once per
 * window (the worker says it again after every restart), and the status bar shows it.
 */
export class RuntimeNotice implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<RuntimeInfo>();
  readonly onDidChange = this.emitter.event;
  /** The runtime of the running (or last) worker. */
  runtime: RuntimeInfo | undefined;
  /** How many times the user was told (read by tests). */
  shown = 0;

  constructor(private readonly logger: Logger) {}

  handle(notice: WorkerNotice): void {
    if (notice.type !== 'runtime') return;
    const changed = JSON.stringify(notice.runtime) !== JSON.stringify(this.runtime);
    this.runtime = notice.runtime;
    if (changed) this.emitter.fire(notice.runtime);
    if (notice.runtime.kind === 'native') {
      if (changed) this.logger.info('models run on the native onnxruntime');
      return;
    }
    if (changed) this.logger.warn(`models run on onnxruntime-web (WebAssembly) because ${notice.runtime.reason}`);
    if (this.shown > 0) return;
    this.shown++;
    void vscode.window
      .showInformationMessage(
        `BERT Lens runs its models on WebAssembly because ${notice.runtime.reason}. Everything works, 2–5× slower than the native runtime.`,
        'Show Logs',
      )
      .then((choice) => {
        if (choice === 'Show Logs') this.logger.show();
      });
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
