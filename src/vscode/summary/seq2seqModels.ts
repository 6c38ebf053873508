import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LocalModel } from '../../protocol/worker';
import type { Seq2SeqInfo } from '../../protocol/summarize';
import { HubDownloader, ModelDownloadError, type DownloadProgress, type ModelFiles } from '../../core/models/hubDownloader';
import { markModelUsed } from '../../core/models/modelCache';
import { parseModelRef } from '../../core/models/modelRef';
import { ModelResolver } from '../../core/models/modelResolver';
import { seq2seqFiles } from '../../core/summarize/seq2seqFiles';
import type { ModelWorkerClient } from '../../core/worker/modelWorkerClient';
import type { Config } from '../config';
import type { Logger } from '../logger';

/** Which seq2seq setting: `bertLens.summary.model` (the panel) or `bertLens.summary.hoverModel`. */
export type Seq2SeqRole = 'summary' | 'hover';

export const SETTING: Readonly<Record<Seq2SeqRole, string>> = { summary: 'bertLens.summary.model', hover: 'bertLens.summary.hoverModel' };

/** Whether the cross-attention decoder (`onnx/decoder_model*.onnx`) of a resolved model is there, can be downloaded, or does not exist. */
export type CrossAttentionState = 'ready' | 'download' | 'unavailable';

/** A download in progress, shared by every request for the same model, dtype and files. */
interface SharedDownload {
  readonly promise: Promise<LocalModel>;
  readonly controller: AbortController;
}

/**
 * Seq2seq models for summaries: resolves the two settings to folders (downloading Hub models with a cancellable
 * progress notification), loads them in the model worker, and remembers for the session which could not be had
 * and why (so `auto` mode does not try a failing download on every summary; any setting change forgets it).
 *
 * A download is shared: requests for the same model, dtype and files while it runs wait for the same one, and a
 * request that is cancelled (a newer summary, a hover moved away) stops waiting without stopping the download. Only
 * the Cancel of its progress notification (or disposing this) stops it.
 */
export class Seq2SeqModels implements vscode.Disposable {
  private readonly unavailable = new Map<string, string>();
  private readonly downloads = new Map<string, SharedDownload>();
  private readonly subscription: vscode.Disposable;
  /** Downloads started this session (read by tests). */
  downloadsStarted = 0;

  constructor(
    private readonly config: Config,
    private readonly worker: ModelWorkerClient,
    private readonly cacheDir: string,
    private readonly logger: Logger,
  ) {
    this.subscription = config.onDidChange(() => this.unavailable.clear());
  }

  dispose(): void {
    this.subscription.dispose();
    for (const d of this.downloads.values()) d.controller.abort();
    this.downloads.clear();
  }

  /** The setting value for `role`. */
  ref(role: Seq2SeqRole): string {
    return role === 'summary' ? this.config.settings.summary.model : this.config.settings.summary.hoverModel;
  }

  /** Why the model of `role` could not be had this session, if it could not. */
  unavailableReason(role: Seq2SeqRole): string | undefined {
    return this.unavailable.get(this.key(role));
  }

  markUnavailable(role: Seq2SeqRole, reason: string): void {
    this.logger.warn(`${this.ref(role)} is not available: ${reason}`);
    this.unavailable.set(this.key(role), reason);
  }

  /** True when resolving `role` needs no download (a folder, or a Hub model already in the cache). */
  isLocal(role: Seq2SeqRole): boolean {
    try {
      return !this.resolver().needsDownload(this.ref(role), this.dtype, this.baseDir(), seq2seqFiles(this.dtype));
    } catch {
      return true; // a malformed reference fails fast in resolve()
    }
  }

  /**
   * The model of `role` as a local folder, downloading it first when needed (progress notification with Cancel).
   * `signal` stops this request's wait, not a download other requests may be waiting for.
   * @throws ModelRefError | ModelDownloadError | vscode.CancellationError (`signal` aborted)
   */
  async resolve(role: Seq2SeqRole, signal?: AbortSignal): Promise<LocalModel> {
    const value = this.ref(role);
    if (parseModelRef(value, this.baseDir()).kind === 'bundled') {
      throw new ModelDownloadError('notFound', `${value} is an embedding model; summaries need a seq2seq (T5/BART-style) model. Change ${SETTING[role]}.`);
    }
    const model = await this.download(value, seq2seqFiles(this.dtype), signal);
    // "Manage Downloaded Models" shows when each downloaded model was last used.
    if (model.dir.startsWith(this.cacheDir)) void markModelUsed(model.dir).catch(() => undefined);
    return model;
  }

  /** Loads the model in the worker and describes it (the first call per model takes the load time). */
  async info(model: LocalModel, signal?: AbortSignal): Promise<Seq2SeqInfo> {
    return this.worker.request({ type: 'seq2seqInfo', model }, signal ? { signal } : {});
  }

