import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Dtype } from '../../protocol/worker';
import { isProcessAlive } from '../process';
import { isHubId, isValidRevision } from './modelRef';
import { proxiedFetch, type ProxySettings } from './proxy';

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
  /** An HTTP(S) proxy to download through (VS Code's `http.proxy`, or HTTPS_PROXY for the CLI). */
  readonly proxy?: ProxySettings;
  readonly fetch?: typeof fetch;
}

export type DownloadErrorKind = 'notFound' | 'offline' | 'server' | 'network' | 'interrupted' | 'cancelled' | 'corrupt';

export class ModelDownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ModelDownloadError';
  }
}

/** Files of a model repository: required ones must exist; optional ones are fetched when the repository has them. */
export interface ModelFiles {
  readonly required: readonly string[];
  readonly optional: readonly string[];
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
    this.fetchImpl = options.fetch ?? (options.proxy ? proxiedFetch(options.proxy) : fetch);
  }

  /** Folder a Hub model is (or will be) cached in. */
  modelDir(id: string, revision: string): string {
    return hubModelDir(this.options.cacheDir, id, revision);
  }

  /** True when every required file (by default an encoder's for the dtype) is already in the cache. */
  isCached(id: string, revision: string, dtype: Dtype, files: ModelFiles = encoderFiles(dtype)): boolean {
    const dir = this.modelDir(id, revision);
    return files.required.every((f) => fs.existsSync(path.join(dir, f)));
  }

  /**
   * Makes sure the model's files are in the cache and returns its folder. `files` names them (default: an
   * encoder's for the dtype; seq2seq models pass `seq2seqFiles(dtype)`).
   * @throws ModelDownloadError
   */
  async ensure(
    id: string,
    revision: string,
    dtype: Dtype,
    options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void; files?: ModelFiles } = {},
  ): Promise<string> {
    const dir = this.modelDir(id, revision);
    const { required, optional } = options.files ?? encoderFiles(dtype);
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
      await onePerProcess(path.join(dir, file), () =>
        this.fetchFile(id, revision, file, dir, isRequired, options.signal, (fileLoaded, fileTotal) =>
          options.onProgress?.({ file, fileLoaded, fileTotal, filesDone, filesTotal: missing.length }),
        ),
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
    restarted = false,
  ): Promise<void> {
    const url = this.url(id, revision, file);
    const target = path.join(dir, file);
    const part = partFile(target);
    await adoptAbandonedPart(target, part);
    const resume = await resumePoint(part);
    // If-Range: the server sends the rest only while the file is the one the kept bytes came from, else all of it.
    const headers: Record<string, string> = resume ? { range: `bytes=${resume.offset}-`, 'if-range': resume.etag } : {};
    const again = (): Promise<void> => {
      if (restarted) throw new ModelDownloadError('server', `Downloading ${file} of ${id} failed: ${this.host} answered a range request wrongly. Try again later.`);
      return discardPart(part).then(() => this.fetchFile(id, revision, file, dir, required, signal, onBytes, true));
    };
    let response: Response;
    let announced: Announced;
    try {
      // Redirects are followed by hand: the Hub announces an LFS file's SHA-256 and size on the redirect to its CDN.
      response = await this.fetchImpl(url, { ...(signal ? { signal } : {}), headers, redirect: 'manual' });
      announced = announcedBy(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        response = await this.fetchImpl(new URL(location, url).href, { ...(signal ? { signal } : {}), headers });
        announced = { ...announcedBy(response), ...announced };
      }
    } catch (e) {
      if (signal?.aborted) throw new ModelDownloadError('cancelled', 'Download cancelled');
      throw new ModelDownloadError('network', `Could not reach ${this.host} to download ${id}: ${describeFetchError(e)}. Check your connection or set a Hub mirror.`);
    }
    if (response.status === 416) {
      await response.body?.cancel();
      return again();
    }
    if (response.status === 404 || response.status === 401) {
      await response.body?.cancel();
      await discardPart(part);
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
    // 206: the rest of the kept part follows; 200: the whole file (a fresh start, or the file changed upstream).
    const range = response.status === 206 ? parseContentRange(response.headers.get('content-range')) : undefined;
    if (response.status === 206 && (!resume || range?.start !== resume.offset)) {
      await response.body.cancel();
      return again();
    }
    const lengthHeader = response.headers.get('content-length');
    const total = range ? range.total : lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    if (announced.size !== undefined && total !== undefined && total !== announced.size) {
      await response.body.cancel();
      await discardPart(part);
      throw new ModelDownloadError('corrupt', `${file} of ${id} is ${total} bytes on ${this.host}, but the Hub announced ${announced.size}. Nothing was kept; try again later.`);
    }
    const limit = announced.size ?? total;
    await fsp.mkdir(path.dirname(target), { recursive: true });
    // The digest covers the whole file: a resumed part's kept bytes first.
    const digest = createHash('sha256');
    if (range && announced.sha256) for await (const kept of fs.createReadStream(part)) digest.update(kept as Buffer);
    const out = await fsp.open(part, range ? 'a' : 'w');
    if (!range) await writeEtag(part, response.headers.get('etag'));
    let loaded = range ? range.start : 0;
    let completed = false;
    const retryNote = (): string =>
      loaded >= RESUME_MIN_BYTES && (total === undefined || loaded < total)
        ? `The ${(loaded / 1e6).toFixed(1)} MB received are kept; the next try resumes from there.`
        : 'Nothing was kept; try again.';
    try {
      onBytes(loaded, total);
      const reader = response.body.getReader();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (signal?.aborted) throw new ModelDownloadError('cancelled', 'Download cancelled');
          throw new ModelDownloadError('interrupted', `The download of ${file} (${id}) was interrupted after ${loaded} bytes: ${describeFetchError(e)}. ${retryNote()}`);
        }
        if (chunk.done) break;
        if (limit !== undefined && loaded + chunk.value.length > limit) {
          await reader.cancel();
          throw new ModelDownloadError('corrupt', `${file} of ${id} grew past the ${limit} bytes announced; it was not kept. Try again later.`);
        }
        await out.write(chunk.value);
        digest.update(chunk.value);
        loaded += chunk.value.length;
        onBytes(loaded, total);
      }
      if (total !== undefined && loaded !== total) {
        throw new ModelDownloadError('interrupted', `The download of ${file} (${id}) stopped at ${loaded} of ${total} bytes. ${retryNote()}`);
      }
      if (announced.sha256 && digest.digest('hex') !== announced.sha256) {
        throw new ModelDownloadError('corrupt', `${file} of ${id} does not match the SHA-256 the Hub announced for it; it was not kept. Try again, or check your mirror.`);
      }
      await out.sync();
      completed = true;
    } catch (e) {
      // A file that failed verification is never resumed.
      if (e instanceof ModelDownloadError && e.kind === 'corrupt') loaded = 0;
      throw e;
    } finally {
      await out.close();
      // A large part is kept for the next try (see resumePoint); a small one is cheaper to fetch again.
      if (!completed && !(loaded >= RESUME_MIN_BYTES && (total === undefined || loaded < total))) await discardPart(part);
    }
    await fsp.rename(part, target);
    await fsp.rm(part + ETAG_SUFFIX, { force: true });
  }
}

