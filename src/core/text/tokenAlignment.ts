import type { TokenSpan } from '../../protocol/attention';


export interface AlignmentOptions {
  readonly lowercase: boolean;
  readonly stripAccents: boolean;
  /** Token strings that do not come from the text, e.g. '[CLS]', '[SEP]', '[PAD]'. */
  readonly specialTokens: ReadonlySet<string>;
  /** Token the tokenizer emits for a word it cannot spell, e.g. '[UNK]'; it stands for a whole word. */
  readonly unknownToken?: string;
  /** Prefix marking a word-continuation piece, e.g. '##' for WordPiece. */
  readonly continuationPrefix?: string;
}

interface NormalisedChar {
  readonly char: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Maps tokenizer output back to character offsets in `text`, following the tokenizer's normalisation
 * (lowercasing, accent stripping). Tokens that cannot be found get an empty range at the current position
 * rather than a wrong one.
 */
export function alignTokens(text: string, tokens: readonly string[], options: AlignmentOptions): TokenSpan[] {
  const chars = normalise(text, options);
  const prefix = options.continuationPrefix ?? '';
  const spans: TokenSpan[] = [];
  let p = 0;
  const here = (): number => (p < chars.length ? chars[p]!.start : text.length);
  const skipSpace = (): void => {
    while (p < chars.length && /\s/u.test(chars[p]!.char)) p++;
  };

  for (const token of tokens) {
    if (options.specialTokens.has(token) && token !== options.unknownToken) {
      const at = here();
      spans.push({ text: token, start: at, end: at, special: true });
      continue;
    }
    if (token === options.unknownToken) {
      skipSpace();
      const first = p;
      if (p < chars.length && isSingleCharWord(chars[p]!.char)) p++;
      else while (p < chars.length && !/\s/u.test(chars[p]!.char) && !isSingleCharWord(chars[p]!.char)) p++;
      spans.push(span(token, chars, first, p, text.length));
      continue;
    }
    let piece = token;
    const continuation = prefix !== '' && piece.startsWith(prefix) && piece.length > prefix.length;
    if (continuation) piece = piece.slice(prefix.length);
    // SentencePiece / byte-level BPE word-start markers stand for a space.
    piece = piece.replace(/^[\u2581\u0120]/u, '');
    if (!continuation) skipSpace();
    const found = matchAt(chars, p, piece) ? p : search(chars, p, piece);
    if (found < 0) {
      const at = here();
      spans.push({ text: token, start: at, end: at, special: false });
      continue;
    }
    p = found + [...piece].length;
    spans.push(span(token, chars, found, p, text.length));
  }
  return spans;
}

function span(text: string, chars: readonly NormalisedChar[], from: number, to: number, textLength: number): TokenSpan {
  if (to <= from) {
    const at = from < chars.length ? chars[from]!.start : textLength;
    return { text, start: at, end: at, special: false };
  }
  return { text, start: chars[from]!.start, end: chars[to - 1]!.end, special: false };
}

function normalise(text: string, options: AlignmentOptions): NormalisedChar[] {
  const out: NormalisedChar[] = [];
  let i = 0;
  for (const ch of text) {
    const start = i;
    i += ch.length;
    let n = options.lowercase ? ch.toLowerCase() : ch;
    if (options.stripAccents) n = n.normalize('NFD').replace(/\p{Mn}/gu, '');
    const last = out[out.length - 1];
    // A character that normalises to nothing (a combining accent) belongs to the character before it.
    if (n === '' && last) out[out.length - 1] = { ...last, end: i };
    for (const c of n) out.push({ char: c, start, end: i });
  }
  return out;
}

function matchAt(chars: readonly NormalisedChar[], at: number, piece: string): boolean {
  let k = at;
  for (const c of piece) {
    if (k >= chars.length || chars[k]!.char !== c) return false;
    k++;
  }
  return piece.length > 0;
}

/** Looks a little ahead for a piece the tokenizer normalised differently than we did (e.g. dropped control chars). */
function search(chars: readonly NormalisedChar[], from: number, piece: string): number {
  const limit = Math.min(chars.length, from + 32);
  for (let k = from + 1; k < limit; k++) if (matchAt(chars, k, piece)) return k;
  return -1;
}

/** Characters BERT's pre-tokenizer always splits off as words of their own: punctuation and CJK ideographs. */
function isSingleCharWord(ch: string): boolean {
  return isPunctuation(ch) || /[\p{Script=Han}\u3040-\u30ff\uac00-\ud7af]/u.test(ch);
}

/** BERT's punctuation rule: ASCII symbol ranges plus Unicode punctuation. */
export function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}
