/**
 * Character ranges of seq2seq tokenizer pieces in the text they came from, for the two families T5/BART-style
 * models use: SentencePiece pieces (`▁word`, text normalised with NFKC) and GPT-2 byte-level BPE pieces
 * (`Ġword`, every byte of the text appears in exactly one piece). Pure: no tokenizer library needed.
 */
import type { TokenSpan } from '../../protocol/attention';

export type PieceEncoding = 'byteLevel' | 'sentencePiece';

export interface SpanOptions {
  readonly encoding: PieceEncoding;
  /** Pieces that do not come from the text (`</s>`, `<s>`, `<pad>`): empty range, `special: true`. */
  readonly specialTokens: ReadonlySet<string>;
  /** The unknown piece (`<unk>`): it stands for characters the vocabulary lacks. */
  readonly unknownToken?: string;
}

/** How far ahead (in characters or bytes) a piece that does not match at the cursor is looked for. */
const LOOKAHEAD = 64;

/**
 * Maps `pieces` (in order, special ones included) to half-open UTF-16 ranges `[start, end)` in `text`. Leading and
 * trailing whitespace is left out of a range; a piece that cannot be found gets an empty range at the cursor
 * rather than a wrong one.
 */
export function pieceSpans(text: string, pieces: readonly string[], options: SpanOptions): TokenSpan[] {
  return options.encoding === 'byteLevel' ? byteLevelSpans(text, pieces, options) : sentencePieceSpans(text, pieces, options);
}

// ---- byte-level BPE ------------------------------------------------------------------------------------------

let byteDecoder: Map<string, number> | undefined;

/** The inverse of GPT-2's bytes_to_unicode: printable stand-in character → byte. */
function gpt2ByteDecoder(): Map<string, number> {
  if (byteDecoder) return byteDecoder;
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Map<string, number>();
  const set = new Set(printable);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (set.has(b)) map.set(String.fromCharCode(b), b);
    else map.set(String.fromCharCode(256 + n++), b);
  }
  byteDecoder = map;
  return map;
}

function pieceBytes(piece: string): Uint8Array {
  const decoder = gpt2ByteDecoder();
  const bytes: number[] = [];
  for (const ch of piece) {
    const b = decoder.get(ch);
    if (b === undefined) return new TextEncoder().encode(piece);
    bytes.push(b);
  }
  return Uint8Array.from(bytes);
}

function byteLevelSpans(text: string, pieces: readonly string[], options: SpanOptions): TokenSpan[] {
  const encoder = new TextEncoder();
  const source = encoder.encode(text);
  // UTF-16 offset of the character each byte belongs to, and of the character after it.
  const charStart = new Int32Array(source.length + 1);
  const charEnd = new Int32Array(source.length + 1);
  let b = 0;
  let u = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const width = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < width; k++) {
      charStart[b + k] = u;
      charEnd[b + k] = u + ch.length;
    }
    b += width;
    u += ch.length;
  }
  charStart[source.length] = text.length;
  charEnd[source.length] = text.length;

  const spans: TokenSpan[] = [];
  let p = 0;
  for (const piece of pieces) {
    if (options.specialTokens.has(piece) || piece === options.unknownToken) {
      const at = charStart[p]!;
      spans.push({ text: piece, start: at, end: at, special: options.specialTokens.has(piece) });
      continue;
    }
    const bytes = pieceBytes(piece);
    let found = -1;
    for (let at = p; at <= Math.min(source.length - bytes.length, p + LOOKAHEAD); at++) {
      if (bytesAt(source, at, bytes)) {
        found = at;
        break;
      }
    }
    if (found < 0 || bytes.length === 0) {
      const at = charStart[p]!;
      spans.push({ text: piece, start: at, end: at, special: false });
      continue;
    }
    p = found + bytes.length;
    spans.push(trimmed(text, piece, charStart[found]!, charEnd[p - 1]!));
  }
  return spans;
}

function bytesAt(source: Uint8Array, at: number, bytes: Uint8Array): boolean {
  for (let k = 0; k < bytes.length; k++) if (source[at + k] !== bytes[k]) return false;
  return true;
}

// ---- SentencePiece -------------------------------------------------------------------------------------------

interface NormalisedChar {
  readonly char: string;
  readonly start: number;
  readonly end: number;
}

function sentencePieceSpans(text: string, pieces: readonly string[], options: SpanOptions): TokenSpan[] {
  const chars: NormalisedChar[] = [];
  let i = 0;
  for (const ch of text) {
    const start = i;
    i += ch.length;
    const n = ch.normalize('NFKC');
    if (n === '' && chars.length > 0) chars[chars.length - 1] = { ...chars[chars.length - 1]!, end: i };
    for (const c of n) chars.push({ char: /\s/u.test(c) ? ' ' : c, start, end: i });
  }
  const here = (p: number): number => (p < chars.length ? chars[p]!.start : text.length);
  const spans: TokenSpan[] = [];
  let p = 0;
  for (const piece of pieces) {
    if (options.specialTokens.has(piece)) {
      const at = here(p);
      spans.push({ text: piece, start: at, end: at, special: true });
      continue;
    }
    if (piece === options.unknownToken) {
      while (p < chars.length && chars[p]!.char === ' ') p++;
      const from = p;
      if (p < chars.length) p++;
      spans.push(from < p ? trimmed(text, piece, chars[from]!.start, chars[p - 1]!.end) : { text: piece, start: here(from), end: here(from), special: false });
      continue;
    }
    const surface = piece.replace(/\u2581/gu, ' ');
    const body = surface.trimStart();
    if (body === '') {
      // A bare word-start piece stands for the whitespace before the next word.
      const from = p;
      while (p < chars.length && chars[p]!.char === ' ') p++;
      const at = here(from);
      spans.push(from < p ? { text: piece, start: at, end: chars[p - 1]!.end, special: false } : { text: piece, start: at, end: at, special: false });
      continue;
    }
    if (surface !== body) while (p < chars.length && chars[p]!.char === ' ') p++;
    let found = -1;
    let end = -1;
    for (let at = p; at < Math.min(chars.length, p + LOOKAHEAD); at++) {
      end = matchLoose(chars, at, body);
      if (end >= 0) {
        found = at;
        break;
      }
    }
    if (found < 0) {
      const at = here(p);
      spans.push({ text: piece, start: at, end: at, special: false });
      continue;
    }
    p = end;
    spans.push(trimmed(text, piece, chars[found]!.start, chars[end - 1]!.end));
  }
  return spans;
}

/** Matches `piece` at `at`, a space in the piece matching a run of whitespace; returns the end index or -1. */
function matchLoose(chars: readonly NormalisedChar[], at: number, piece: string): number {
  let k = at;
  for (const c of piece) {
    if (c === ' ') {
      if (k >= chars.length || chars[k]!.char !== ' ') return -1;
      while (k < chars.length && chars[k]!.char === ' ') k++;
      continue;
    }
    if (k >= chars.length || chars[k]!.char !== c) return -1;
    k++;
  }
  return k;
}

function trimmed(text: string, piece: string, start: number, end: number): TokenSpan {
  let s = start;
  let e = end;
  while (s < e && /\s/u.test(text[s]!)) s++;
  while (e > s && /\s/u.test(text[e - 1]!)) e--;
  if (s === e) return { text: piece, start, end, special: false };
  return { text: piece, start: s, end: e, special: false };
}
