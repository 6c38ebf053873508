/**
 * Data shapes of summarisation shared by the worker (abstractive generation, cross-attention), the host and the
 * CLI. Plain data only (no classes), so every type here can be posted between threads and moved verbatim into
 * `src/protocol/` when the worker protocol grows `generate` / `summarize` / `crossAttention` requests.
 */
import type { TokenSpan } from './attention';
import type { LocalModel } from './worker';
import { isRecord } from './guards';

/**
 * How to decode. Every field is optional: unset fields take the model's own defaults (its
 * `config.json` `task_specific_params.summarization`, then `generation_config.json`), then the built-in ones.
 */
export interface GenerationOptions {
  /** Most tokens to generate, the final end-of-sequence token included (HF `max_new_tokens`). Built-in default 128. */
  readonly maxNewTokens?: number;
  /** Fewest tokens before end-of-sequence may be chosen (HF `min_new_tokens`; `min_length` − 1). Default 0. */
  readonly minNewTokens?: number;
  /** 1 = greedy search; > 1 = beam search with that many beams (HF `BeamSearchScorer`). Default 1. */
  readonly numBeams?: number;
  /** Beam scores are `sum of log-probabilities / generated_length ** lengthPenalty`. Default 1. */
  readonly lengthPenalty?: number;
  /**
   * Beam search stopping (HF semantics): `true` stops once `numBeams` hypotheses are finished; `false` (default)
   * stops when no running beam can beat the worst finished one at the current length; `'never'` at the longest
   * length allowed.
   */
  readonly earlyStopping?: boolean | 'never';
  /** Forbid repeating any n-gram of this size (HF `no_repeat_ngram_size`); 0 = off. */
  readonly noRepeatNgramSize?: number;
  /** Divide positive / multiply negative scores of tokens already generated (HF `repetition_penalty`); 1 = off. */
  readonly repetitionPenalty?: number;
  /**
   * Text put before the input, e.g. `'summarize: '` for T5. Default: the model's
   * `task_specific_params.summarization.prefix`, else none.
   */
  readonly prefix?: string;
  /** Longest input in tokens, special tokens included; longer inputs are cut (keeping `</s>`). Default: the model's limit. */
  readonly maxInputTokens?: number;
  /** Reuse the decoder's key/value cache between steps (default true). `false` recomputes the whole prefix (benchmarks). */
  readonly useCache?: boolean;
}

/** Options after defaults were applied; what a generation actually ran with. */
export interface ResolvedGenerationOptions {
  readonly maxNewTokens: number;
  readonly minNewTokens: number;
  readonly numBeams: number;
  readonly lengthPenalty: number;
  readonly earlyStopping: boolean | 'never';
  readonly noRepeatNgramSize: number;
  readonly repetitionPenalty: number;
  readonly prefix: string;
  readonly maxInputTokens: number;
  readonly useCache: boolean;
  readonly decoderStartTokenId: number;
  readonly eosTokenIds: readonly number[];
  readonly forcedBosTokenId: number | undefined;
  readonly forcedEosTokenId: number | undefined;
}

/** Why generation ended: `eos` before the length limit, else `maxLength` (also when the last allowed token is a forced eos, as in HF). */
export type StopReason = 'eos' | 'maxLength';

export interface GenerationResult {
  /**
   * Token ids as HF `generate()` returns them: the decoder start token first, then the generated tokens, the final
   * end-of-sequence token included when one was generated.
   */
  readonly ids: readonly number[];
  /** `ids` decoded with special tokens skipped. */
  readonly text: string;
  /** Beam search only: the chosen hypothesis' length-normalised score (HF `sequences_scores`). */
  readonly score?: number;
  readonly stoppedBy: StopReason;
  /** Input tokens the model read, special tokens included, and how many the whole input had. */
  readonly inputTokens: number;
  readonly untruncatedInputTokens: number;
  readonly truncated: boolean;
  /** Decoder steps run and the wall time of encoder + decoding, in milliseconds. */
  readonly steps: number;
  readonly elapsedMs: number;
  readonly options: ResolvedGenerationOptions;
}

