import * as fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as ort from './runtime';
import { AutoTokenizer, env as transformersEnv, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { AttentionMaps, TokenSpan } from '../protocol/attention';
import type { Embeddings, LocalModel, ModelInfo } from '../protocol/worker';
import { findAttentionTensors, type AttentionTensor } from '../core/attention/softmaxDiscovery';
import { readOnnxGraph, withExtraOutputs } from '../core/onnx/onnxGraph';
import { alignTokens, type AlignmentOptions } from '../core/text/tokenAlignment';
import { readPart } from '../core/text/readPart';
import { collectAttention, type Checkpoint, type EncoderModel } from './encoderModel';
import { CodedError } from './errors';
import { embedBatching, embedInBudget, normalise } from './tokenBudget';
import { specialAffixes, tokenizerJson } from './tokenizerInfo';

// Models come from folders the host has already resolved; transformers.js must never go to the network itself.
transformersEnv.allowRemoteModels = false;
transformersEnv.allowLocalModels = true;
transformersEnv.useFSCache = false;
transformersEnv.useBrowserCache = false;

/** Longest text (in characters) tokenised for one attention request; windows can move anywhere inside it. */
const ATTENTION_CHAR_CAP = 256 * 1024;

/**
 * Most memory one attention request may take for its maps: onnxruntime's outputs and the copy sent to the host,
 * `2 × layers × heads × n² × 4` bytes. A model whose config announces a long limit gets a shorter attention window
 * instead of an allocation that takes the machine down. Development builds let tests set it.
 */
const ATTENTION_BYTES_CAP = (BERT_LENS_TEST_HOOKS && Number(process.env.BERT_LENS_ATTENTION_BYTES_CAP)) || 512 * 2 ** 20;

/** Longest input (special tokens included) whose attention maps fit in `capBytes`. */
export function attentionTokenLimit(layers: number, heads: number, capBytes = ATTENTION_BYTES_CAP): number {
  return Math.floor(Math.sqrt(capBytes / (2 * 4 * layers * heads)));
}

/** Bounds a config.json value must keep; anything else is a broken or hostile config. */
const CONFIG_BOUNDS = {
  layers: [1, 256],
  heads: [1, 256],
  hiddenSize: [1, 65_536],
  maxPositions: [2, 1_048_576],
} as const;

interface BertConfig {
  readonly architecture: string;
  readonly layers: number;
  readonly heads: number;
  readonly hiddenSize: number;
  readonly maxPositions: number;
}

/** SHA-256 of ONNX files already hashed in this worker, by path, size and modification time. */
const digests = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly sha256: string }>();

/**
 * The SHA-256 of `file`, whose bytes are `bytes`: computed once per file version (size and modification time) and
 * kept for the worker's life, so a model loaded again costs no second pass over its weights.
 */
async function weightsDigest(file: string, bytes: Uint8Array): Promise<string> {
  const { size, mtimeMs } = await fs.stat(file);
  const known = digests.get(file);
  if (known && known.size === size && known.mtimeMs === mtimeMs && size === bytes.length) return known.sha256;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  digests.set(file, { size, mtimeMs, sha256 });
  return sha256;
}

