/**
 * The lexical side of search: a tokeniser for prose and code. Text is split into runs of letters and digits;
 * identifiers are split at camelCase and snake_case boundaries (`retryFailedUploads` → retry, fail, upload); terms
 * are lowercased and lightly stemmed (plural and -ed/-ing endings); English stop words and one-letter words are
 * dropped (prose words only: nothing that is also a common identifier, such as get, set, all, each, some, any).
 * Every term keeps its UTF-16 span in the text, for highlighting.
 */

export interface LexicalToken {
  /** Normalised term. */
  readonly term: string;
  /** UTF-16 offsets of the source word part. */
  readonly start: number;
  readonly end: number;
}

export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be but by for from has have he her his how i if in into is it its me my no not of on or our ' +
    'she so such that the their them then there these they this those to us was we were what when where which who ' +
    'why will with would you your do does did can could should shall may might must been being am than too very ' +
    'without within about also just lot lots want something anything way'
  ).split(' '),
);

const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;

/** Terms of `text` in order, with their spans. */
export function tokenize(text: string): LexicalToken[] {
  const out: LexicalToken[] = [];
  forEachTerm(text, (term, start, end) => out.push({ term, start, end }));
  return out;
}

/** Distinct terms of a query, in first-seen order. */
export function queryTerms(query: string): string[] {
  return [...new Set(tokenize(query).map((t) => t.term))];
}

/** Width in UTF-16 units of the word character at `i` (letter, digit, mark), or 0. ASCII is decided without regex. */
function wordCharWidth(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ? 1 : 0;
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    return WORD_CHAR.test(text.slice(i, i + 2)) ? 2 : 0;
  }
  return WORD_CHAR.test(text[i]!) ? 1 : 0;
}

/** Calls `visit` for every term of `text` (allocation-light: it indexes every chunk). */
export function forEachTerm(text: string, visit: (term: string, start: number, end: number) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const w = wordCharWidth(text, i);
    if (w === 0) {
      i++;
      continue;
    }
    const start = i;
    i += w;
    for (let k = wordCharWidth(text, i); i < n && k > 0; k = wordCharWidth(text, i)) i += k;
    splitWord(text, start, i, visit);
  }
}

/** Emits the camelCase parts of text[start, end). */
function splitWord(text: string, start: number, end: number, visit: (term: string, start: number, end: number) => void): void {
  let partStart = start;
  for (let i = start + 1; i < end; i++) {
    if (isBoundary(text, i, end)) {
      emit(text.slice(partStart, i), partStart, i, visit);
      partStart = i;
    }
  }
  emit(text.slice(partStart, end), partStart, end, visit);
}

function isUpper(c: string): boolean {
  return c !== c.toLowerCase() && c === c.toUpperCase();
}
function isLower(c: string): boolean {
  return c !== c.toUpperCase() && c === c.toLowerCase();
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** camelCase boundary before position i: aB, 1B (a digit ending a part), and ABc (the last capital starts a part). */
function isBoundary(text: string, i: number, end: number): boolean {
  const c = text.charCodeAt(i);
  const p = text.charCodeAt(i - 1);
  if (c < 128 && p < 128) {
    if (c < 65 || c > 90) return false;
    if ((p >= 97 && p <= 122) || (p >= 48 && p <= 57)) return true;
    if (p >= 65 && p <= 90 && i + 1 < end) {
      const next = text.charCodeAt(i + 1);
      return next >= 97 && next <= 122;
    }
    return false;
  }
  const ch = text[i]!;
  const prev = text[i - 1]!;
  if (!isUpper(ch)) return false;
  return isLower(prev) || isDigit(prev) || (isUpper(prev) && i + 1 < end && isLower(text[i + 1]!));
}

function emit(part: string, start: number, end: number, visit: (term: string, start: number, end: number) => void): void {
  const lower = part.toLowerCase();
  if (lower.length < 2 && !isDigit(lower)) return;
  if (STOP_WORDS.has(lower)) return;
  visit(stem(lower), start, end);
}

/**
 * A light English stemmer: plurals (-ies → -y, -sses → -ss, -xes/-ches/-shes → drop -es, -s), -ied → -y,
 * -ed and -ing (with undoubling: stopped → stop) when at least three letters remain. Deliberately conservative:
 * it never maps two common unrelated words together, and leaves short words and identifiers alone.
 */
export function stem(w: string): string {
  const last = w.charCodeAt(w.length - 1);
  // Only words ending in s, d or g can change.
  if (w.length <= 3 || (last !== 115 && last !== 100 && last !== 103) || /\d/.test(w)) return w;
  if (w.endsWith('ies') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith('ied') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (/(x|ch|sh|zz)es$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('ing') && w.length >= 6) return undouble(w.slice(0, -3));
  if (w.endsWith('ed') && w.length >= 5 && !w.endsWith('eed')) return undouble(w.slice(0, -2));
  if (w.endsWith('s') && !/(ss|us|is|ys|as|os)$/.test(w)) return w.slice(0, -1);
  return w;
}

function undouble(s: string): string {
  const n = s.length;
  if (n >= 4 && s[n - 1] === s[n - 2] && !/[lsz]/.test(s[n - 1]!) && !/[aeiou]/.test(s[n - 1]!)) return s.slice(0, -1);
  return s;
}