/** Where a Hub model is (or will be) cached: `<cacheDir>/hub/<owner>--<name>/<revision>`. */
export function hubModelDir(cacheDir: string, id: string, revision: string): string {
  const hub = path.resolve(cacheDir, 'hub');
  const dir = path.resolve(hub, id.replace('/', '--'), revision);
  // Ids and revisions are validated where they are parsed; this holds whatever a caller passes.
  if (!isHubId(id) || !isValidRevision(revision) || path.dirname(path.dirname(dir)) !== hub) {
    throw new Error(`Refusing a model cache folder outside the cache: ${JSON.stringify(`${id}@${revision}`)}`);
  }
  return dir;
}

/**
 * Unfinished downloads are kept this process's own `<file>.<pid>.part` (two windows never write the same part) with
 * the file's ETag beside it, and resumed with a Range request once at least this many bytes were received.
 */
export const RESUME_MIN_BYTES = 1 << 20;
const PART_SUFFIX = '.part';
const ETAG_SUFFIX = '.etag';

function partFile(target: string, pid = process.pid): string {
  return `${target}.${pid}${PART_SUFFIX}`;
}

/** Downloads of the same file in this process run one at a time; the later ones use what the first fetched. */
const downloadsInProcess = new Map<string, Promise<void>>();

async function onePerProcess(target: string, download: () => Promise<void>): Promise<void> {
  for (let running = downloadsInProcess.get(target); running; running = downloadsInProcess.get(target)) {
    await running.catch(() => undefined);
    if (fs.existsSync(target) || fs.existsSync(target + ABSENT_SUFFIX)) return;
  }
  const download_ = download().finally(() => downloadsInProcess.delete(target));
  downloadsInProcess.set(target, download_);
  return download_;
}

