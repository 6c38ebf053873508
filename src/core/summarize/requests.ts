/**
 * Proposed model-worker requests for summaries and cross-attention. Types and guards only, written to be moved
 * into `src/protocol/` (they import nothing but protocol types and ./types): add {@link Seq2SeqWorkerRequest} to
 * `WorkerRequest`, {@link Seq2SeqWorkerResults} to `WorkerResults`, {@link isSeq2SeqWorkerRequest} to
 * `isWorkerRequest`, and the `stream` message to `WorkerToHost`.
 */
import type { LocalModel } from '../../protocol/worker';
import type { CrossAttentionMaps, GenerationOptions, GenerationResult, GenerationUpdate, PartRequest, Seq2SeqInfo } from './types';

export type Seq2SeqWorkerRequest =
  /** Loads a seq2seq folder and describes it. */
  | { readonly type: 'seq2seqInfo'; readonly model: LocalModel }
  /** Input token counts (prefix and special tokens included), to plan long inputs on the host. */
  | { readonly type: 'countInputTokens'; readonly model: LocalModel; readonly texts: readonly string[]; readonly prefix?: string }
  /** One generation; the input is cut to the model's limit. Streams `stream` messages when `stream` is true. */
  | { readonly type: 'generate'; readonly model: LocalModel; readonly text: string; readonly options?: GenerationOptions; readonly stream?: boolean }
  /**
   * A summary of a text of any length: parts, then summaries of summaries (see `summarizeLong`). Sends `progress`
   * per part and, when `stream` is true, `stream` messages for the final generation.
   */
  | {
      readonly type: 'summarize';
      readonly model: LocalModel;
      readonly text: string;
      readonly options?: GenerationOptions;
      readonly stream?: boolean;
      /** Part rounds before the final call (default 4). */
      readonly maxRounds?: number;
    }
  /** Cross-attention of generated ids over the source; pass the prefix / input limit the generation used. */
  | {
      readonly type: 'crossAttention';
      readonly model: LocalModel;
      readonly sourceText: string;
      readonly ids: readonly number[];
      readonly prefix?: string;
      readonly maxInputTokens?: number;
    };

/** A summary from the `summarize` request. */
export interface SummaryResult {
  readonly text: string;
  /** The final generation (ids with the decoder start token first, as HF returns them). */
  readonly final: GenerationResult;
  /** Part rounds that ran before the final generation: each part's range in that round's input and its summary. */
  readonly rounds: readonly { readonly parts: readonly { readonly start: number; readonly end: number }[]; readonly summaries: readonly string[] }[];
  /** True when the final input did not fit and its end was not read. */
  readonly truncated: boolean;
  readonly elapsedMs: number;
}

export interface Seq2SeqWorkerResults {
  seq2seqInfo: Seq2SeqInfo;
  countInputTokens: number[];
  generate: GenerationResult;
  summarize: SummaryResult;
  crossAttention: CrossAttentionMaps;
}

/** A streamed update; for `summarize`, `part` says which model call it belongs to. */
export interface StreamedUpdate extends GenerationUpdate {
  readonly part?: PartRequest;
}

/** Worker → host message carrying a {@link StreamedUpdate} of request `id`. */
export interface StreamMessage {
  readonly kind: 'stream';
  readonly id: number;
  readonly update: StreamedUpdate;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalNumber = (v: unknown, min = 0): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= min);

export function isGenerationOptions(o: unknown): o is GenerationOptions {
  if (o === undefined) return true;
  if (!isRecord(o)) return false;
  return (
    optionalNumber(o.maxNewTokens, 1) &&
    optionalNumber(o.minNewTokens) &&
    optionalNumber(o.numBeams, 1) &&
    (o.numBeams === undefined || (o.numBeams as number) <= 16) &&
    (o.lengthPenalty === undefined || (typeof o.lengthPenalty === 'number' && Number.isFinite(o.lengthPenalty))) &&
    (o.earlyStopping === undefined || typeof o.earlyStopping === 'boolean' || o.earlyStopping === 'never') &&
    optionalNumber(o.noRepeatNgramSize) &&
    (o.repetitionPenalty === undefined || (typeof o.repetitionPenalty === 'number' && o.repetitionPenalty > 0)) &&
    (o.prefix === undefined || typeof o.prefix === 'string') &&
    optionalNumber(o.maxInputTokens, 2) &&
    (o.useCache === undefined || typeof o.useCache === 'boolean')
  );
}

/** Shape check of a request whose `model` was already checked with `isLocalModel`. */
export function isSeq2SeqWorkerRequest(r: Record<string, unknown>): r is Record<string, unknown> & Seq2SeqWorkerRequest {
  switch (r.type) {
    case 'seq2seqInfo':
      return true;
    case 'countInputTokens':
      return Array.isArray(r.texts) && r.texts.every((t) => typeof t === 'string') && (r.prefix === undefined || typeof r.prefix === 'string');
    case 'generate':
      return typeof r.text === 'string' && isGenerationOptions(r.options) && (r.stream === undefined || typeof r.stream === 'boolean');
    case 'summarize':
      return typeof r.text === 'string' && isGenerationOptions(r.options) && (r.stream === undefined || typeof r.stream === 'boolean') && optionalNumber(r.maxRounds, 1);
    case 'crossAttention':
      return (
        typeof r.sourceText === 'string' &&
        Array.isArray(r.ids) &&
        r.ids.length > 0 &&
        r.ids.every((id) => Number.isInteger(id) && (id as number) >= 0) &&
        (r.prefix === undefined || typeof r.prefix === 'string') &&
        optionalNumber(r.maxInputTokens, 2)
      );
    default:
      return false;
  }
}
