/** The model worker's memory bounds, set by the host (settings `bertLens.models.*`) through its environment. */

/** How many models stay loaded, and for how long unused ones are kept. */
export interface ModelLimits {
  /** Most models loaded at once (encoders and seq2seq models together); at least 1. */
  readonly maxLoaded: number;
  /** A model unused for this long is unloaded; 0 keeps models until the limit pushes them out. */
  readonly idleMs: number;
}

export const DEFAULT_MODEL_LIMITS: ModelLimits = { maxLoaded: 3, idleMs: 10 * 60_000 };

/** The limits the host passed in the worker's environment (`BERT_LENS_MAX_LOADED_MODELS`, `BERT_LENS_MODEL_IDLE_MS`). */
export function modelLimitsFrom(env: Readonly<Record<string, string | undefined>>): ModelLimits {
  const max = Number(env.BERT_LENS_MAX_LOADED_MODELS);
  const idle = Number(env.BERT_LENS_MODEL_IDLE_MS);
  return {
    maxLoaded: Number.isInteger(max) && max >= 1 ? Math.min(max, 64) : DEFAULT_MODEL_LIMITS.maxLoaded,
    idleMs: Number.isFinite(idle) && idle >= 0 ? idle : DEFAULT_MODEL_LIMITS.idleMs,
  };
}

/** The host-side settings as the worker's environment. */
export function modelLimitsEnv(limits: ModelLimits): Record<string, string> {
  return { BERT_LENS_MAX_LOADED_MODELS: String(limits.maxLoaded), BERT_LENS_MODEL_IDLE_MS: String(limits.idleMs) };
}
