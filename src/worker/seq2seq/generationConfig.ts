import type { GenerationOptions, ResolvedGenerationOptions } from '../../protocol/summarize';

/** Built-in fallbacks when neither the request nor the model says. */
export const DEFAULT_MAX_NEW_TOKENS = 128;

type Json = Record<string, unknown>;

export interface ModelGenerationFacts {
  /** config.json */
  readonly config: Json;
  /** generation_config.json, or {} when the folder has none. */
  readonly generationConfig: Json;
  /** Longest input the model takes, special tokens included. */
  readonly maxInputTokens: number;
  /** Longest decoder sequence (learned positions), start token included; undefined when unbounded. */
  readonly maxDecoderTokens: number | undefined;
  readonly padTokenId: number | undefined;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const ids = (v: unknown): number[] | undefined =>
  typeof v === 'number' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;

/**
 * Applies defaults the way HF `generate()` does for a summarisation pipeline: the request's options, then
 * `config.task_specific_params.summarization`, then `generation_config.json`, then `config.json`'s own generation
 * keys, then built-in defaults. `max_length`/`min_length` (which count the decoder start token) become
 * `maxNewTokens`/`minNewTokens`.
 */
export function resolveGenerationOptions(facts: ModelGenerationFacts, options: GenerationOptions = {}): ResolvedGenerationOptions {
  const { config, generationConfig } = facts;
  const taskParams = (config.task_specific_params as Json | undefined)?.summarization as Json | undefined;
  const sources: Json[] = [taskParams ?? {}, generationConfig, config];
  const pick = (key: string): unknown => {
    for (const s of sources) if (s[key] !== undefined && s[key] !== null) return s[key];
    return undefined;
  };
  const pickNumber = (key: string): number | undefined => num(pick(key));
  // Token ids come from the generation config first (HF), never from task parameters.
  const tokenId = (key: string): number | undefined => num(generationConfig[key]) ?? num(config[key]);

  const maxLength = pickNumber('max_length');
  let maxNewTokens = options.maxNewTokens ?? pickNumber('max_new_tokens') ?? (maxLength !== undefined ? maxLength - 1 : DEFAULT_MAX_NEW_TOKENS);
  if (facts.maxDecoderTokens !== undefined) maxNewTokens = Math.min(maxNewTokens, facts.maxDecoderTokens - 1);
  maxNewTokens = Math.max(1, Math.floor(maxNewTokens));
  const minLength = pickNumber('min_length');
  const minNewTokens = Math.max(0, Math.min(maxNewTokens, Math.floor(options.minNewTokens ?? pickNumber('min_new_tokens') ?? (minLength !== undefined ? minLength - 1 : 0))));

  const early = options.earlyStopping ?? pick('early_stopping');
  const eosTokenIds = ids(generationConfig.eos_token_id) ?? ids(config.eos_token_id) ?? [];
  const decoderStartTokenId = tokenId('decoder_start_token_id') ?? facts.padTokenId ?? tokenId('bos_token_id');
  if (decoderStartTokenId === undefined) throw new Error('the model declares no decoder_start_token_id (config.json / generation_config.json)');
  if (eosTokenIds.length === 0) throw new Error('the model declares no eos_token_id (config.json / generation_config.json)');
  const numBeams = Math.max(1, Math.floor(options.numBeams ?? pickNumber('num_beams') ?? 1));
  const prefix = options.prefix ?? (typeof taskParams?.prefix === 'string' ? taskParams.prefix : '');
  return {
    maxNewTokens,
    minNewTokens,
    numBeams,
    lengthPenalty: options.lengthPenalty ?? pickNumber('length_penalty') ?? 1,
    earlyStopping: early === true || early === 'never' ? early : false,
    noRepeatNgramSize: Math.max(0, Math.floor(options.noRepeatNgramSize ?? pickNumber('no_repeat_ngram_size') ?? 0)),
    repetitionPenalty: options.repetitionPenalty ?? pickNumber('repetition_penalty') ?? 1,
    prefix,
    maxInputTokens: Math.max(2, Math.min(facts.maxInputTokens, Math.floor(options.maxInputTokens ?? facts.maxInputTokens))),
    useCache: options.useCache ?? true,
    decoderStartTokenId,
    eosTokenIds,
    forcedBosTokenId: tokenId('forced_bos_token_id'),
    forcedEosTokenId: tokenId('forced_eos_token_id'),
  };
}