export function onnxFileFor(model: LocalModel): string {
  return path.join(model.dir, 'onnx', model.dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx');
}

/** Options of both sessions. */
const SESSION_OPTIONS = (): ort.InferenceSession.SessionOptions => ({ graphOptimizationLevel: 'all', intraOpNumThreads: ort.intraOpThreads() });

/** An attention session unused this long is released (its memory is planned for every layer's maps). */
const ATTENTION_SESSION_IDLE_MS = 2 * 60_000;

/**
 * A BERT-family encoder. Embeddings run on a session of the graph as it is; attention maps on a second session of
 * the graph with the Softmax outputs appended, created when attention is first asked for and released when unused
 * for {@link ATTENTION_SESSION_IDLE_MS}: onnxruntime plans memory for every output, so an embedding session carrying
 * the attention outputs held about 1 GB more while indexing.
 */
export class BertModel implements EncoderModel {
  private attentionSession: Promise<ort.InferenceSession> | undefined;
  private attentionUsers = 0;
  private attentionTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly model: LocalModel,
    readonly info: ModelInfo,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly session: ort.InferenceSession,
    private readonly file: string,
    private readonly attention: readonly AttentionTensor[] | Error,
    private readonly prefixIds: readonly number[],
    private readonly suffixIds: readonly number[],
    private readonly alignment: AlignmentOptions,
    private readonly hiddenOutput: string,
  ) {
    const byId = new Map<number, string>();
    for (const [token, id] of tokenizer.get_vocab()) byId.set(id, token);
    this.prefixTokens = prefixIds.map((id) => byId.get(id) ?? `[${id}]`);
    this.suffixTokens = suffixIds.map((id) => byId.get(id) ?? `[${id}]`);
  }

  private readonly prefixTokens: readonly string[];
  private readonly suffixTokens: readonly string[];

  static async load(model: LocalModel): Promise<BertModel> {
    const started = performance.now();
    const config = await readConfig(model.dir);
    const file = onnxFileFor(model);
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(file);
    } catch (e) {
      throw new CodedError('modelNotFound', `Model ${model.ref} has no ${model.dtype} ONNX file (${file}): ${(e as Error).message}`);
    }
    const graph = readOnnxGraph(bytes);
    let attention: AttentionTensor[] | Error;
    try {
      attention = findAttentionTensors(graph, config.layers);
    } catch (e) {
      attention = e as Error;
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS());
    } catch (e) {
      throw new CodedError('badModel', `onnxruntime could not load ${file}: ${(e as Error).message}`);
    }
    const hiddenOutput = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0]!;

    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(model.dir);
    } catch (e) {
      throw new CodedError('badModel', `Could not load the tokenizer of ${model.ref}: ${(e as Error).message}`);
    }
    const { prefix, suffix } = specialAffixes(tokenizer);
    const tokenizerMax = Number(tokenizer.model_max_length);
    const maxTokens = Number.isFinite(tokenizerMax) && tokenizerMax > 0 ? Math.min(tokenizerMax, config.maxPositions) : config.maxPositions;

    const info: ModelInfo = {
      ref: model.ref,
      dtype: model.dtype,
      architecture: config.architecture,
      layers: config.layers,
      heads: config.heads,
      hiddenSize: config.hiddenSize,
      maxTokens,
      loadMs: performance.now() - started,
      weightsSha256: await weightsDigest(file, bytes),
    };
    return new BertModel(model, info, tokenizer, session, file, attention, prefix, suffix, alignmentOptions(tokenizer), hiddenOutput);
  }

  /** Text tokens an input of `limit` tokens holds besides its special tokens. */
  private room(limit = this.info.maxTokens): number {
    return limit - this.prefixIds.length - this.suffixIds.length;
  }

  tokenCount(text: string): number {
    return this.tokenizer.tokenize(text).length + this.prefixIds.length + this.suffixIds.length;
  }

  /** Longest attention input: the model's limit, or less when its maps would not fit in memory. */
  private get attentionLimit(): number {
    return Math.min(this.info.maxTokens, attentionTokenLimit(this.info.layers, this.info.heads));
  }

  /**
   * Token ids with special tokens for the window of `room` text tokens starting at text token `windowStart`
   * (the whole text when it fits), so a long input never loses its final [SEP].
   */
  private encode(text: string, windowStart = 0, limit = this.info.maxTokens): { ids: number[]; pieces: string[]; all: string[]; start: number } {
    const room = this.room(limit);
    const all = this.tokenizer.tokenize(text);
    const start = Math.max(0, Math.min(Math.floor(windowStart), all.length - room));
    const pieces = all.length > room ? all.slice(start, start + room) : all;
    const ids = [...this.prefixIds, ...this.tokenizer.convert_tokens_to_ids(pieces), ...this.suffixIds];
    return { ids, pieces, all, start: all.length > room ? start : 0 };
  }

  private feeds(batch: readonly (readonly number[])[]): Record<string, ort.Tensor> {
    const rows = batch.length;
    const cols = Math.max(...batch.map((ids) => ids.length));
    const inputIds = new BigInt64Array(rows * cols);
    const mask = new BigInt64Array(rows * cols);
    batch.forEach((ids, r) => {
      ids.forEach((id, c) => {
        inputIds[r * cols + c] = BigInt(id);
        mask[r * cols + c] = 1n;
      });
    });
    const dims = [rows, cols];
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', inputIds, dims);
      else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', mask, dims);
      else if (name === 'token_type_ids') feeds[name] = new ort.Tensor('int64', new BigInt64Array(rows * cols), dims);
      else throw new CodedError('badModel', `Model ${this.model.ref} has an input BERT Lens does not know how to fill: ${name}`);
    }
    return feeds;
  }

  /**
   * Mean-pooled, L2-normalised vectors for `texts`, in order, in runs of similar token counts within a padded-token
   * budget (see {@link embedInBudget}); `checkpoint` runs between runs so the caller can report progress or abandon
   * the work.
   */
  embed(texts: readonly string[], checkpoint: Checkpoint): Promise<Embeddings> {
    return embedInBudget(texts, this.info.hiddenSize, (text) => this.encode(text).ids, (rows) => this.pooled(rows), checkpoint, embedBatching());
  }

  /** One run over token-id rows: each row's hidden states averaged over its tokens, then L2-normalised. */
  private async pooled(rows: readonly (readonly number[])[]): Promise<Float32Array> {
    const dims = this.info.hiddenSize;
    const out = await this.session.run(this.feeds(rows), [this.hiddenOutput]);
    const hidden = out[this.hiddenOutput]!;
    const [count, cols, width] = hidden.dims as number[];
    if (width !== dims || count !== rows.length) {
      throw new CodedError('badModel', `Model ${this.model.ref} returned hidden states of shape [${hidden.dims.join(', ')}], expected width ${dims}`);
    }
    const data = hidden.data as Float32Array;
    const vectors = new Float32Array(rows.length * dims);
    rows.forEach((ids, r) => {
      const target = vectors.subarray(r * dims, (r + 1) * dims);
      for (let t = 0; t < ids.length; t++) {
        const row = data.subarray((r * cols! + t) * dims, (r * cols! + t + 1) * dims);
        for (let d = 0; d < dims; d++) target[d]! += row[d]!;
      }
      normalise(target);
    });
    hidden.dispose();
    return vectors;
  }

  /**
   * Attention probabilities of every layer and head for `text`, tokens mapped back to offsets in `text`.
   * A text longer than the model's limit is read through a window of text tokens starting at `windowStart`.
   */
  async attentionMaps(text: string, windowStart = 0): Promise<AttentionMaps> {
    if (this.attention instanceof Error) throw this.attention;
    const limit = this.attentionLimit;
    if (this.room(limit) < 1) {
      throw new CodedError('attentionUnavailable', `The attention maps of ${this.model.ref} (${this.info.layers} layers × ${this.info.heads} heads) would not fit in ${ATTENTION_BYTES_CAP / 2 ** 20} MiB even for one token.`);
    }
    const read = readPart(text, ATTENTION_CHAR_CAP);
    const source = read.text;
    const { ids, pieces, all, start } = this.encode(source, windowStart, limit);
    const names = this.attention.map((t) => t.output);
    const out = await this.withAttentionSession((session) => session.run(this.feeds([ids]), names));
    const n = ids.length;
    const { layers, heads } = this.info;
    const weights = collectAttention(out, names, heads, n);
    const spans = alignTokens(source, all, this.alignment).slice(start, start + pieces.length);
    const special = (text: string, at: number): TokenSpan => ({ text, start: at, end: at, special: true });
    const first = spans[0]?.start ?? 0;
    const last = spans.at(-1)?.end ?? 0;
    const tokens: TokenSpan[] = [
      ...this.prefixTokens.map((t) => special(t, first)),
      ...spans,
      ...this.suffixTokens.map((t) => special(t, last)),
    ];
    return {
      model: this.model.ref,
      tokens,
      layers,
      heads,
      weights,
      truncated: all.length > pieces.length || read.chars < read.totalChars,
      maxTokens: limit,
      inputTokens: all.length + this.prefixIds.length + this.suffixIds.length,
      window: { start, textTokens: all.length },
      read: { chars: read.chars, totalChars: read.totalChars },
    };
  }

  /** Runs `work` on the attention session, creating it if needed; it is released once unused for a while. */
  private async withAttentionSession<T>(work: (session: ort.InferenceSession) => Promise<T>): Promise<T> {
    clearTimeout(this.attentionTimer);
    this.attentionUsers++;
    try {
      this.attentionSession ??= this.createAttentionSession();
      return await work(await this.attentionSession);
    } finally {
      if (--this.attentionUsers === 0) {
        this.attentionTimer = setTimeout(() => void this.releaseAttentionSession(), ATTENTION_SESSION_IDLE_MS);
        this.attentionTimer.unref();
      }
    }
  }

  private async createAttentionSession(): Promise<ort.InferenceSession> {
    const tensors = this.attention instanceof Error ? [] : this.attention;
    try {
      const bytes = await fs.readFile(this.file);
      // The file may have changed since the model loaded: its maps would not be this model's.
      if ((await weightsDigest(this.file, bytes)) !== this.info.weightsSha256) throw new Error('the file changed since the model was loaded; load the model again');
      return await ort.InferenceSession.create(withExtraOutputs(bytes, tensors.map((t) => t.output)), SESSION_OPTIONS());
    } catch (e) {
      this.attentionSession = undefined;
      throw new CodedError('attentionUnavailable', `Could not prepare the attention outputs of ${this.model.ref}: ${(e as Error).message}`);
    }
  }

  /** Releases the attention session when no request is using it (read by tests: true when one was released). */
  async releaseAttentionSession(): Promise<boolean> {
    if (this.attentionUsers > 0 || !this.attentionSession) return false;
    const session = this.attentionSession;
    this.attentionSession = undefined;
    clearTimeout(this.attentionTimer);
    await (await session.catch(() => undefined))?.release();
    return true;
  }

  /** Whether the attention session is in memory now (read by tests). */
  get attentionSessionLoaded(): boolean {
    return this.attentionSession !== undefined;
  }

  async dispose(): Promise<void> {
    clearTimeout(this.attentionTimer);
    const attention = this.attentionSession;
    this.attentionSession = undefined;
    await (await attention?.catch(() => undefined))?.release();
    await this.session.release();
  }
}

