import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Dtype } from '../../protocol/worker';

export const DEFAULT_HUB_HOST = 'https://huggingface.co';

export interface DownloadProgress {
  /** Path of the file inside the model repository, e.g. `onnx/model.onnx`. */
  readonly file: string;
  readonly fileLoaded: number;
  /** Undefined when the server sends no Content-Length. */
  readonly fileTotal: number | undefined;
  readonly filesDone: number;
  readonly filesTotal: number;
}

export interface HubDownloaderOptions {
  /** Folder that holds downloaded models (the extension's global storage, or ~/.cache/bert-lens for the CLI). */
  readonly cacheDir: string;
  /** Hub or mirror base URL; files are fetched from `${host}/${id}/resolve/${revision}/${file}`. */
  readonly host?: string;
  /** When false only the cache is used, and a model that is not fully there is an error. */
  readonly allowDownloads: boolean;
  readonly fetch?: typeof fetch;
}

export type DownloadErrorKind = 'notFound' | 'offline' | 'server' | 'network' | 'interrupted' | 'cancelled';

export class ModelDownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ModelDownloadError';
  }
}

/** Files a BERT-family encoder needs, by dtype; optional ones are fetched when the repository has them. */
export function encoderFiles(dtype: Dtype): { required: string[]; optional: string[] } {
  return {
    required: ['config.json', 'tokenizer.json', dtype === 'q8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx'],
    optional: ['tokenizer_config.json', 'special_tokens_map.json'],
  };
}

/** Marker for an optional file the repository does not have, so offline runs need not ask again. */
const ABSENT_SUFFIX = '.absent';

/**
 * Downloads Hub models into a local cache, file by file. Each file is written to a private temporary name and
 * renamed into place only when complete, so an interrupted or concurrent download never leaves a partial file
 * where a reader would use it. Files already present are never fetched again.
 */
export class HubDownloader {
  private readonly host: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: HubDownloaderOptions) {
    this.host = (options.host?.trim() || DEFAULT_HUB_HOST).replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Folder a Hub model is (or will be) cached in. */
  modelDir(id: string, revision: string): string {
    return path.join(this.options.cacheDir, 'hub', id.replace('/', '--'), revision);
  }

  /** True when every file the dtype needs is already in the cache. */
  isCached(id: string, revision: string, dtype: Dtype): boolean {
    const dir = this.modelDir(id, revision);
    return encoderFiles(dtype).required.every((f) => fs.existsSync(path.join(dir, f)));
  }

  /**
   * Makes sure the model's files are in the cache and returns its folder.
   * @throws ModelDownloadError
   */
  async ensure(
    id: string,
    revision: string,
    dtype: Dtype,
    options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {},
  ): Promise<string> {
    const dir = this.modelDir(id, revision);
    const { required, optional } = encoderFiles(dtype);
    const exists = (f: string): boolean => fs.existsSync(path.join(dir, f)) || fs.existsSync(path.join(dir, f + ABSENT_SUFFIX));
    const missing = [...required, ...optional].filter((f) => !exists(f));
    if (missing.length === 0) return dir;
    if (!this.options.allowDownloads) {
      const missingRequired = required.filter((f) => !exists(f));
      if (missingRequired.length === 0) return dir;
      throw new ModelDownloadError(
        'offline',
        `Model ${id} is not downloaded (missing ${missingRequired.join(', ')}) and downloads are turned off ` +
          '(setting bertLens.allowDownloads, or --offline). Allow downloads once, or choose a local folder or the bundled model.',
      );
    }
    await fsp.mkdir(dir, { recursive: true });
    let filesDone = 0;
    for (const file of missing) {
      const isRequired = required.includes(file);
      await this.fetchFile(id, revision, file, dir, isRequired, options.signal, (fileLoaded, fileTotal) =>
        options.onProgress?.({ file, fileLoaded, fileTotal, filesDone, filesTotal: missing.length }),
      );
      filesDone++;
    }
    return dir;
  }

  private url(id: string, revision: string, file: string): string {
    return `${this.host}/${id}/resolve/${encodeURIComponent(revision)}/${file}`;
  }

  private async fetchFile(
    id: string,
    revision: string,
    file: string,
    dir: string,
    required: boolean,
    signal: AbortSignal | undefined,
    onBytes: (loaded: number, total: number | undefined) => void,
  ): Promise<void> {
    const url = this.url(id, revision, file);
    const target = path.join(dir, file);
    let response: Response;
    try {
      response = await this.fetchImpl(url, signal ? { signal } : {});
    } catch (e) {
      if (signal?.aborted) throw new ModelDownloadError('cancelled', 'Download cancelled');
      throw new ModelDownloadError('network', `Could not reach ${this.host} to download ${id}: ${describeFetchError(e)}. Check your connection or set a Hub mirror.`);
    }
    if (response.status === 404 || response.status === 401) {
      await response.body?.cancel();
      if (!required) {
        await fsp.mkdir(path.dirname(target), { recursive: true });
        await fsp.writeFile(target + ABSENT_SUFFIX, '');
        return;
      }
      throw new ModelDownloadError(
        'notFound',
        file === 'config.json'
          ? `Model ${id} was not found on ${this.host} (HTTP ${response.status}). Check the model id, or the mirror setting.`
          : `Model ${id} has no ${file} on ${this.host} (HTTP ${response.status}); BERT Lens needs a transformers.js export with ONNX weights.`,
      );
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new ModelDownloadError('server', `Downloading ${file} of ${id} failed: ${this.host} answered HTTP ${response.status} ${response.statusText}. Try again later.`);
    }
    const lengthHeader = response.headers.get('content-length');
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
    const out = await fsp.open(temp, 'w');
    let loaded = 0;
    let completed = false;
    try {
      onBytes(0, total);
      const reader = response.body.getReader();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (signal?.aborted) throw new ModelDownloadError('cancelled', 'Download cancelled');
          throw new ModelDownloadError('interrupted', `The download of ${file} (${id}) was interrupted after ${loaded} bytes: ${describeFetchError(e)}. Nothing was kept; try again.`);
        }
        if (chunk.done) break;
        await out.write(chunk.value);
        loaded += chunk.value.length;
        onBytes(loaded, total);
      }
      if (total !== undefined && loaded !== total) {
        throw new ModelDownloadError('interrupted', `The download of ${file} (${id}) stopped at ${loaded} of ${total} bytes. Nothing was kept; try again.`);
      }
      await out.sync();
      completed = true;
    } finally {
      await out.close();
      if (!completed) await fsp.rm(temp, { force: true });
    }
    await fsp.rename(temp, target);
  }
}

function describeFetchError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return `${e.message} (${cause.message})`;
    return e.message;
  }
  return String(e);
}
