import type { AttentionMaps } from '../protocol/attention';
import type { Embeddings, ModelInfo } from '../protocol/worker';
import { CodedError } from './errors';

/** Called between batches: reports progress and throws to abandon the work (cancellation). */
export type Checkpoint = (done: number, total: number) => Promise<void>;

/** What every encoder backend in the worker offers (BERT on onnxruntime, the bundled encoder, …). */
export interface EncoderModel {
  readonly info: ModelInfo;
  /** L2-normalised sentence vectors for `texts`, in order. */
  embed(texts: readonly string[], checkpoint: Checkpoint): Promise<Embeddings>;
  /** Tokens of `text` as model input, special tokens included, before any cut to the model's limit. */
  tokenCount(text: string): number;
  /**
   * Attention probabilities of every layer and head, tokens mapped to offsets in `text`; a text longer than the
   * model's limit is read through a window of text tokens starting at `windowStart`.
   */
  attentionMaps(text: string, windowStart?: number): Promise<AttentionMaps>;
  dispose(): Promise<void>;
}

/** The part of an onnxruntime output tensor that attention collection reads. */
interface OutputTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose(): void;
}

/**
 * Copies one attention output per layer (each `[1, heads, n, n]`, in `names` order) into the flat
 * `[layer][head][query][key]` layout of {@link AttentionMaps}, checking every shape, and frees the tensors.
 */
export function collectAttention(out: Readonly<Record<string, OutputTensor>>, names: readonly string[], heads: number, n: number): Float32Array {
  const weights = new Float32Array(names.length * heads * n * n);
  names.forEach((name, layer) => {
    const tensor = out[name];
    const dims = tensor?.dims ?? [];
    if (!tensor || dims.length !== 4 || dims[0] !== 1 || dims[1] !== heads || dims[2] !== n || dims[3] !== n) {
      throw new CodedError('attentionUnavailable', `Attention output ${name} has shape [${dims.join(', ')}], expected [1, ${heads}, ${n}, ${n}]`);
    }
    weights.set(tensor.data as Float32Array, layer * heads * n * n);
    tensor.dispose();
  });
  return weights;
}
