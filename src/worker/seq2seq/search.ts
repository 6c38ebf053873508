/**
 * Greedy and beam search over any decoder that returns next-token logits, with HF transformers' semantics
 * (greedy: `_greedy_search`; beam: `BeamSearchScorer` / `BeamHypotheses`, v4.35+). No onnxruntime here: the
 * decoder is the {@link DecoderStepper} interface, so the bookkeeping is testable on its own.
 */
import type { ResolvedGenerationOptions, StopReason } from '../../protocol/summarize';

/**
 * Runs the decoder one step for `rows` sequences at once. The first call starts `tokens.length` rows that each
 * hold only `tokens[r]` (the decoder start token); later calls extend row `parents[r]` of the previous call by
 * `tokens[r]` (beam search reorders rows; `parents` null means row r continues row r).
 */
export interface DecoderStepper {
  readonly vocabSize: number;
  /** Next-token logits of each row, row-major `[rows][vocabSize]`. */
  next(tokens: readonly number[], parents: readonly number[] | null): Promise<Float32Array>;
}

export interface SearchHooks {
  /**
   * After each step with the sequence to show (decoder start token first). Greedy: the sequence so far. Beam:
   * the best running beam.
   */
  onStep?(ids: readonly number[], step: number): void;
  /** Runs between decoder steps; throws to abandon the search (cancellation). */
  checkpoint?(step: number, maxSteps: number): Promise<void>;
}

export interface BeamHypothesis {
  /** Decoder start token first; ends with eos when the hypothesis finished with one. */
  readonly ids: readonly number[];
  /** `sumLogprobs / generatedLength ** lengthPenalty`. */
  readonly score: number;
  readonly sumLogprobs: number;
  /** Generated tokens counted for the length penalty (eos included, start token not). */
  readonly generatedLength: number;
  readonly finished: StopReason;
}

export interface SearchResult {
  readonly ids: readonly number[];
  readonly stoppedBy: StopReason;
  readonly steps: number;
  /** Beam search: the normalised score of the chosen hypothesis. */
  readonly score?: number;
  /** Beam search: every kept hypothesis, best first. */
  readonly hypotheses?: readonly BeamHypothesis[];
}

type SearchOptions = Pick<
  ResolvedGenerationOptions,
  | 'maxNewTokens'
  | 'minNewTokens'
  | 'numBeams'
  | 'lengthPenalty'
  | 'earlyStopping'
  | 'noRepeatNgramSize'
  | 'repetitionPenalty'
  | 'decoderStartTokenId'
  | 'eosTokenIds'
  | 'forcedBosTokenId'
  | 'forcedEosTokenId'
>;

/**
 * HF's logits processors, in HF's order, applied in place to one row of scores for the sequence `ids`
 * (decoder start token first): repetition penalty, no-repeat n-gram, minimum length, forced BOS, forced EOS.
 */
export function processScores(scores: Float32Array | Float64Array, ids: readonly number[], o: SearchOptions): void {
  const curLen = ids.length;
  const maxLength = 1 + o.maxNewTokens;
  if (o.repetitionPenalty !== 1) {
    for (const id of new Set(ids)) {
      const s = scores[id]!;
      scores[id] = s < 0 ? s * o.repetitionPenalty : s / o.repetitionPenalty;
    }
  }
  if (o.noRepeatNgramSize > 0) {
    for (const id of bannedNgramTokens(ids, o.noRepeatNgramSize)) scores[id] = -Infinity;
  }
  if (curLen - 1 < o.minNewTokens) for (const eos of o.eosTokenIds) scores[eos] = -Infinity;
  if (o.forcedBosTokenId !== undefined && curLen === 1) forceToken(scores, o.forcedBosTokenId);
  if (o.forcedEosTokenId !== undefined && curLen === maxLength - 1) forceToken(scores, o.forcedEosTokenId);
}

function forceToken(scores: Float32Array | Float64Array, id: number): void {
  scores.fill(-Infinity);
  scores[id] = 0;
}

/** Tokens that would complete an n-gram of size `n` already present in `ids` (HF NoRepeatNGramLogitsProcessor). */
export function bannedNgramTokens(ids: readonly number[], n: number): number[] {
  if (ids.length + 1 < n) return [];
  if (n === 1) return [...new Set(ids)];
  const start = ids.length - (n - 1);
  const banned: number[] = [];
  for (let i = 0; i + n <= ids.length; i++) {
    let same = true;
    for (let k = 0; k < n - 1 && same; k++) same = ids[i + k] === ids[start + k];
    if (same) banned.push(ids[i + n - 1]!);
  }
  return banned;
}

/** Greedy search: argmax (first index on ties) of the processed raw logits each step. */
export async function greedySearch(decoder: DecoderStepper, o: SearchOptions, hooks: SearchHooks = {}): Promise<SearchResult> {
  const maxLength = 1 + o.maxNewTokens;
  const eos = new Set(o.eosTokenIds);
  const ids = [o.decoderStartTokenId];
  const vocab = decoder.vocabSize;
  let logits = await decoder.next([o.decoderStartTokenId], null);
  for (;;) {
    const scores = logits.subarray(0, vocab);
    processScores(scores, ids, o);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (scores[v]! > scores[best]!) best = v;
    ids.push(best);
    const steps = ids.length - 1;
    hooks.onStep?.(ids, steps);
    // Like HF: a (forced) eos in the last allowed position still counts as reaching the length limit.
    if (ids.length >= maxLength) return { ids, stoppedBy: 'maxLength', steps };
    if (eos.has(best)) return { ids, stoppedBy: 'eos', steps };
    await hooks.checkpoint?.(steps, o.maxNewTokens);
    logits = await decoder.next([best], null);
  }
}

