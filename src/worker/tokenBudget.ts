import type { Embeddings } from '../protocol/worker';
import type { Checkpoint } from './encoderModel';

/**
 * How an embed request is cut into onnxruntime runs. Texts are tokenised a window at a time, sorted by token count
 * inside the window, and grouped so that a run's padded size (rows × longest row) stays within `budget` tokens; a
 * text longer than half the budget runs alone. Measured on 2 loaded cores with the indexer's calls of 32 texts
 * (out/bench/throughput.js): batches of 16 by count padded TypeScript's lib.*.d.ts passages by +46–57% (MiniLM-size
 * BERT) and +18% (bundled encoder); a budget of 512 tokens (BERT) or 256 (bundled encoder, 128-token limit) pads
 * them by 2–3%. Larger budgets pad more (+6–13% at 1024–2048) and were no faster within the noise, with more memory:
 * on two cores, attention grows with the square of the padded length and batching long rows buys little.
 */
export interface TokenBudget {
  /** Most padded tokens (rows × columns) in one run. */
  readonly budget: number;
  /** Most rows in one run, whatever their length. */
  readonly maxRows: number;
  /** Texts tokenised and sorted together; larger windows pad less, smaller ones answer a cancel sooner. */
  readonly window: number;
}

export const DEFAULT_TOKEN_BUDGET: TokenBudget = { budget: 512, maxRows: 32, window: 256 };

/** What BERT Lens did before: batches of 16 texts, whatever their lengths, inside each request sorted by length. */
const COUNT_BATCHES: TokenBudget = { budget: Infinity, maxRows: 16, window: Infinity };

/** False in the production build (esbuild `define`). */
declare const BERT_LENS_TEST_HOOKS: boolean;

/**
 * The batching embed requests use: `preferred`, except that development builds read `BERT_LENS_EMBED_BATCHES`
 * (`count`, or `budget:window:maxRows`) so the throughput benchmark can compare ways of batching in one run.
 */
export function embedBatching(preferred: TokenBudget = DEFAULT_TOKEN_BUDGET): TokenBudget {
  const setting = BERT_LENS_TEST_HOOKS ? process.env.BERT_LENS_EMBED_BATCHES : undefined;
  if (!setting) return preferred;
  if (setting === 'count') return COUNT_BATCHES;
  const [budget, window, maxRows] = setting.split(':').map(Number);
  return { budget: budget || preferred.budget, window: window || preferred.window, maxRows: maxRows || preferred.maxRows };
}

/** Scales `vector` to unit length in place (a zero vector stays zero). */
export function normalise(vector: Float32Array): void {
  let norm = 0;
  for (const x of vector) norm += x * x;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let d = 0; d < vector.length; d++) vector[d]! *= scale;
}

/**
 * Indices of `lengths` in runs: sorted by length (stable), each run's rows × longest length ≤ `budget` and at most
 * `maxRows` rows, every index exactly once.
 *
 * @example
 *   budgetBatches([5, 100, 6, 7], { budget: 200, maxRows: 32 })   // → [[0, 2, 3], [1]]
 */
export function budgetBatches(lengths: readonly number[], { budget, maxRows }: Pick<TokenBudget, 'budget' | 'maxRows'>): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  let batch: number[] = [];
  for (const i of order) {
    // Sorted ascending, so the newcomer is the longest row: it sets the padded width.
    const width = Math.max(1, lengths[i]!);
    if (batch.length > 0 && (batch.length >= maxRows || (batch.length + 1) * width > budget)) {
      batches.push(batch);
      batch = [];
    }
    batch.push(i);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Tokens that go through the model for texts of `lengths` cut as {@link embedInBudget} cuts them (padding included). */
export function paddedTokens(lengths: readonly number[], options: TokenBudget = DEFAULT_TOKEN_BUDGET): number {
  let padded = 0;
  for (let start = 0; start < lengths.length; start += Math.max(1, options.window)) {
    const window = lengths.slice(start, start + Math.max(1, options.window));
    for (const batch of budgetBatches(window, options)) padded += batch.length * Math.max(1, ...batch.map((i) => window[i]!));
  }
  return padded;
}

/**
 * Vectors for `texts`, in order, from runs cut by {@link budgetBatches}. `runRows` gets the token-id rows of one run
 * and answers `rows × dims` values; the next window is tokenised while a run is in flight (onnxruntime runs off the
 * JavaScript thread). `checkpoint` runs before every run, so a cancel takes effect within one run.
 */
export async function embedInBudget(
  texts: readonly string[],
  dims: number,
  encode: (text: string) => readonly number[],
  runRows: (rows: readonly (readonly number[])[]) => Promise<Float32Array>,
  checkpoint: Checkpoint,
  options: TokenBudget = DEFAULT_TOKEN_BUDGET,
): Promise<Embeddings> {
  const vectors = new Float32Array(texts.length * dims);
  const window = Math.max(1, options.window);
  const tokenise = (start: number): (readonly number[])[] => texts.slice(start, start + window).map(encode);
  let done = 0;
  let next: (readonly number[])[] | undefined = texts.length > 0 ? tokenise(0) : undefined;
  for (let start = 0; start < texts.length; start += window) {
    const encoded = next!;
    next = undefined;
    const batches = budgetBatches(encoded.map((ids) => ids.length), options);
    for (const [b, batch] of batches.entries()) {
      await checkpoint(done, texts.length);
      const rows = batch.map((i) => encoded[i]!);
      const running = runRows(rows);
      if (b === batches.length - 1 && start + window < texts.length) next = tokenise(start + window);
      const out = await running;
      batch.forEach((i, r) => vectors.set(out.subarray(r * dims, (r + 1) * dims), (start + i) * dims));
      done += batch.length;
    }
  }
  await checkpoint(texts.length, texts.length);
  return { dims, count: texts.length, vectors };
}
