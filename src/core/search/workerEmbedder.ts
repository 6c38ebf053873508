import type { LocalModel, ModelInfo } from '../../protocol/worker';
import type { ModelWorkerClient } from '../worker/modelWorkerClient';
import { searchConventions, type SearchConventions } from './modelConventions';
import type { Embedder } from './types';

export interface WorkerEmbedderOptions {
  /** Overrides the default key (see {@link workerModelKey}). */
  readonly modelKey?: string;
  readonly signal?: AbortSignal;
}

/**
 * Identity of a model's vector space: reference, dtype, width, the SHA-256 of the ONNX file that runs (so a folder or
 * Hub revision whose weights were replaced, even by a fine-tune of the same size, gets a new index instead of mixing
 * vectors; bundled models are identified by their reference), and the input convention when it adds prefixes (so
 * passages embedded without them are never compared with prefixed queries).
 */
export function workerModelKey(model: LocalModel, info: Pick<ModelInfo, 'hiddenSize' | 'weightsSha256'>): string {
  const conventions = searchConventions(model.ref);
  const prefixed = conventions.queryPrefix !== '' || conventions.passagePrefix !== '' ? `|${conventions.name}` : '';
  const weights = info.weightsSha256 ? `|sha256:${info.weightsSha256.slice(0, 32)}` : '';
  return `${model.ref}|${model.dtype}|${info.hiddenSize}d${weights}${prefixed}`;
}

/**
 * An {@link Embedder} backed by the model worker (inference off the calling thread). Used by the CLI and the
 * extension alike.
 *
 * @example
 *   const embedder = await WorkerEmbedder.create(client, model);   // asks the worker for dims and maxTokens
 *   const vectors = await embedder.embed(['first passage', 'second passage']);
 */
export class WorkerEmbedder implements Embedder {
  private readonly conventions: SearchConventions;

  private constructor(
    private readonly client: ModelWorkerClient,
    readonly model: LocalModel,
    readonly info: ModelInfo,
    readonly modelKey: string,
  ) {
    this.conventions = searchConventions(model.ref);
  }

  static async create(client: ModelWorkerClient, model: LocalModel, options: WorkerEmbedderOptions = {}): Promise<WorkerEmbedder> {
    const info = await client.request({ type: 'modelInfo', model }, options.signal ? { signal: options.signal } : {});
    return new WorkerEmbedder(client, model, info, options.modelKey ?? workerModelKey(model, info));
  }

  get dims(): number {
    return this.info.hiddenSize;
  }

  get maxTokens(): number {
    return this.info.maxTokens;
  }

  get weakMatchBelow(): number {
    return this.conventions.weakBelow;
  }

  /** Passages, with the model's passage prefix. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array> {
    const prefix = this.conventions.passagePrefix;
    return this.embedRaw(prefix === '' ? texts : texts.map((t) => prefix + t), signal);
  }

  /** Tokens of each passage as {@link embed} sends it (prefix and special tokens included), before any cut. */
  async inputTokenCounts(texts: readonly string[], signal?: AbortSignal): Promise<Uint32Array> {
    if (texts.length === 0) return new Uint32Array(0);
    const prefix = this.conventions.passagePrefix;
    const counts = await this.client.request({ type: 'tokenCounts', model: this.model, texts: prefix === '' ? texts : texts.map((t) => prefix + t) }, signal ? { signal } : {});
    if (counts.length !== texts.length) throw new Error(`the model worker counted ${counts.length} of ${texts.length} texts`);
    return counts;
  }

  /** A query, with the model's query prefix or instruction. */
  embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    return this.embedRaw([this.conventions.queryPrefix + text], signal);
  }

  private async embedRaw(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array> {
    if (texts.length === 0) return new Float32Array(0);
    const result = await this.client.request({ type: 'embed', model: this.model, texts }, signal ? { signal } : {});
    if (result.dims !== this.dims || result.count !== texts.length) {
      throw new Error(`the model worker returned ${result.count} × ${result.dims} values for ${texts.length} texts of ${this.dims} dimensions`);
    }
    return result.vectors;
  }
}
