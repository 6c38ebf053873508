import * as vscode from 'vscode';
import type { AttentionMaps, AttentionViewData } from '../protocol/attention';
import type { Dtype, Embeddings, LocalModel, ModelInfo } from '../protocol/worker';
import { HubDownloader, ModelDownloadError } from '../core/models/hubDownloader';
import { isModelDownloaded, markModelUsed } from '../core/models/modelCache';
import { describeModelRef, modelDisplayName, parseModelRef, USE_LITE_REF } from '../core/models/modelRef';
import { ModelResolver } from '../core/models/modelResolver';
import type { ModelWorkerClient } from '../core/worker/modelWorkerClient';
import type { Config } from './config';
import { abortSignalFor, isCancellation, raceCancellation } from './errors';
import type { Logger } from './logger';
import { ModelStates, type ModelState } from './models/modelStates';

/**
 * The extension's access to models: resolves the configured model (downloading it with a cancellable progress
 * notification on first use) and runs requests on the model worker.
 */
export class ModelService implements vscode.Disposable {
  /** Downloads in progress, by model, dtype and mirror. */
  private readonly downloads = new Map<string, Promise<LocalModel>>();
  /** The Hub model that could not be had this session, and why; the bundled encoder stands in for it. */
  private fallback: { readonly model: string; readonly reason: string } | undefined;
  private readonly subscription: vscode.Disposable;
  /** How many times the user was told about a fallback (read by tests). */
  fallbackNotices = 0;
  /** Where each model stands (download, load), by {@link stateKey}; the status bar and the picker listen. */
  readonly states = new ModelStates((key) => this.initialState(key));
  /** When this window last recorded the use of each downloaded model folder. */
  private readonly markedUsed = new Map<string, number>();

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
    this.states.dispose();
  }

  /** The folder downloaded Hub models live in (`<cacheDir>/hub/<owner>--<name>/<revision>/`). */
  get modelCacheDir(): string {
    return this.cacheDir;
  }

  /** Key of a model setting value in {@link states}: the canonical reference plus the dtype (`ref|q8`). */
  stateKey(value: string, dtype: Dtype): string {
    try {
      return `${describeModelRef(parseModelRef(value, this.baseDir()))}|${dtype}`;
    } catch {
      return `${value.trim()}|${dtype}`;
    }
  }

  /** What is known of a model before this window did anything with it: is it on disk? */
  private initialState(key: string): ModelState {
    const [value = '', dtype] = key.split('|');
    try {
      const ref = parseModelRef(value, this.baseDir());
      if (ref.kind === 'hub') return isModelDownloaded(this.cacheDir, ref.id, ref.revision, dtype === 'q8' ? 'q8' : 'fp32') ? { kind: 'available' } : { kind: 'notDownloaded' };
      return { kind: 'available' };
    } catch (e) {
      return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Records the use of a resolved model and starts loading it in the worker, so its state goes loading → ready. */
  private prepared(model: LocalModel): LocalModel {
    const key = this.stateKey(model.ref, model.dtype);
    // Last use is kept to the minute: a search asks for the model for every batch.
    if (model.dir.startsWith(this.cacheDir) && Date.now() - (this.markedUsed.get(model.dir) ?? 0) > 60_000) {
      this.markedUsed.set(model.dir, Date.now());
      void markModelUsed(model.dir);
    }
    const state = this.states.get(key).kind;
    if (state !== 'ready' && state !== 'loading') {
      void this.states.track(key, this.worker.request({ type: 'modelInfo', model }), isCancellation).catch((e: unknown) => this.logger.warn(`could not load ${model.ref}: ${e instanceof Error ? e.message : String(e)}`));
    }
    return model;
  }

  /** Why the configured model is being replaced by the bundled encoder, if it is. */
  get fallbackReason(): string | undefined {
    return this.fallback?.model === this.config.settings.model ? this.fallback.reason : undefined;
  }

  private resolver(): ModelResolver {
    const s = this.config.settings;
    return new ModelResolver(new HubDownloader({ cacheDir: this.cacheDir, host: s.hubMirror, allowDownloads: s.allowDownloads, proxy: s.proxy }));
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
    const { model, dtype } = this.config.settings;
    if (this.fallback?.model === model) return this.prepared(bundledEncoder());
    try {
      return this.prepared(await this.resolveConfigured(token));
    } catch (e) {
      if (isCancellation(e)) this.states.reset(this.stateKey(model, dtype));
      else this.states.set(this.stateKey(model, dtype), { kind: 'error', message: e instanceof Error ? e.message : String(e) });
      if (!(e instanceof ModelDownloadError) || e.kind === 'cancelled' || !ModelResolver.isHubModel(model)) throw e;
      this.fallback = { model, reason: e.message };
      this.logger.warn(`${model} is not available (${e.message}); using ${USE_LITE_REF}`);
      void this.announceFallback(model, e.message);
      return this.prepared(bundledEncoder());
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
    const { model, dtype, hubMirror } = this.config.settings;
    const resolver = this.resolver();
    const baseDir = this.baseDir();
    if (!resolver.needsDownload(model, dtype, baseDir)) return resolver.resolve(model, dtype, baseDir ? { baseDir } : {});
    // One download per model, shared by every request that needs it: a newer request (a new selection, a search)
    // must not cancel a download an older one started. Only the notification's Cancel stops it.
    const key = `${this.stateKey(model, dtype)}\u0000${hubMirror}`;
    let download = this.downloads.get(key);
    if (!download) {
      download = this.download(resolver, model, dtype, baseDir).finally(() => this.downloads.delete(key));
      this.downloads.set(key, download);
    }
    return raceCancellation(download, token);
  }

  private download(resolver: ModelResolver, model: string, dtype: Dtype, baseDir: string | undefined): Promise<LocalModel> {
    this.logger.info(`downloading ${model} (${dtype})`);
    const key = this.stateKey(model, dtype);
    this.states.set(key, { kind: 'downloading', percent: 0 });
    return Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `BERT Lens: downloading ${model}`, cancellable: true },
        async (progress, progressToken) => {
          const abort = abortSignalFor(progressToken);
          let reported = 0;
          try {
            return await resolver.resolve(model, dtype, {
              signal: abort.signal,
              ...(baseDir ? { baseDir } : {}),
              onProgress: (p) => {
                const fileShare = p.fileTotal ? p.fileLoaded / p.fileTotal : 0;
                const percent = ((p.filesDone + fileShare) / p.filesTotal) * 100;
                const size = p.fileTotal ? ` (${(p.fileLoaded / 1e6).toFixed(1)} of ${(p.fileTotal / 1e6).toFixed(1)} MB)` : '';
                progress.report({ message: `${p.file}${size}`, increment: Math.max(0, percent - reported) });
                this.states.set(key, { kind: 'downloading', percent: Math.floor(percent) });
                reported = Math.max(reported, percent);
              },
            });
          } finally {
            abort.dispose();
          }
        },
      ),
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
