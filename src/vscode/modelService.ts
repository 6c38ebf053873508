import * as vscode from 'vscode';
import type { AttentionMaps, AttentionViewData } from '../protocol/attention';
import type { Embeddings, LocalModel, ModelInfo } from '../protocol/worker';
import { HubDownloader, ModelDownloadError } from '../core/models/hubDownloader';
import { modelDisplayName, USE_LITE_REF } from '../core/models/modelRef';
import { ModelResolver } from '../core/models/modelResolver';
import type { ModelWorkerClient } from '../core/worker/modelWorkerClient';
import type { Config } from './config';
import { abortSignalFor } from './errors';
import type { Logger } from './logger';

/**
 * The extension's access to models: resolves the configured model (downloading it with a cancellable progress
 * notification on first use) and runs requests on the model worker.
 */
export class ModelService implements vscode.Disposable {
  /** The Hub model that could not be had this session, and why; the bundled encoder stands in for it. */
  private fallback: { readonly model: string; readonly reason: string } | undefined;
  private readonly subscription: vscode.Disposable;
  /** How many times the user was told about a fallback (read by tests). */
  fallbackNotices = 0;

  constructor(
    private readonly config: Config,
    private readonly worker: ModelWorkerClient,
    private readonly cacheDir: string,
    private readonly logger: Logger,
  ) {
    // A changed model, mirror or download setting deserves a fresh try.
    this.subscription = config.onDidChange(() => (this.fallback = undefined));
  }

  dispose(): void {
    this.subscription.dispose();
  }

  /** Why the configured model is being replaced by the bundled encoder, if it is. */
  get fallbackReason(): string | undefined {
    return this.fallback?.model === this.config.settings.model ? this.fallback.reason : undefined;
  }

  private resolver(): ModelResolver {
    const s = this.config.settings;
    return new ModelResolver(new HubDownloader({ cacheDir: this.cacheDir, host: s.hubMirror, allowDownloads: s.allowDownloads }));
  }

  private baseDir(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  /**
   * The configured model as a local folder; downloads it first if needed, with progress and a Cancel button.
   * A Hub model that cannot be had (downloads off, offline, download failed) is replaced by the bundled encoder
   * for the rest of the session, and the user is told once.
   */
  async resolveModel(token: vscode.CancellationToken): Promise<LocalModel> {
    const { model } = this.config.settings;
    if (this.fallback?.model === model) return bundledEncoder();
    try {
      return await this.resolveConfigured(token);
    } catch (e) {
      if (!(e instanceof ModelDownloadError) || e.kind === 'cancelled' || !ModelResolver.isHubModel(model)) throw e;
      this.fallback = { model, reason: e.message };
      this.logger.warn(`${model} is not available (${e.message}); using ${USE_LITE_REF}`);
      void this.announceFallback(model, e.message);
      return bundledEncoder();
    }
  }

  private async announceFallback(model: string, reason: string): Promise<void> {
    this.fallbackNotices++;
    const choice = await vscode.window.showInformationMessage(
      `BERT Lens is using the bundled ${modelDisplayName(USE_LITE_REF)} because ${model} is not available. ${reason}`,
      'Change Model',
      'Retry Download',
    );
    if (choice === 'Change Model') await vscode.commands.executeCommand('workbench.action.openSettings', 'bertLens.model');
    else if (choice === 'Retry Download') this.fallback = undefined;
  }

  private async resolveConfigured(token: vscode.CancellationToken): Promise<LocalModel> {
    const { model, dtype } = this.config.settings;
    const resolver = this.resolver();
    const baseDir = this.baseDir();
    if (!resolver.needsDownload(model, dtype, baseDir)) return resolver.resolve(model, dtype, baseDir ? { baseDir } : {});
    this.logger.info(`downloading ${model} (${dtype})`);
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `BERT Lens: downloading ${model}`, cancellable: true },
      async (progress, progressToken) => {
        const controller = new AbortController();
        const subscriptions = [token, progressToken].map((t) => t.onCancellationRequested(() => controller.abort()));
        let reported = 0;
        try {
          return await resolver.resolve(model, dtype, {
            signal: controller.signal,
            ...(baseDir ? { baseDir } : {}),
            onProgress: (p) => {
              const fileShare = p.fileTotal ? p.fileLoaded / p.fileTotal : 0;
              const percent = ((p.filesDone + fileShare) / p.filesTotal) * 100;
              const size = p.fileTotal ? ` (${(p.fileLoaded / 1e6).toFixed(1)} of ${(p.fileTotal / 1e6).toFixed(1)} MB)` : '';
              progress.report({ message: `${p.file}${size}`, increment: Math.max(0, percent - reported) });
              reported = Math.max(reported, percent);
            },
          });
        } finally {
          subscriptions.forEach((d) => d.dispose());
        }
      },
    );
  }

  async modelInfo(token: vscode.CancellationToken): Promise<ModelInfo> {
    const model = await this.resolveModel(token);
    return this.run(token, (signal) => this.worker.request({ type: 'modelInfo', model }, { signal }));
  }

  async attention(text: string, token: vscode.CancellationToken, windowStart = 0): Promise<AttentionMaps> {
    const model = await this.resolveModel(token);
    return this.run(token, (signal) => this.worker.request({ type: 'attention', model, text, windowStart }, { signal }));
  }

  /** Attention prepared for the Attention view, starting with `layer`; the worker keeps the full maps under its id. */
  async attentionView(text: string, token: vscode.CancellationToken, windowStart: number, layer: number): Promise<AttentionViewData> {
    const model = await this.resolveModel(token);
    return this.run(token, (signal) => this.worker.request({ type: 'attentionView', model, text, windowStart, layer }, { signal }));
  }

  /** One more layer of maps behind an {@link attentionView} result. */
  attentionLayer(id: number, layer: number): Promise<Uint16Array> {
    return this.worker.request({ type: 'attentionLayer', id, layer });
  }

  /** The full-precision maps behind an {@link attentionView} result. */
  attentionMaps(id: number): Promise<AttentionMaps> {
    return this.worker.request({ type: 'attentionMaps', id });
  }

  async embed(texts: readonly string[], token: vscode.CancellationToken): Promise<Embeddings> {
    const model = await this.resolveModel(token);
    return this.run(token, (signal) => this.worker.request({ type: 'embed', model, texts }, { signal }));
  }

  private async run<T>(token: vscode.CancellationToken, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = abortSignalFor(token);
    try {
      return await call(abort.signal);
    } finally {
      abort.dispose();
    }
  }
}

function bundledEncoder(): LocalModel {
  return { ref: USE_LITE_REF, dir: '', dtype: 'fp32' };
}
