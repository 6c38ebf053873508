/** A token with the half-open UTF-16 character range `[start, end)` it came from in the source text. */
export interface TokenSpan {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** True for tokens the tokenizer added ([CLS], [SEP], …); their range is empty. */
  readonly special: boolean;
}

/**
 * Attention probabilities of one input, for every layer and head.
 *
 * `weights` is float32, laid out `[layer][head][query][key]`: the weight that query token q gives key token k in
 * head h of layer l is `weights[((l * heads + h) * n + q) * n + k]` with `n = tokens.length`. Every row sums to 1.
 */
export interface AttentionMaps {
  /** The model reference that produced the maps. */
  readonly model: string;
  readonly tokens: readonly TokenSpan[];
  readonly layers: number;
  readonly heads: number;
  readonly weights: Float32Array;
  /** True when the input had more tokens than the model accepts and the end was cut off. */
  readonly truncated: boolean;
  /** The model's token limit, special tokens included. */
  readonly maxTokens: number;
  /** Tokens the whole input would have had, special tokens included. */
  readonly inputTokens: number;
  /**
   * Which text tokens (special tokens not counted) these maps cover: `start` is the index of the first shown text
   * token among all `textTokens` of the input. Long inputs are read through a window of the model's length.
   */
  readonly window: { readonly start: number; readonly textTokens: number };
  /**
   * How much of the input was read, in UTF-16 characters: the first `chars` of `totalChars`. Very long inputs are
   * cut (at a whitespace boundary) before tokenising, so windows move only inside the part read.
   */
  readonly read: { readonly chars: number; readonly totalChars: number };
}

/** Index of `weights[layer][head][query][key]` in the flat array of {@link AttentionMaps}. */
export function attentionIndex(maps: Pick<AttentionMaps, 'heads' | 'tokens'>, layer: number, head: number, query: number, key: number): number {
  const n = maps.tokens.length;
  return ((layer * maps.heads + head) * n + query) * n + key;
}

/** The nested `attentions[layer][head][query][key]` form used by the CLI's JSON output. */
export function nestedAttentions(maps: AttentionMaps): number[][][][] {
  const n = maps.tokens.length;
  const out: number[][][][] = [];
  for (let l = 0; l < maps.layers; l++) {
    const layer: number[][][] = [];
    for (let h = 0; h < maps.heads; h++) {
      const head: number[][] = [];
      for (let q = 0; q < n; q++) {
        const start = attentionIndex(maps, l, h, q, 0);
        head.push(Array.from(maps.weights.subarray(start, start + n)));
      }
      layer.push(head);
    }
    out.push(layer);
  }
  return out;
}

/**
 * Attention prepared for the Attention view: the maps of one layer, and summaries of all layers, in compact
 * forms (16-bit weights: value / 65535; 8-bit thumbnails: value / 255). `id` names the full maps the worker keeps
 * for a while, so other layers can be fetched without running the model again.
 */
export interface AttentionViewData extends Omit<AttentionMaps, 'weights'> {
  readonly id: number;
  /** The layer whose maps `layerWeights` holds. */
  readonly layer: number;
  /** `[head][query][key]` of `layer`, 16-bit. */
  readonly layerWeights: Uint16Array;
  /** `[layer][query][key]`: mean over heads of every layer, 16-bit. */
  readonly layerMeans: Uint16Array;
  /** Edge of each thumbnail in pixels. */
  readonly thumbnailSize: number;
  /** `[layer][head][y][x]`: each pixel the largest weight of the cells it covers, 8-bit. */
  readonly thumbnails: Uint8Array;
}

/** Largest 16-bit value: weights in [0, 1] travel as `round(weight * QUANT_MAX)`. */
export const QUANT_MAX = 65535;

/** Quantises weights in [0, 1] to 16 bits (an error of at most 1 / 131070 ≈ 7.6e-6). */
export function quantize(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[i]!)) * QUANT_MAX);
  return out;
}

/** Undoes {@link quantize}. */
export function dequantize(values: Uint16Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! / QUANT_MAX;
  return out;
}

/** A length of text in human units: characters below 1 KiB, then KiB and MiB (1 character counted as a byte). */
export function humanSize(chars: number): string {
  if (chars < 1024) return `${chars} characters`;
  if (chars < 2 ** 20) {
    const kib = chars / 1024;
    return `${kib < 10 ? kib.toFixed(1) : Math.round(kib)} KiB`;
  }
  return `${(chars / 2 ** 20).toFixed(1)} MiB`;
}

/** What part of the input was read, for people: "first 64 KiB of 5.0 MiB", or undefined when all of it was. */
export function describeReadPart(read: AttentionMaps['read']): string | undefined {
  if (read.chars >= read.totalChars) return undefined;
  return `first ${humanSize(read.chars)} of ${humanSize(read.totalChars)}`;
}
