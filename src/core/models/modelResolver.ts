import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dtype, LocalModel } from '../../protocol/worker';
import { ModelDownloadError, type DownloadProgress, type HubDownloader, type ModelFiles } from './hubDownloader';
import { describeModelRef, parseModelRef } from './modelRef';

export interface ResolveOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Base folder for relative folder references. */
  readonly baseDir?: string;
  /** The files the model needs (default: an encoder's for the dtype; seq2seq models pass `seq2seqFiles(dtype)`). */
  readonly files?: ModelFiles;
}

/** Turns what the user typed (Hub id or folder) into a {@link LocalModel} the worker can load, downloading if needed. */
export class ModelResolver {
  constructor(readonly downloader: HubDownloader) {}

  /** True when resolving `value` would need a download. */
  needsDownload(value: string, dtype: Dtype, baseDir?: string, files?: ModelFiles): boolean {
    const ref = parseModelRef(value, baseDir);
    return ref.kind === 'hub' && !this.downloader.isCached(ref.id, ref.revision, dtype, files);
  }

  /** True when `value` names a Hub model (which may need the network), rather than a folder or a bundled model. */
  static isHubModel(value: string): boolean {
    try {
      return parseModelRef(value).kind === 'hub';
    } catch {
      return false;
    }
  }

  /** @throws ModelRefError | ModelDownloadError */
  async resolve(value: string, dtype: Dtype, options: ResolveOptions = {}): Promise<LocalModel> {
    const ref = parseModelRef(value, options.baseDir);
    // Bundled models are found by the worker next to its own bundle; only fp32 exists.
    if (ref.kind === 'bundled') return { ref: describeModelRef(ref), dir: '', dtype: 'fp32' };
    if (ref.kind === 'folder') {
      if (!fs.existsSync(path.join(ref.path, 'config.json'))) {
        const needs = options.files ? listOf(options.files.required) : 'config.json, tokenizer.json and onnx/model.onnx';
        throw new ModelDownloadError('notFound', `No model found at ${ref.path}: a model folder needs ${needs} (transformers.js layout).`);
      }
      return { ref: ref.path, dir: ref.path, dtype };
    }
    const dir = await this.downloader.ensure(ref.id, ref.revision, dtype, options);
    return { ref: describeModelRef(ref), dir, dtype };
  }
}

/** `a, b and c`. */
function listOf(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`;
}
