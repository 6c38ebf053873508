import type { PreTrainedTokenizer } from '@huggingface/transformers';

/** The parsed tokenizer.json behind a transformers.js tokenizer (normalizer, pre-tokenizer, model, decoder). */
export function tokenizerJson(tokenizer: PreTrainedTokenizer): Record<string, unknown> {
  return (tokenizer as unknown as { _tokenizerJSON?: Record<string, unknown> })._tokenizerJSON ?? {};
}

/**
 * The ids a tokenizer puts before and after a text ([CLS] … [SEP] for BERT, `<s>` … `</s>` for BART, … `</s>` for
 * T5), found by comparing the encodings of a probe with and without special tokens.
 */
export function specialAffixes(tokenizer: PreTrainedTokenizer): { prefix: number[]; suffix: number[] } {
  const probe = 'hello';
  const bare = tokenizer.encode(probe, { add_special_tokens: false });
  const full = tokenizer.encode(probe, { add_special_tokens: true });
  for (let at = 0; at + bare.length <= full.length; at++) {
    if (bare.every((id, k) => full[at + k] === id)) return { prefix: full.slice(0, at), suffix: full.slice(at + bare.length) };
  }
  return { prefix: [], suffix: [] };
}
