import type { AttentionMaps, AttentionViewData } from './attention';
import { isIndex, isRecord } from './guards';
import { isSeq2SeqWorkerRequest, type Seq2SeqWorkerRequest, type Seq2SeqWorkerResults, type StreamMessage } from './summarize';

/** Which ONNX file of a model folder to run: `onnx/model.onnx` (fp32) or `onnx/model_quantized.onnx` (q8). */
export type Dtype = 'fp32' | 'q8';

/** A model the worker can load: a folder on disk in transformers.js layout. The host resolves Hub ids first. */
export interface LocalModel {
  /** What the user called it (Hub id, folder path); used in messages and to key stored vectors. */
  readonly ref: string;
  /** Absolute folder holding config.json, tokenizer.json and onnx/. */
  readonly dir: string;
  readonly dtype: Dtype;
}

export interface ModelInfo {
  readonly ref: string;
  /** Name to show users, when it differs from `ref` (bundled models). */
  readonly displayName?: string;
  readonly dtype: Dtype;
  readonly architecture: string;
  readonly layers: number;
  readonly heads: number;
  readonly hiddenSize: number;
  /** Longest input in tokens, special tokens included. */
  readonly maxTokens: number;
  /** Milliseconds the worker spent loading the tokenizer and creating the session. */
  readonly loadMs: number;
  /** SHA-256 of the ONNX file that runs (hex), for models loaded from a folder: part of a search index's identity. */
  readonly weightsSha256?: string;
}

/** Mean-pooled, L2-normalised sentence vectors, row-major: `vectors[i * dims + d]`. */
export interface Embeddings {
  readonly dims: number;
  readonly count: number;
  readonly vectors: Float32Array;
}

export type WorkerRequest =
  | { readonly type: 'modelInfo'; readonly model: LocalModel }
  | { readonly type: 'embed'; readonly model: LocalModel; readonly texts: readonly string[] }
  /** How many tokens each text is as model input, special tokens included, uncut (what embed would cut to maxTokens). */
  | { readonly type: 'tokenCounts'; readonly model: LocalModel; readonly texts: readonly string[] }
  | {
      readonly type: 'attention';
      readonly model: LocalModel;
      readonly text: string;
      /** First text token of the window to read when the text is longer than the model's limit (default 0). */
      readonly windowStart?: number;
    }
  /** Attention for the view: runs the model and keeps the full maps under the returned id. */
  | {
      readonly type: 'attentionView';
      readonly model: LocalModel;
      readonly text: string;
      readonly windowStart?: number;
      readonly layer: number;
    }
  /** One more layer of maps kept by an earlier `attentionView` (16-bit, `[head][query][key]`). */
  | { readonly type: 'attentionLayer'; readonly id: number; readonly layer: number }
  /** The full maps kept by an earlier `attentionView`. */
  | { readonly type: 'attentionMaps'; readonly id: number }
  | { readonly type: 'unload'; readonly model: LocalModel }
  | Seq2SeqWorkerRequest;

/** Result type of each request type. */
export interface WorkerResults extends Seq2SeqWorkerResults {
  modelInfo: ModelInfo;
  embed: Embeddings;
  tokenCounts: Uint32Array;
  attention: AttentionMaps;
  attentionView: AttentionViewData;
  attentionLayer: Uint16Array;
  attentionMaps: AttentionMaps;
  unload: boolean;
}

export type WorkerResultOf<R extends WorkerRequest> = WorkerResults[R['type']];

export type WorkerErrorCode =
  | 'cancelled'
  | 'crashed'
  | 'modelNotFound'
  | 'badModel'
  | 'attentionUnavailable'
  | 'badRequest'
  /** The maps an id referred to are no longer kept; run the request again. */
  | 'expired'
  | 'internal';

export interface WorkerError {
  readonly code: WorkerErrorCode;
  readonly message: string;
}

/** Progress of a long request; `done`/`total` count items (texts, batches) when known. */
export interface WorkerProgress {
  readonly message: string;
  readonly done?: number;
  readonly total?: number;
}

/** Which onnxruntime the worker runs models on: the native binary, or the WebAssembly fallback (and why). */
export type RuntimeInfo =
  | { readonly kind: 'native' }
  | {
      readonly kind: 'wasm';
      /** Why the native runtime is not used, in words for a log line or a message. */
      readonly reason: string;
      /** True when BERT_LENS_FORCE_WASM=1 asked for it (tests), false when the native runtime failed to load. */
      readonly forced: boolean;
    };

/** Something the worker tells the host once, unasked (sent before `ready`). */
export type WorkerNotice = { readonly type: 'runtime'; readonly runtime: RuntimeInfo };

export type HostToWorker =
  | { readonly kind: 'request'; readonly id: number; readonly request: WorkerRequest }
  | { readonly kind: 'cancel'; readonly id: number }
  /**
   * Stop: cancel everything, let running inference finish, then exit. onnxruntime aborts the whole process when its
   * thread is terminated in the middle of a run, so the host never terminates a busy worker outright.
   */
  | { readonly kind: 'shutdown' };

export type WorkerToHost =
  | { readonly kind: 'ready' }
  | { readonly kind: 'result'; readonly id: number; readonly result: WorkerResults[keyof WorkerResults] }
  | { readonly kind: 'error'; readonly id: number; readonly error: WorkerError }
  | { readonly kind: 'progress'; readonly id: number; readonly progress: WorkerProgress }
  | { readonly kind: 'notice'; readonly notice: WorkerNotice }
  | StreamMessage;

export function isHostToWorker(m: unknown): m is HostToWorker {
  if (isRecord(m) && m.kind === 'shutdown') return true;
  if (!isRecord(m) || typeof m.id !== 'number') return false;
  if (m.kind === 'cancel') return true;
  return m.kind === 'request' && isWorkerRequest(m.request);
}

export function isWorkerRequest(r: unknown): r is WorkerRequest {
  if (!isRecord(r)) return false;
  if (r.type === 'attentionLayer') return isIndex(r.id) && isIndex(r.layer);
  if (r.type === 'attentionMaps') return isIndex(r.id);
  if (!isLocalModel(r.model)) return false;
  switch (r.type) {
    case 'modelInfo':
    case 'unload':
      return true;
    case 'embed':
    case 'tokenCounts':
      return Array.isArray(r.texts) && r.texts.every((t) => typeof t === 'string');
    case 'attention':
      return typeof r.text === 'string' && (r.windowStart === undefined || isIndex(r.windowStart));
    case 'attentionView':
      return typeof r.text === 'string' && (r.windowStart === undefined || isIndex(r.windowStart)) && isIndex(r.layer);
    default:
      return isSeq2SeqWorkerRequest(r);
  }
}

export function isLocalModel(m: unknown): m is LocalModel {
  return isRecord(m) && typeof m.ref === 'string' && typeof m.dir === 'string' && (m.dtype === 'fp32' || m.dtype === 'q8');
}

export { isRecord };
