import type { AttentionMaps } from '../protocol/attention';
import type { Embeddings, ModelInfo } from '../protocol/worker';

/** Called between batches: reports progress and throws to abandon the work (cancellation). */
export type Checkpoint = (done: number, total: number) => Promise<void>;

/** What every encoder backend in the worker offers (BERT on onnxruntime, the bundled encoder, …). */
export interface EncoderModel {
  readonly info: ModelInfo;
  /** L2-normalised sentence vectors for `texts`, in order. */
  embed(texts: readonly string[], checkpoint: Checkpoint): Promise<Embeddings>;
  /**
   * Attention probabilities of every layer and head, tokens mapped to offsets in `text`; a text longer than the
   * model's limit is read through a window of text tokens starting at `windowStart`.
   */
  attentionMaps(text: string, windowStart?: number): Promise<AttentionMaps>;
  dispose(): Promise<void>;
}