/**
 * One streamed update while generating. Greedy search sends one per token, each extending the previous one.
 * Beam search sends one per step showing the currently best running beam; when the best beam changes to one that
 * does not extend what was shown, `replace` is true and the consumer shows `text` instead of appending. The last
 * update (`done: true`) carries the final result's ids and text.
 */
export interface GenerationUpdate {
  /** Ids shown so far, decoder start token first (the same convention as {@link GenerationResult.ids}). */
  readonly ids: readonly number[];
  /** Ids appended since the previous update; all generated ids when `replace` is true. */
  readonly newIds: readonly number[];
  /** `ids` decoded (special tokens skipped). */
  readonly text: string;
  /**
   * Text to append to what was shown so far (empty when `replace`). Trailing whitespace and incomplete UTF-8
   * characters are held back until a later update, so the concatenated deltas always equal the final text.
   */
  readonly delta: string;
  readonly replace: boolean;
  /** Tokens generated so far (decoder steps run). */
  readonly step: number;
  readonly done: boolean;
}

/**
 * Encoder–decoder (cross-) attention of one generated sequence: which source tokens each generated token drew on.
 *
 * `weights` is float32, laid out `[layer][head][target][source]`: the weight that generated token t gave source
 * token s in head h of decoder layer l is `weights[((l * heads + h) * targets + t) * sources + s]` with
 * `targets = targetTokens.length`, `sources = sourceTokens.length`. Row t is the attention while the model
 * predicted `targetTokens[t]` (the decoder read the sequence up to, not including, that token). Rows sum to 1.
 */
export interface CrossAttentionMaps {
  readonly model: string;
  /** The input tokens, special tokens included, with ranges into the source text (not counting any prefix). */
  readonly sourceTokens: readonly TokenSpan[];
  /** The generated tokens (decoder start token excluded), with ranges into {@link CrossAttentionMaps.targetText}. */
  readonly targetTokens: readonly TokenSpan[];
  /** The generated ids decoded (special tokens skipped). */
  readonly targetText: string;
  readonly layers: number;
  readonly heads: number;
  readonly weights: Float32Array;
  /** True when the source was longer than the model's input limit and its end was not read. */
  readonly truncated: boolean;
  /** Which decoder file produced the maps (`decoder_model.onnx` or `decoder_model_quantized.onnx`). */
  readonly decoderFile: string;
}

/** Index of `weights[layer][head][target][source]` in {@link CrossAttentionMaps.weights}. */
export function crossAttentionIndex(
  maps: Pick<CrossAttentionMaps, 'heads' | 'sourceTokens' | 'targetTokens'>,
  layer: number,
  head: number,
  target: number,
  source: number,
): number {
  const t = maps.targetTokens.length;
  const s = maps.sourceTokens.length;
  return ((layer * maps.heads + head) * t + target) * s + source;
}

/** Which model call of a long-input summary an update or request belongs to; `final` marks the call whose output is the answer. */
export interface PartRequest {
  /** 1 for the parts of the input, 2 for the parts of the joined summaries, … */
  readonly round: number;
  readonly part: number;
  readonly parts: number;
  readonly final: boolean;
}

/** Facts about a loaded seq2seq model. */
export interface Seq2SeqInfo {
  readonly ref: string;
  readonly dtype: 'fp32' | 'q8';
  readonly architecture: string;
  readonly modelType: string;
  readonly encoderLayers: number;
  readonly decoderLayers: number;
  readonly heads: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  /** Longest input in tokens, special tokens included. */
  readonly maxInputTokens: number;
  /** Most tokens the decoder can produce (learned position tables), or undefined when unbounded (T5). */
  readonly maxDecoderTokens: number | undefined;
  /** How the decoder runs: one merged file with a cache switch, a decoder + decoder-with-past pair, or no cache. */
  readonly decoderMode: 'merged' | 'split' | 'noCache';
  /** True when `onnx/decoder_model.onnx` exists, so cross-attention can be read. */
  readonly crossAttention: boolean;
  /** Defaults generation runs with when a request leaves options unset. */
  readonly defaults: ResolvedGenerationOptions;
  readonly loadMs: number;
}

// ---- Model-worker requests for summaries and cross-attention ----

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