/** Takes over the part a process that has ended left for `target` (a closed window), so its bytes are not lost. */
async function adoptAbandonedPart(target: string, part: string): Promise<void> {
  if (fs.existsSync(part)) return;
  const base = path.basename(target);
  let names: string[];
  try {
    names = await fsp.readdir(path.dirname(target));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(base + '.') || !name.endsWith(PART_SUFFIX)) continue;
    const pid = Number(name.slice(base.length + 1, -PART_SUFFIX.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isProcessAlive(pid)) continue;
    const abandoned = path.join(path.dirname(target), name);
    try {
      await fsp.rename(abandoned, part); // atomic: when two processes try, one gets it
    } catch {
      continue;
    }
    await fsp.rename(abandoned + ETAG_SUFFIX, part + ETAG_SUFFIX).catch(() => fsp.rm(part + ETAG_SUFFIX, { force: true }));
    return;
  }
}

/** What the Hub says of an LFS file before sending it: its SHA-256 (`X-Linked-Etag`) and size (`X-Linked-Size`). */
interface Announced {
  readonly sha256?: string;
  readonly size?: number;
}

function announcedBy(response: Response): Announced {
  const etag = response.headers.get('x-linked-etag')?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  const size = response.headers.get('x-linked-size');
  return {
    ...(etag && /^[0-9a-f]{64}$/.test(etag) ? { sha256: etag } : {}),
    ...(size && /^\d+$/.test(size) ? { size: Number(size) } : {}),
  };
}

/** Where a kept part can be resumed from: its size and the ETag of the file it belongs to. */
async function resumePoint(part: string): Promise<{ offset: number; etag: string } | undefined> {
  try {
    const [stat, etag] = await Promise.all([fsp.stat(part), fsp.readFile(part + ETAG_SUFFIX, 'utf8')]);
    return stat.size > 0 && etag.trim() !== '' ? { offset: stat.size, etag: etag.trim() } : undefined;
  } catch {
    return undefined;
  }
}

async function writeEtag(part: string, etag: string | null): Promise<void> {
  // A weak ETag cannot be used with If-Range: without a strong one a later try starts again.
  if (etag && !etag.startsWith('W/')) await fsp.writeFile(part + ETAG_SUFFIX, etag);
  else await fsp.rm(part + ETAG_SUFFIX, { force: true });
}

async function discardPart(part: string): Promise<void> {
  await Promise.all([fsp.rm(part, { force: true }), fsp.rm(part + ETAG_SUFFIX, { force: true })]);
}

/** `bytes 100-199/1000` → start 100, total 1000. */
function parseContentRange(header: string | null): { start: number; total: number } | undefined {
  const m = header ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim()) : null;
  return m ? { start: Number(m[1]), total: Number(m[3]) } : undefined;
}

function describeFetchError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return `${e.message} (${cause.message})`;
    return e.message;
  }
  return String(e);
}