/** HF BeamHypotheses: the `numBeams` best finished hypotheses by normalised score. */
class Hypotheses {
  readonly items: BeamHypothesis[] = [];
  worstScore = 1e9;

  constructor(
    private readonly numBeams: number,
    private readonly lengthPenalty: number,
    private readonly earlyStopping: boolean | 'never',
    private readonly maxLength: number,
  ) {}

  add(ids: readonly number[], sumLogprobs: number, generatedLength: number, finished: StopReason): void {
    const score = sumLogprobs / generatedLength ** this.lengthPenalty;
    if (this.items.length < this.numBeams || score > this.worstScore) {
      this.items.push({ ids, score, sumLogprobs, generatedLength, finished });
      if (this.items.length > this.numBeams) {
        const sorted = this.items.map((h, i) => [h.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.items.splice(sorted[0]![1], 1);
        this.worstScore = sorted[1]![0];
      } else this.worstScore = Math.min(score, this.worstScore);
    }
  }

  isDone(bestSumLogprobs: number, curLen: number): boolean {
    if (this.items.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    const length = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxLength - 1 : curLen - 1;
    return this.worstScore >= bestSumLogprobs / length ** this.lengthPenalty;
  }
}

/**
 * Beam search with HF's BeamSearchScorer (batch 1, one returned sequence, early stopping as configured):
 * log-softmax of each beam's logits, the processors, plus the beam score; the 2·beams best candidates; end-of-
 * sequence candidates ranked below `numBeams` become finished hypotheses; the rest continue. Scores are kept in
 * float32 like PyTorch's.
 */
export async function beamSearch(decoder: DecoderStepper, o: SearchOptions, hooks: SearchHooks = {}): Promise<SearchResult> {
  const beams = o.numBeams;
  const vocab = decoder.vocabSize;
  const maxLength = 1 + o.maxNewTokens;
  const eos = new Set(o.eosTokenIds);
  const hyps = new Hypotheses(beams, o.lengthPenalty, o.earlyStopping, maxLength);
  let sequences: number[][] = Array.from({ length: beams }, () => [o.decoderStartTokenId]);
  let beamScores = new Float32Array(beams).fill(-1e9);
  beamScores[0] = 0;
  const k = 2 * beams;
  const row = new Float64Array(vocab);
  let done = false;
  let steps = 0;
  let logits = await decoder.next(sequences.map((s) => s[0]!), null);

  for (;;) {
    const curLen = sequences[0]!.length;
    // Top 2·beams of (log_softmax + processors + beam score) over beams × vocab; ties keep the lower index.
    const topScores = new Float64Array(k).fill(-Infinity);
    const topIndex = new Int32Array(k).fill(-1);
    let filled = 0;
    for (let b = 0; b < beams; b++) {
      logSoftmax(logits.subarray(b * vocab, (b + 1) * vocab), row);
      processScores(row, sequences[b]!, o);
      const base = beamScores[b]!;
      for (let v = 0; v < vocab; v++) {
        const s = Math.fround(Math.fround(row[v]!) + base);
        if (filled === k && !(s > topScores[k - 1]!)) continue;
        let at = filled === k ? k - 1 : filled++;
        while (at > 0 && s > topScores[at - 1]!) {
          topScores[at] = topScores[at - 1]!;
          topIndex[at] = topIndex[at - 1]!;
          at--;
        }
        topScores[at] = s;
        topIndex[at] = b * vocab + v;
      }
    }

    const nextTokens: number[] = [];
    const parents: number[] = [];
    const nextScores = new Float32Array(beams);
    for (let rank = 0; rank < filled && nextTokens.length < beams; rank++) {
      const beam = Math.floor(topIndex[rank]! / vocab);
      const token = topIndex[rank]! % vocab;
      if (eos.has(token)) {
        if (rank >= beams) continue;
        hyps.add([...sequences[beam]!, token], topScores[rank]!, curLen, 'eos');
      } else {
        nextScores[nextTokens.length] = topScores[rank]!;
        nextTokens.push(token);
        parents.push(beam);
      }
    }
    if (nextTokens.length < beams) throw new Error(`beam search found only ${nextTokens.length} continuations for ${beams} beams`);
    done = done || hyps.isDone(topScores[0]!, curLen + 1);
    beamScores = nextScores;
    sequences = parents.map((p, r) => [...sequences[p]!, nextTokens[r]!]);
    steps++;
    hooks.onStep?.(sequences[0]!, steps);
    if (done || sequences[0]!.length >= maxLength) break;
    await hooks.checkpoint?.(steps, o.maxNewTokens);
    logits = await decoder.next(nextTokens, parents);
  }

  if (!done) {
    for (let b = 0; b < beams; b++) hyps.add(sequences[b]!, beamScores[b]!, sequences[b]!.length - 1, 'maxLength');
  }
  const ranked = [...hyps.items].sort((a, b) => b.score - a.score);
  const best = ranked[0]!;
  return { ids: best.ids, stoppedBy: best.finished, steps, score: best.score, hypotheses: ranked };
}

/** log_softmax of float32 logits into `out` (float64). */
function logSoftmax(logits: Float32Array, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
}