  /** Whether cross-attention can be read from `model` now, after a download, or not at all. */
  crossAttentionState(model: LocalModel, role: Seq2SeqRole): CrossAttentionState {
    if (decoderFile(model)) return 'ready';
    try {
      return parseModelRef(this.ref(role), this.baseDir()).kind === 'hub' ? 'download' : 'unavailable';
    } catch {
      return 'unavailable';
    }
  }

  /**
   * Makes sure the decoder that exposes cross-attention is there, downloading it when the model comes from the Hub
   * (q8: the quantised decoder, else the fp32 one).
   */
  async ensureCrossAttention(model: LocalModel, role: Seq2SeqRole, signal?: AbortSignal): Promise<void> {
    if (decoderFile(model) || this.crossAttentionState(model, role) !== 'download') return;
    const { required } = seq2seqFiles(this.dtype);
    const files = model.dtype === 'q8' ? ['onnx/decoder_model_quantized.onnx', 'onnx/decoder_model.onnx'] : ['onnx/decoder_model.onnx'];
    for (const file of files) {
      await this.download(this.ref(role), { required, optional: [file] }, signal);
      if (decoderFile(model)) return;
    }
    throw new ModelDownloadError('notFound', `${this.ref(role)} has no onnx/decoder_model.onnx, which cross-attention is read from.`);
  }

  private get dtype(): 'fp32' | 'q8' {
    return this.config.settings.summary.dtype;
  }

  private key(role: Seq2SeqRole): string {
    return `${this.ref(role)}\u0000${this.dtype}`;
  }

  private baseDir(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  private resolver(): ModelResolver {
    const s = this.config.settings;
    return new ModelResolver(new HubDownloader({ cacheDir: this.cacheDir, host: s.hubMirror, allowDownloads: s.allowDownloads, proxy: s.proxy }));
  }

  /** `value` as a local folder with `files`, joining the download of the same files already under way, if any. */
  private async download(value: string, files: ModelFiles, signal: AbortSignal | undefined): Promise<LocalModel> {
    const resolver = this.resolver();
    const baseDir = this.baseDir();
    const base = { files, ...(baseDir ? { baseDir } : {}) };
    if (!resolver.needsDownload(value, this.dtype, baseDir, files)) return resolver.resolve(value, this.dtype, base);
    if (signal?.aborted) throw new vscode.CancellationError();
    const key = JSON.stringify([value, this.dtype, [...files.required].sort(), [...files.optional].sort(), this.config.settings.hubMirror]);
    let shared = this.downloads.get(key);
    if (!shared) {
      const controller = new AbortController();
      const promise = this.startDownload(resolver, value, base, controller);
      const started: SharedDownload = { promise, controller };
      shared = started;
      this.downloads.set(key, started);
      promise
        .finally(() => {
          if (this.downloads.get(key) === started) this.downloads.delete(key);
        })
        .catch(() => undefined);
    }
    return untilAborted(shared.promise, signal);
  }

  /** Downloads under a progress notification whose Cancel (or `controller`) is the only thing that stops it. */
  private startDownload(resolver: ModelResolver, value: string, base: { files: ModelFiles; baseDir?: string }, controller: AbortController): Promise<LocalModel> {
    this.downloadsStarted++;
    this.logger.info(`downloading ${value} (${this.dtype}): ${[...base.files.required, ...base.files.optional].join(', ')}`);
    const dtype = this.dtype;
    return Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `BERT Lens: downloading the summary model ${value}`, cancellable: true },
        async (progress, progressToken) => {
          const subscription = progressToken.onCancellationRequested(() => controller.abort());
          const onProgress = progressReporter((message, increment) => progress.report({ message, increment }));
          try {
            return await resolver.resolve(value, dtype, { ...base, signal: controller.signal, onProgress });
          } finally {
            subscription.dispose();
          }
        },
      ),
    );
  }
}

/** `promise`, or a CancellationError as soon as `signal` aborts (the work behind `promise` goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new vscode.CancellationError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new vscode.CancellationError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The decoder file cross-attention is read from, if the folder has one. */
function decoderFile(model: LocalModel): string | undefined {
  const names = model.dtype === 'q8' ? ['decoder_model_quantized.onnx', 'decoder_model.onnx'] : ['decoder_model.onnx'];
  return names.map((n) => path.join(model.dir, 'onnx', n)).find((f) => fs.existsSync(f));
}

/** Maps download progress (files, bytes) onto a notification's increments (percent of the whole). */
function progressReporter(report: (message: string, increment: number) => void): (p: DownloadProgress) => void {
  let shown = 0;
  return (p) => {
    const percent = (100 * (p.filesDone + (p.fileTotal ? p.fileLoaded / p.fileTotal : 0))) / p.filesTotal;
    const megabytes = p.fileTotal ? ` · ${(p.fileLoaded / 1e6).toFixed(1)} / ${(p.fileTotal / 1e6).toFixed(1)} MB` : '';
    report(`${p.file}${megabytes}`, Math.max(0, percent - shown));
    shown = Math.max(shown, percent);
  };
}
