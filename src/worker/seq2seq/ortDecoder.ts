import * as ort from '../runtime';
import type { DecoderStepper } from './search';

/**
 * The decoder files of an Optimum/transformers.js seq2seq export, as sessions:
 * - `merged`: `decoder_model_merged.onnx`, one `If` on the bool input `use_cache_branch` (else: no cache, then: cache);
 * - `plain`: `decoder_model.onnx` (no cache inputs);
 * - `withPast`: `decoder_with_past_model.onnx` (cache inputs, returns only the decoder's new keys/values).
 */
export interface DecoderSessions {
  readonly merged?: ort.InferenceSession;
  readonly plain?: ort.InferenceSession;
  readonly withPast?: ort.InferenceSession;
}

export interface DecoderLayout {
  readonly layers: number;
  readonly heads: number;
  readonly headDim: number;
  readonly vocabSize: number;
}

/** The encoder's output for one input: `hidden` is `[1, sourceLength, hiddenSize]`. */
export interface EncoderOutput {
  readonly hidden: Float32Array;
  readonly sourceLength: number;
  readonly hiddenSize: number;
}

const PAST = /^past_key_values\.(\d+)\.(decoder|encoder)\.(key|value)$/;

/**
 * Runs a seq2seq decoder step by step for `rows` sequences, keeping the key/value cache between steps and
 * reordering it when beam search picks new parents. With `useCache` false it re-runs the decoder on the whole
 * prefix every step (what a decoder without cache costs; for benchmarks).
 */
export class OrtDecoderStepper implements DecoderStepper {
  readonly vocabSize: number;
  private readonly encoderHidden: ort.Tensor;
  private readonly encoderMask: ort.Tensor;
  /** Decoder self-attention cache by past input name (`past_key_values.N.decoder.key`). */
  private decoderCache = new Map<string, ort.Tensor>();
  /** Cross-attention keys/values, computed once at the first step. */
  private encoderCache = new Map<string, ort.Tensor>();
  /** Full token rows, for the no-cache mode. */
  private rowsTokens: number[][] = [];
  private rows = 0;
  private started = false;

  constructor(
    private readonly sessions: DecoderSessions,
    private readonly layout: DecoderLayout,
    encoder: EncoderOutput,
    rows: number,
    private readonly useCache: boolean,
  ) {
    this.vocabSize = layout.vocabSize;
    const { hidden, sourceLength: s, hiddenSize: d } = encoder;
    const tiled = new Float32Array(rows * s * d);
    for (let r = 0; r < rows; r++) tiled.set(hidden.subarray(0, s * d), r * s * d);
    this.encoderHidden = new ort.Tensor('float32', tiled, [rows, s, d]);
    this.encoderMask = new ort.Tensor('int64', new BigInt64Array(rows * s).fill(1n), [rows, s]);
    if (useCache && !sessions.merged && !(sessions.plain && sessions.withPast)) {
      throw new Error('a cached decoder needs decoder_model_merged.onnx or decoder_model.onnx + decoder_with_past_model.onnx');
    }
    if (!useCache && !sessions.plain && !sessions.merged) throw new Error('no decoder file');
  }

  async next(tokens: readonly number[], parents: readonly number[] | null): Promise<Float32Array> {
    if (!this.started) {
      this.started = true;
      this.rows = tokens.length;
      this.rowsTokens = tokens.map((t) => [t]);
      return this.run(this.rowsTokens, false);
    }
    if (tokens.length !== this.rows) throw new Error(`decoder rows changed from ${this.rows} to ${tokens.length}`);
    const identity = parents === null || parents.every((p, r) => p === r);
    this.rowsTokens = tokens.map((t, r) => [...this.rowsTokens[identity ? r : parents![r]!]!, t]);
    if (!this.useCache) return this.run(this.rowsTokens, false);
    if (!identity) {
      for (const [name, tensor] of this.decoderCache) this.decoderCache.set(name, gatherRows(tensor, parents!));
    }
    return this.run(tokens.map((t) => [t]), true);
  }

  /** Runs one decoder call on `input` (`[rows][t]`) and returns the last position's logits of each row. */
  private async run(input: readonly number[][], withPast: boolean): Promise<Float32Array> {
    const rows = input.length;
    const t = input[0]!.length;
    const ids = new BigInt64Array(rows * t);
    input.forEach((row, r) => row.forEach((id, c) => (ids[r * t + c] = BigInt(id))));
    const session = withPast ? (this.sessions.merged ?? this.sessions.withPast!) : (this.useCache ? (this.sessions.merged ?? this.sessions.plain!) : (this.sessions.plain ?? this.sessions.merged!));
    const feeds: Record<string, ort.Tensor> = {};
    const empty = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(0), [rows, this.layout.heads, 0, this.layout.headDim]);
    for (const name of session.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', ids, [rows, t]);
      else if (name === 'encoder_attention_mask') feeds[name] = this.encoderMask;
      else if (name === 'encoder_hidden_states') feeds[name] = this.encoderHidden;
      else if (name === 'use_cache_branch') feeds[name] = new ort.Tensor('bool', Uint8Array.of(withPast ? 1 : 0), [1]);
      else if (PAST.test(name)) {
        const cached = withPast ? (name.includes('.decoder.') ? this.decoderCache.get(name) : this.encoderCache.get(name)) : undefined;
        feeds[name] = cached ?? empty();
      } else throw new Error(`the decoder has an input BERT Lens does not know how to fill: ${name}`);
    }
    const wanted = ['logits'];
    if (this.useCache) {
      for (const name of session.outputNames) {
        const m = /^present\.(\d+)\.(decoder|encoder)\.(key|value)$/.exec(name);
        if (m && (m[2] === 'decoder' || !withPast)) wanted.push(name);
      }
    }
    const out = await session.run(feeds, wanted);
    if (this.useCache) {
      for (const name of wanted.slice(1)) {
        const past = name.replace(/^present\./, 'past_key_values.');
        (name.includes('.decoder.') ? this.decoderCache : this.encoderCache).set(past, out[name]!);
      }
    }
    const logits = out.logits!;
    const [, steps, vocab] = logits.dims as number[];
    if (vocab !== this.vocabSize) throw new Error(`decoder logits have ${vocab} columns, expected the vocabulary size ${this.vocabSize}`);
    const data = logits.data as Float32Array;
    if (steps === 1) return data;
    const last = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) last.set(data.subarray((r * steps + steps - 1) * vocab, (r * steps + steps) * vocab), r * vocab);
    return last;
  }
}

/** `tensor[parents[r]]` for each row r of a `[rows, …]` float tensor. */
function gatherRows(tensor: ort.Tensor, parents: readonly number[]): ort.Tensor {
  const dims = tensor.dims as number[];
  const data = tensor.data as Float32Array;
  const size = data.length / dims[0]!;
  const out = new Float32Array(parents.length * size);
  parents.forEach((p, r) => out.set(data.subarray(p * size, (p + 1) * size), r * size));
  return new ort.Tensor('float32', out, [parents.length, ...dims.slice(1)]);
}