async function readConfig(dir: string): Promise<BertConfig> {
  let raw: string;
  try {
    raw = await fs.readFile(path.join(dir, 'config.json'), 'utf8');
  } catch {
    throw new CodedError('modelNotFound', `No model found at ${dir}: config.json is missing. A model folder needs config.json, tokenizer.json and onnx/model.onnx.`);
  }
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new CodedError('badModel', `config.json in ${dir} is not valid JSON: ${(e as Error).message}`);
  }
  const num = (...keys: string[]): number | undefined => {
    for (const k of keys) if (typeof c[k] === 'number') return c[k] as number;
    return undefined;
  };
  const layers = num('num_hidden_layers', 'n_layers', 'num_layers');
  const heads = num('num_attention_heads', 'n_heads');
  const hiddenSize = num('hidden_size', 'dim', 'd_model');
  if (!layers || !heads || !hiddenSize) {
    throw new CodedError('badModel', `config.json in ${dir} lacks num_hidden_layers / num_attention_heads / hidden_size`);
  }
  const architectures = Array.isArray(c.architectures) ? (c.architectures as unknown[]) : [];
  const config = {
    architecture: typeof architectures[0] === 'string' ? architectures[0].slice(0, 100) : String(c.model_type ?? 'unknown').slice(0, 100),
    layers,
    heads,
    hiddenSize,
    maxPositions: num('max_position_embeddings', 'n_positions') ?? 512,
  };
  for (const [key, [min, max]] of Object.entries(CONFIG_BOUNDS)) {
    const value = config[key as keyof typeof CONFIG_BOUNDS];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new CodedError('badModel', `config.json in ${dir} gives ${key} = ${value}; a model BERT Lens can run has a whole number from ${min} to ${max}.`);
    }
  }
  if (config.hiddenSize % config.heads !== 0) {
    throw new CodedError('badModel', `config.json in ${dir} gives hidden_size ${config.hiddenSize}, not a multiple of its ${config.heads} attention heads.`);
  }
  return config;
}

