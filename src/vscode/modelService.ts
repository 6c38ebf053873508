import * as vscode from 'vscode';
import type { AttentionMaps, AttentionViewData } from '../protocol/attention';
import type { Embeddings, LocalModel, ModelInfo } from '../protocol/worker';
import { HubDownloader } from '../core/models/hubDownloader';
import { ModelResolver } from '../core/models/modelResolver';
import type { ModelWorkerClient } from '../core/worker/modelWorkerClient';
import type { Config } from './config';
import { abortSignalFor } from './errors';
import type { Logger } from './logger';

/**
 * The extension's access to models: resolves the configured model (downloading it with a cancellable progress
 * notification on first use) and runs requests on the model worker.
 */
export class ModelService {
  constructor(
    private readonly config: Config,
    private readonly worker: ModelWorkerClient,
    private readonly cacheDir: string,
    private readonly logger: Logger,
  ) {}

  private resolver(): ModelResolver {
    const s = this.config.settings;
    return new ModelResolver(new HubDownloader({ cacheDir: this.cacheDir, host: s.hubMirror, allowDownloads: s.allowDownloads }));
  }

  private baseDir(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  /** The configured model as a local folder; downloads it first if needed, with progress and a Cancel button. */
  async resolveModel(token: vscode.CancellationToken): Promise<LocalModel> {
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
