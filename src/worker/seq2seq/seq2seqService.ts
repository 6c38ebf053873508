/**
 * Worker-side handling of the summary requests ({@link Seq2SeqWorkerRequest}): keeps loaded seq2seq models,
 * runs generation / long-input summaries / cross-attention, and reports progress and streamed tokens through the
 * callbacks `modelWorker.ts` gives it. Wiring it in is a `case` per request type (see each method).
 */
import { DEFAULT_MODEL_LIMITS, LoadedModels } from '../loadedModels';
import type { LocalModel, WorkerProgress } from '../../protocol/worker';
import { summarizeLong } from '../../core/summarize/longInput';
import type { Seq2SeqWorkerRequest, Seq2SeqWorkerResults, StreamedUpdate, SummaryResult } from '../../protocol/summarize';
import type { GenerationResult } from '../../protocol/summarize';
import type { Checkpoint } from '../encoderModel';
import { Seq2SeqModel, type Seq2SeqGeneration } from './seq2seqModel';

export interface Seq2SeqRequestContext {
  /** Yields to the message loop and throws `CodedError('cancelled')` when the request was cancelled. */
  readonly checkpoint: Checkpoint;
  readonly progress: (progress: WorkerProgress) => void;
  readonly stream: (update: StreamedUpdate) => void;
}

/** Progress messages are sent at most this often for decoder steps (parts always report). */
const STEP_PROGRESS_MS = 250;

export class Seq2SeqService {
  /** `loaded`: the worker's model cache, shared with the encoders (one limit for all loaded models). */
  constructor(private readonly loaded: LoadedModels = new LoadedModels(DEFAULT_MODEL_LIMITS)) {}

  /** The loaded model for `model`, loading it on first use; a failed load fails again at once until its files change. */
  model(model: LocalModel): Promise<Seq2SeqModel> {
    return this.loaded.get(keyOf(model), model.dir, () => Seq2SeqModel.load(model));
  }

  async handle<T extends Seq2SeqWorkerRequest>(request: T, ctx: Seq2SeqRequestContext): Promise<Seq2SeqWorkerResults[T['type']]> {
    type R = Seq2SeqWorkerResults[T['type']];
    const r = request as Seq2SeqWorkerRequest;
    switch (r.type) {
      case 'seq2seqInfo':
        return (await this.model(r.model)).info as R;
      case 'countInputTokens':
        return (await this.model(r.model)).countInputTokens(r.texts, r.prefix !== undefined ? { prefix: r.prefix } : {}) as R;
      case 'generate': {
        const m = await this.model(r.model);
        return withoutHypotheses(await m.generate(r.text, r.options ?? {}, r.stream ? (u) => ctx.stream(u) : undefined, stepCheckpoint(ctx))) as R;
      }
      case 'summarize':
        return (await this.summarize(r, ctx)) as R;
      case 'crossAttention': {
        const m = await this.model(r.model);
        await ctx.checkpoint(0, 1);
        return (await m.crossAttention(r.sourceText, r.ids, {
          ...(r.prefix !== undefined ? { prefix: r.prefix } : {}),
          ...(r.maxInputTokens !== undefined ? { maxInputTokens: r.maxInputTokens } : {}),
        })) as R;
      }
    }
  }

  private async summarize(r: Extract<Seq2SeqWorkerRequest, { type: 'summarize' }>, ctx: Seq2SeqRequestContext): Promise<SummaryResult> {
    const started = performance.now();
    const m = await this.model(r.model);
    const options = r.options ?? {};
    const resolved = m.resolveOptions(options);
    let final: Seq2SeqGeneration | undefined;
    const result = await summarizeLong(r.text, {
      maxInputTokens: resolved.maxInputTokens,
      countTokens: (texts) => m.countInputTokens(texts, { prefix: resolved.prefix }),
      ...(r.maxRounds !== undefined ? { maxRounds: r.maxRounds } : {}),
      onProgress: (p) => ctx.progress({ message: p.message, done: p.done, total: p.total }),
      summarizePart: async (text, _signal, part) => {
        // Progress here is per part (from summarizeLong); decoder steps only check for cancellation.
        const g = await m.generate(text, options, part.final && r.stream ? (u) => ctx.stream({ ...u, part }) : undefined, ctx.checkpoint);
        if (part.final) final = g;
        return g.text;
      },
    });
    if (!final) {
      // Empty input: nothing was generated.
      final = { ids: [resolved.decoderStartTokenId], text: '', stoppedBy: 'eos', inputTokens: 0, untruncatedInputTokens: 0, truncated: false, steps: 0, elapsedMs: 0, options: resolved };
    }
    return {
      text: result.text,
      final: withoutHypotheses(final),
      rounds: result.rounds.map((round) => ({ parts: round.parts.map(({ start, end }) => ({ start, end })), summaries: round.summaries })),
      truncated: result.truncated || final.truncated,
      elapsedMs: performance.now() - started,
    };
  }

  unload(model: LocalModel): Promise<boolean> {
    return this.loaded.unload(keyOf(model));
  }

  dispose(): Promise<boolean> {
    return this.loaded.unloadWhere((key) => key.startsWith(SEQ2SEQ_KEY));
  }
}

const SEQ2SEQ_KEY = 'seq2seq\u0000';

function keyOf(model: LocalModel): string {
  return `${SEQ2SEQ_KEY}${model.dir}\u0000${model.dtype}`;
}

/** Every decoder step checks for cancellation; `Generating` progress is sent at most every {@link STEP_PROGRESS_MS}. */
function stepCheckpoint(ctx: Seq2SeqRequestContext): Checkpoint {
  let last = 0;
  return async (done, total) => {
    await ctx.checkpoint(done, total);
    const now = performance.now();
    if (now - last >= STEP_PROGRESS_MS) {
      last = now;
      ctx.progress({ message: 'Generating', done, total });
    }
  };
}

function withoutHypotheses(g: Seq2SeqGeneration): GenerationResult {
  const { hypotheses: _dropped, ...rest } = g;
  void _dropped;
  return rest;
}