function alignmentOptions(tokenizer: PreTrainedTokenizer): AlignmentOptions {
  const json = tokenizerJson(tokenizer);
  const normalizers = flattenNormalizers(json.normalizer);
  let lowercase = false;
  let stripAccents = false;
  for (const n of normalizers) {
    if (n.type === 'BertNormalizer') {
      lowercase ||= n.lowercase === true;
      stripAccents ||= n.strip_accents === true || (n.strip_accents == null && n.lowercase === true);
    } else if (n.type === 'Lowercase') lowercase = true;
    else if (n.type === 'StripAccents') stripAccents = true;
  }
  const modelJson = (json.model ?? {}) as Record<string, unknown>;
  const unknown = typeof tokenizer.unk_token === 'string' ? tokenizer.unk_token : undefined;
  return {
    lowercase,
    stripAccents,
    specialTokens: new Set(tokenizer.all_special_tokens),
    ...(unknown ? { unknownToken: unknown } : {}),
    continuationPrefix: typeof modelJson.continuing_subword_prefix === 'string' ? modelJson.continuing_subword_prefix : modelJson.type === 'WordPiece' ? '##' : '',
  };
}

function flattenNormalizers(n: unknown): Record<string, unknown>[] {
  if (typeof n !== 'object' || n === null) return [];
  const r = n as Record<string, unknown>;
  if (r.type === 'Sequence' && Array.isArray(r.normalizers)) return r.normalizers.flatMap(flattenNormalizers);
  return [r];
}
