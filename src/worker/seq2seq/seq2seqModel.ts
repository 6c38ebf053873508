import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as ort from '../runtime';
import { AutoTokenizer, env as transformersEnv, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { TokenSpan } from '../../protocol/attention';
import type { LocalModel } from '../../protocol/worker';
import { findCrossAttentionTensors, type DecoderAttentionTensors } from '../../core/attention/crossAttentionDiscovery';
import { readOnnxGraph, withExtraOutputs } from '../../core/onnx/onnxGraph';
import type {
  CrossAttentionMaps,
  GenerationOptions,
  GenerationResult,
  GenerationUpdate,
  ResolvedGenerationOptions,
  Seq2SeqInfo,
} from '../../protocol/summarize';
import type { Checkpoint } from '../encoderModel';
import { CodedError } from '../errors';
import { resolveGenerationOptions, type ModelGenerationFacts } from './generationConfig';
import { OrtDecoderStepper, type DecoderLayout, type DecoderSessions, type EncoderOutput } from './ortDecoder';
import { beamSearch, greedySearch, type BeamHypothesis } from './search';
import { TextStream } from './textStream';
import { pieceSpans, type PieceEncoding } from './tokenSpans';
import { specialAffixes, tokenizerJson } from '../tokenizerInfo';

// Models come from folders the host has already resolved; transformers.js must never go to the network itself.
transformersEnv.allowRemoteModels = false;
transformersEnv.allowLocalModels = true;
transformersEnv.useFSCache = false;
transformersEnv.useBrowserCache = false;

/** Longest text (characters) tokenised for one input; longer ones are cut first (they are truncated anyway). */
const INPUT_CHAR_CAP = 256 * 1024;
/** Most beams a request may ask for. */
export const MAX_BEAMS = 16;

/** Called with every streamed update while generating. */
export type OnGenerationUpdate = (update: GenerationUpdate) => void;

/** A generation result with, for beam search, every kept hypothesis (best first). */
export interface Seq2SeqGeneration extends GenerationResult {
  readonly hypotheses?: readonly BeamHypothesis[];
}

export interface CrossAttentionOptions {
  /** Same meaning as in {@link GenerationOptions}: pass what the generation used (default: the model's). */
  readonly prefix?: string;
  readonly maxInputTokens?: number;
}

/** True when `dir/config.json` declares an encoder–decoder model (what {@link Seq2SeqModel} loads). */
export async function isSeq2SeqFolder(dir: string): Promise<boolean> {
  try {
    const c = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    return c.is_encoder_decoder === true;
  } catch {
    return false;
  }
}

interface EncodedInput {
  readonly ids: number[];
  /** Text ids after the prefix pieces, before truncation. */
  readonly untruncated: number;
  readonly truncated: boolean;
}

interface AttentionDecoder {
  readonly session: ort.InferenceSession;
  readonly layers: readonly DecoderAttentionTensors[];
  readonly file: string;
}

/**
 * An encoder–decoder model (T5, BART and relatives) exported by Optimum / for transformers.js: `onnx/encoder_model`
 * plus `onnx/decoder_model_merged` (preferred: one file, key/value cache behind `use_cache_branch`), or
 * `decoder_model` + `decoder_with_past_model`, or `decoder_model` alone (no cache); `_quantized` files for q8.
 * transformers.js is used for the tokenizer only: search runs here on onnxruntime (transformers.js 4.3 ignores
 * `num_beams`).
 *
 * @example
 *   const m = await Seq2SeqModel.load({ ref: 'tiny-t5', dir: '/models/tiny-t5', dtype: 'fp32' });
 *   const r = await m.generate('The quick brown fox.', { numBeams: 3, maxNewTokens: 40 }, (u) => process.stdout.write(u.delta));
 *   const maps = await m.crossAttention('The quick brown fox.', r.ids);   // weights[layer][head][target][source]
 */
export class Seq2SeqModel {
  private attentionDecoder: Promise<AttentionDecoder> | undefined;
  private plainDecoder: Promise<ort.InferenceSession | undefined> | undefined;
  private readonly pieceById = new Map<number, string>();
  private readonly specialIds: ReadonlySet<number>;

  private constructor(
    readonly model: LocalModel,
    readonly info: Seq2SeqInfo,
    private readonly facts: ModelGenerationFacts,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly encoder: ort.InferenceSession,
    private readonly decoders: DecoderSessions,
    private readonly layout: DecoderLayout,
    private readonly prefixIds: readonly number[],
    private readonly suffixIds: readonly number[],
    private readonly pieceEncoding: PieceEncoding,
  ) {
    for (const [piece, id] of tokenizer.get_vocab() as Map<string, number>) this.pieceById.set(id, piece);
    this.specialIds = new Set(tokenizer.all_special_ids);
  }

  static async load(model: LocalModel): Promise<Seq2SeqModel> {
    const started = performance.now();
    const config = await readJson(path.join(model.dir, 'config.json'), true);
    if (config.is_encoder_decoder !== true) {
      throw new CodedError('badModel', `${model.ref} is not an encoder–decoder model (config.json has no "is_encoder_decoder": true); summaries need a T5/BART-style model.`);
    }
    const generationConfig = await readJson(path.join(model.dir, 'generation_config.json'), false);
    const suffix = model.dtype === 'q8' ? '_quantized' : '';
    const file = (name: string): string => path.join(model.dir, 'onnx', `${name}${suffix}.onnx`);
    const exists = async (f: string): Promise<boolean> => fs.access(f).then(() => true, () => false);

    const encoderFile = file('encoder_model');
    if (!(await exists(encoderFile))) {
      throw new CodedError('modelNotFound', `Model ${model.ref} has no ${model.dtype} encoder file (${encoderFile}). A seq2seq folder needs onnx/encoder_model${suffix}.onnx and onnx/decoder_model_merged${suffix}.onnx.`);
    }
    const [hasMerged, hasPlain, hasWithPast] = await Promise.all([exists(file('decoder_model_merged')), exists(file('decoder_model')), exists(file('decoder_with_past_model'))]);
    const decoderMode: Seq2SeqInfo['decoderMode'] = hasMerged ? 'merged' : hasPlain && hasWithPast ? 'split' : hasPlain ? 'noCache' : (() => {
      throw new CodedError('modelNotFound', `Model ${model.ref} has no ${model.dtype} decoder file: expected onnx/decoder_model_merged${suffix}.onnx (or decoder_model${suffix}.onnx).`);
    })();
    const create = async (f: string): Promise<ort.InferenceSession> => {
      try {
        return await ort.InferenceSession.create(f, { graphOptimizationLevel: 'all' });
      } catch (e) {
        throw new CodedError('badModel', `onnxruntime could not load ${f}: ${(e as Error).message}`);
      }
    };
    const encoder = await create(encoderFile);
    const decoders: DecoderSessions =
      decoderMode === 'merged'
        ? { merged: await create(file('decoder_model_merged')) }
        : decoderMode === 'split'
          ? { plain: await create(file('decoder_model')), withPast: await create(file('decoder_with_past_model')) }
          : { plain: await create(file('decoder_model')) };

    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(model.dir);
    } catch (e) {
      throw new CodedError('badModel', `Could not load the tokenizer of ${model.ref}: ${(e as Error).message}`);
    }

    const n = (...keys: string[]): number | undefined => {
      for (const k of keys) if (typeof config[k] === 'number') return config[k] as number;
      return undefined;
    };
    const hiddenSize = n('d_model', 'hidden_size') ?? 0;
    const heads = n('decoder_attention_heads', 'num_heads', 'num_attention_heads') ?? 0;
    const headDim = n('d_kv') ?? (heads > 0 ? hiddenSize / heads : 0);
    const decoderSession = decoders.merged ?? decoders.withPast ?? decoders.plain!;
    const pastLayers = new Set(decoderSession.inputNames.map((i) => /^past_key_values\.(\d+)\./.exec(i)?.[1]).filter((x) => x !== undefined)).size;
    const decoderLayers = n('decoder_layers', 'num_decoder_layers', 'num_layers') ?? pastLayers;
    const vocabSize = n('vocab_size') ?? 0;
    if (!hiddenSize || !heads || !headDim || !decoderLayers || !vocabSize) {
      throw new CodedError('badModel', `config.json of ${model.ref} lacks d_model / attention heads / decoder layers / vocab_size`);
    }
    const learnedPositions = n('max_position_embeddings');
    const tokenizerMax = Number(tokenizer.model_max_length);
    const modelMax = learnedPositions ?? n('n_positions') ?? 512;
    const maxInputTokens = Number.isFinite(tokenizerMax) && tokenizerMax > 0 && tokenizerMax < 1e6 ? Math.min(tokenizerMax, modelMax) : modelMax;
    const pad = typeof tokenizer.pad_token_id === 'number' ? tokenizer.pad_token_id : n('pad_token_id');
    const facts: ModelGenerationFacts = { config, generationConfig, maxInputTokens, maxDecoderTokens: learnedPositions, padTokenId: pad };
    let defaults: ResolvedGenerationOptions;
    try {
      defaults = resolveGenerationOptions(facts);
    } catch (e) {
      throw new CodedError('badModel', `${model.ref}: ${(e as Error).message}`);
    }
    const { prefix, suffix: after } = specialAffixes(tokenizer);
    const architectures = Array.isArray(config.architectures) ? (config.architectures as unknown[]) : [];
    const info: Seq2SeqInfo = {
      ref: model.ref,
      dtype: model.dtype,
      architecture: typeof architectures[0] === 'string' ? architectures[0] : String(config.model_type ?? 'unknown'),
      modelType: String(config.model_type ?? 'unknown'),
      encoderLayers: n('encoder_layers', 'num_layers') ?? decoderLayers,
      decoderLayers,
      heads,
      hiddenSize,
      vocabSize,
      maxInputTokens,
      maxDecoderTokens: learnedPositions,
      decoderMode,
      crossAttention: (await exists(file('decoder_model'))) || (await exists(path.join(model.dir, 'onnx', 'decoder_model.onnx'))),
      defaults,
      loadMs: performance.now() - started,
    };
    return new Seq2SeqModel(model, info, facts, tokenizer, encoder, decoders, { layers: decoderLayers, heads, headDim, vocabSize }, prefix, after, pieceEncodingOf(tokenizer));
  }

  /** The options a generation with `options` would run with (the model's defaults filled in). */
  resolveOptions(options: GenerationOptions = {}): ResolvedGenerationOptions {
    try {
      return resolveGenerationOptions(this.facts, options);
    } catch (e) {
      throw new CodedError('badRequest', (e as Error).message);
    }
  }

  /** Tokens each text takes as model input (prefix and special tokens included, before truncation). */
  countInputTokens(texts: readonly string[], options: Pick<GenerationOptions, 'prefix'> = {}): number[] {
    const prefix = options.prefix ?? this.info.defaults.prefix;
    return texts.map((t) => this.tokenizer.encode(prefix + t.slice(0, INPUT_CHAR_CAP), { add_special_tokens: false }).length + this.prefixIds.length + this.suffixIds.length);
  }

  /** Decodes ids (special tokens skipped). */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  /**
   * Generates from `text` with greedy (numBeams 1) or beam search. `onUpdate` receives streamed updates (see
   * {@link GenerationUpdate}: greedy, one per token; beam, the best running beam per step). `checkpoint` runs
   * before the encoder and between decoder steps; it throws to cancel.
   */
  async generate(text: string, options: GenerationOptions = {}, onUpdate?: OnGenerationUpdate, checkpoint?: Checkpoint): Promise<Seq2SeqGeneration> {
    const started = performance.now();
    const o = this.resolveOptions(options);
    if (o.numBeams > MAX_BEAMS) throw new CodedError('badRequest', `numBeams ${o.numBeams} is more than ${MAX_BEAMS}`);
    const input = this.encodeInput(text, o);
    await checkpoint?.(0, o.maxNewTokens);
    const encoded = await this.runEncoder(input.ids);
    await checkpoint?.(0, o.maxNewTokens);
    const stepper = new OrtDecoderStepper(await this.decoderSessions(o.useCache), this.layout, encoded, o.numBeams, o.useCache);
    const stream = onUpdate ? new TextStream((ids) => this.decode(ids)) : undefined;
    const hooks = {
      onStep: stream ? (ids: readonly number[], step: number) => onUpdate!(stream.update(ids, step, false)) : undefined,
      checkpoint,
    };
    const r = o.numBeams > 1 ? await beamSearch(stepper, o, hooks) : await greedySearch(stepper, o, hooks);
    const out = this.decode(r.ids);
    if (stream) onUpdate!(stream.update(r.ids, r.steps, true));
    return {
      ids: [...r.ids],
      text: out,
      ...(r.score !== undefined ? { score: r.score } : {}),
      ...(r.hypotheses ? { hypotheses: r.hypotheses } : {}),
      stoppedBy: r.stoppedBy,
      inputTokens: input.ids.length,
      untruncatedInputTokens: input.untruncated + this.prefixIds.length + this.suffixIds.length,
      truncated: input.truncated,
      steps: r.steps,
      elapsedMs: performance.now() - started,
      options: o,
    };
  }

  /**
   * Cross-attention of `generatedIds` (as {@link generate} returned them; a missing decoder start token is added)
   * over `sourceText`, read from `onnx/decoder_model.onnx` run once on the whole sequence with its cross-attention
   * Softmax outputs exposed. Pass the prefix / input limit the generation used.
   */
  async crossAttention(sourceText: string, generatedIds: readonly number[], options: CrossAttentionOptions = {}): Promise<CrossAttentionMaps> {
    const o = this.resolveOptions({ ...(options.prefix !== undefined ? { prefix: options.prefix } : {}), ...(options.maxInputTokens !== undefined ? { maxInputTokens: options.maxInputTokens } : {}) });
    const ids = generatedIds[0] === o.decoderStartTokenId ? [...generatedIds] : [o.decoderStartTokenId, ...generatedIds];
    if (ids.length < 2) throw new CodedError('badRequest', 'Cross-attention needs at least one generated token.');
    if (this.info.maxDecoderTokens !== undefined && ids.length - 1 > this.info.maxDecoderTokens) {
      throw new CodedError('badRequest', `${ids.length - 1} generated tokens are more than the decoder's ${this.info.maxDecoderTokens} positions.`);
    }
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= this.info.vocabSize);
    if (bad !== undefined) throw new CodedError('badRequest', `Token id ${bad} is not in the vocabulary (size ${this.info.vocabSize}).`);
    const decoder = await this.loadAttentionDecoder();
    const input = this.encodeInput(sourceText, o);
    const encoded = await this.runEncoder(input.ids);
    const s = encoded.sourceLength;
    const t = ids.length - 1;
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of decoder.session.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', BigInt64Array.from(ids.slice(0, t), BigInt), [1, t]);
      else if (name === 'encoder_attention_mask') feeds[name] = new ort.Tensor('int64', new BigInt64Array(s).fill(1n), [1, s]);
      else if (name === 'encoder_hidden_states') feeds[name] = new ort.Tensor('float32', encoded.hidden, [1, s, encoded.hiddenSize]);
      else throw new CodedError('badModel', `${decoder.file} has an input BERT Lens does not know how to fill: ${name}`);
    }
    const names = decoder.layers.map((l) => l.cross.output);
    const out = await decoder.session.run(feeds, names);
    const { decoderLayers: layers, heads } = this.info;
    const weights = new Float32Array(layers * heads * t * s);
    names.forEach((name, layer) => {
      const tensor = out[name]!;
      const dims = tensor.dims as number[];
      // T5: [1, heads, t, s]; BART-style exports: [heads, t, s] (batch·heads folded).
      const size = dims.reduce((a, b) => a * b, 1);
      if (size !== heads * t * s || dims.at(-1) !== s || dims.at(-2) !== t) {
        throw new CodedError('attentionUnavailable', `Cross-attention output ${name} has shape [${dims.join(', ')}], expected [1, ${heads}, ${t}, ${s}]`);
      }
      weights.set(tensor.data as Float32Array, layer * heads * t * s);
    });

    const prefix = o.prefix;
    const sourcePieces = input.ids.map((id) => this.pieceById.get(id) ?? `<${id}>`);
    const special = new Set(this.tokenizer.all_special_tokens);
    const unknown = typeof this.tokenizer.unk_token === 'string' ? this.tokenizer.unk_token : undefined;
    const spans = pieceSpans(prefix + sourceText.slice(0, INPUT_CHAR_CAP), sourcePieces, { encoding: this.pieceEncoding, specialTokens: special, ...(unknown ? { unknownToken: unknown } : {}) });
    const sourceTokens: TokenSpan[] = spans.map((sp) =>
      sp.special || sp.end <= prefix.length
        ? { text: sp.text, start: Math.max(0, sp.start - prefix.length), end: Math.max(0, sp.start - prefix.length), special: true }
        : { text: sp.text, start: Math.max(0, sp.start - prefix.length), end: sp.end - prefix.length, special: false },
    );
    const targetText = this.decode(ids);
    const targetTokens: TokenSpan[] = [];
    let previous = 0;
    for (let i = 1; i < ids.length; i++) {
      const id = ids[i]!;
      const piece = this.pieceById.get(id) ?? `<${id}>`;
      if (this.specialIds.has(id)) {
        targetTokens.push({ text: piece, start: previous, end: previous, special: true });
        continue;
      }
      const end = Math.min(targetText.length, Math.max(previous, this.decode(ids.slice(0, i + 1)).length));
      let start = previous;
      while (start < end && /\s/u.test(targetText[start]!)) start++;
      targetTokens.push({ text: piece, start, end, special: false });
      previous = end;
    }
    return { model: this.model.ref, sourceTokens, targetTokens, targetText, layers, heads, weights, truncated: input.truncated, decoderFile: decoder.file };
  }

  async dispose(): Promise<void> {
    const sessions = [this.encoder, this.decoders.merged, this.decoders.plain, this.decoders.withPast];
    const plain = await this.plainDecoder?.catch(() => undefined);
    const attention = await this.attentionDecoder?.catch(() => undefined);
    for (const s of new Set([...sessions, plain, attention?.session])) await s?.release();
  }

  private encodeInput(text: string, o: ResolvedGenerationOptions): EncodedInput {
    const capped = text.length > INPUT_CHAR_CAP;
    const body = this.tokenizer.encode(o.prefix + (capped ? text.slice(0, INPUT_CHAR_CAP) : text), { add_special_tokens: false });
    const room = Math.max(1, o.maxInputTokens - this.prefixIds.length - this.suffixIds.length);
    const kept = body.length > room ? body.slice(0, room) : body;
    return { ids: [...this.prefixIds, ...kept, ...this.suffixIds], untruncated: body.length, truncated: capped || body.length > room };
  }

  private async runEncoder(ids: readonly number[]): Promise<EncoderOutput> {
    const s = ids.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.encoder.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, s]);
      else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', new BigInt64Array(s).fill(1n), [1, s]);
      else throw new CodedError('badModel', `The encoder of ${this.model.ref} has an input BERT Lens does not know how to fill: ${name}`);
    }
    const outName = this.encoder.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : this.encoder.outputNames[0]!;
    const out = await this.encoder.run(feeds, [outName]);
    const hidden = out[outName]!;
    const dims = hidden.dims as number[];
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== s) throw new CodedError('badModel', `The encoder returned shape [${dims.join(', ')}], expected [1, ${s}, hidden]`);
    return { hidden: hidden.data as Float32Array, sourceLength: s, hiddenSize: dims[2]! };
  }

  /** Sessions for a generation: the cached decoder(s), or for `useCache: false` the plain decoder when there is one. */
  private async decoderSessions(useCache: boolean): Promise<DecoderSessions> {
    if (useCache) {
      if (this.info.decoderMode === 'noCache') return { plain: this.decoders.plain! };
      return this.decoders;
    }
    if (this.decoders.plain) return { plain: this.decoders.plain };
    this.plainDecoder ??= (async () => {
      const f = path.join(this.model.dir, 'onnx', `decoder_model${this.model.dtype === 'q8' ? '_quantized' : ''}.onnx`);
      return fs.access(f).then(() => ort.InferenceSession.create(f, { graphOptimizationLevel: 'all' }), () => undefined);
    })();
    const plain = await this.plainDecoder;
    return plain ? { plain } : { merged: this.decoders.merged! };
  }

  private loadAttentionDecoder(): Promise<AttentionDecoder> {
    this.attentionDecoder ??= (async () => {
      const dir = path.join(this.model.dir, 'onnx');
      const candidates = this.model.dtype === 'q8' ? ['decoder_model_quantized.onnx', 'decoder_model.onnx'] : ['decoder_model.onnx'];
      let bytes: Uint8Array | undefined;
      let file = '';
      for (const c of candidates) {
        bytes = await fs.readFile(path.join(dir, c)).catch(() => undefined);
        file = c;
        if (bytes) break;
      }
      if (!bytes) {
        throw new CodedError(
          'attentionUnavailable',
          `Model ${this.model.ref} has no onnx/decoder_model.onnx. Cross-attention is read from the decoder without cache ` +
            '(decoder_model_merged.onnx hides its attention inside If branches); use an export that ships decoder_model.onnx.',
        );
      }
      const layers = findCrossAttentionTensors(readOnnxGraph(bytes), this.info.decoderLayers);
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(withExtraOutputs(bytes, layers.map((l) => l.cross.output)), { graphOptimizationLevel: 'all' });
      } catch (e) {
        throw new CodedError('badModel', `onnxruntime could not load ${file} with its attention outputs: ${(e as Error).message}`);
      }
      return { session, layers, file };
    })();
    // A failure is not cached: the folder may be fixed and the request retried.
    this.attentionDecoder.catch(() => (this.attentionDecoder = undefined));
    return this.attentionDecoder;
  }
}

async function readJson(file: string, required: boolean): Promise<Record<string, unknown>> {
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch {
    if (!required) return {};
    throw new CodedError('modelNotFound', `No model found at ${path.dirname(file)}: ${path.basename(file)} is missing. A seq2seq folder needs config.json, tokenizer.json and onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx.`);
  }
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new CodedError('badModel', `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function pieceEncodingOf(tokenizer: PreTrainedTokenizer): PieceEncoding {
  const json = tokenizerJson(tokenizer);
  const types = (n: unknown): string[] => {
    if (typeof n !== 'object' || n === null) return [];
    const r = n as Record<string, unknown>;
    const inner = [r.pretokenizers, r.decoders].flatMap((x) => (Array.isArray(x) ? x.flatMap(types) : []));
    return [String(r.type), ...inner];
  };
  return [...types(json.pre_tokenizer), ...types(json.decoder)].includes('ByteLevel') ? 'byteLevel' : 'sentencePiece';
}
