/**
 * SentencePiece (unigram) tokenisation as the Universal Sentence Encoder's TF.js tokenizer does it, with the
 * UTF-16 range in the original text of every piece.
 *
 * The algorithm follows the official one step for step, quirks included, so the ids are the ones the model was
 * run with: NFKC, a leading '▁', spaces → '▁'; a lattice over code points; the best path chosen left to right with
 * ties going to the later (shorter) piece; a position with no piece at all becomes unknown (id 0, score 0); runs of
 * unknowns collapse into one.
 *
 * @example
 *   const sp = new SentencePieceTokenizer(JSON.parse(fs.readFileSync('vocab.json', 'utf8')));
 *   sp.encode('Hello world').map((p) => [p.id, p.piece, p.start, p.end]);
 *   // [[id, '▁Hello', 0, 5], [id, '▁world', 6, 11]]
 */

/** `[piece, log-probability]`, indexed by id. */
export type SentencePieceVocabulary = ReadonlyArray<readonly [string, number]>;

export interface SentencePiece {
  readonly id: number;
  /** The vocabulary entry, '▁' marking a preceding space; the replacement character for unknown text. */
  readonly piece: string;
  /**
   * Half-open UTF-16 range `[start, end)` in the original text. A piece's range leaves out the space its '▁'
   * stands for; a piece that is only '▁' covers the spaces it stands for, or is empty for the implicit leading one.
   */
  readonly start: number;
  readonly end: number;
}

/** The separator SentencePiece writes for a space. */
export const SENTENCEPIECE_SPACE = '\u2581';
export const UNKNOWN_ID = 0;
/** Ids 0–5 (unknown, <s>, </s>, three extra ids) never come out of the lattice. */
const RESERVED_IDS = 6;

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** Id of the piece ending here, or -1. */
  id: number;
  score: number;
}

/** One code point of the text the lattice runs over, with where it came from. */
interface Symbol {
  readonly char: string;
  readonly start: number;
  readonly end: number;
  /** True for '▁' standing for a space (or the implicit leading space), not for text of its own. */
  readonly separator: boolean;
}

export class SentencePieceTokenizer {
  private readonly root: TrieNode = { children: new Map(), id: -1, score: 0 };
  /** Length of each piece in UTF-16 units: the official backtracking steps back by this much. */
  private readonly pieceLength: Int32Array;

  constructor(
    private readonly vocabulary: SentencePieceVocabulary,
    reserved = RESERVED_IDS,
  ) {
    this.pieceLength = new Int32Array(vocabulary.length);
    vocabulary.forEach(([piece], id) => (this.pieceLength[id] = piece.length));
    for (let id = reserved; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id]!;
      let node = this.root;
      for (const c of piece) {
        let next = node.children.get(c);
        if (!next) {
          next = { children: new Map(), id: -1, score: 0 };
          node.children.set(c, next);
        }
        node = next;
      }
      // A piece listed twice keeps its later id and score, as in the official trie.
      node.id = id;
      node.score = score;
    }
  }

  get size(): number {
    return this.vocabulary.length;
  }

  /** The pieces of `text` in order, with their ranges in `text`. Empty text gives no pieces. */
  encode(text: string): SentencePiece[] {
    const symbols = latticeSymbols(text);
    const n = symbols.length;
    if (n === 0) return [];

    // Candidates ending at each position, in increasing start order (the order the official loop visits them).
    const endStart: number[][] = Array.from({ length: n + 1 }, () => []);
    const endId: number[][] = Array.from({ length: n + 1 }, () => []);
    const endScore: number[][] = Array.from({ length: n + 1 }, () => []);
    for (let i = 0; i < n; i++) {
      let node = this.root.children.get(symbols[i]!.char);
      let found = false;
      for (let k = i; k < n && node; k++) {
        if (node.id >= 0) {
          endStart[k + 1]!.push(i);
          endId[k + 1]!.push(node.id);
          endScore[k + 1]!.push(node.score);
          found = true;
        }
        node = k + 1 < n ? node.children.get(symbols[k + 1]!.char) : undefined;
      }
      if (!found) {
        endStart[i + 1]!.push(i);
        endId[i + 1]!.push(UNKNOWN_ID);
        endScore[i + 1]!.push(0);
      }
    }

    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    for (let end = 1; end <= n; end++) {
      const starts = endStart[end]!;
      for (let c = 0; c < starts.length; c++) {
        const score = endScore[end]![c]! + best[starts[c]!]!;
        // `best === 0` means "nothing yet" in the official code, even after a real path of score 0.
        if (best[end] === 0 || score >= best[end]!) {
          best[end] = score;
          words[end] = endId[end]![c]!;
        }
      }
    }

    // Walk back from the end; collapse runs of unknowns into the last one, widened to cover the run.
    const reversed: { id: number; from: number; to: number }[] = [];
    for (let at = n; at > 0; ) {
      const id = words[at]!;
      const from = at - this.pieceLength[id]!;
      const last = reversed[reversed.length - 1];
      if (id === UNKNOWN_ID && last && last.id === UNKNOWN_ID) last.from = from;
      else reversed.push({ id, from, to: at });
      at = from;
    }
    return reversed.reverse().map(({ id, from, to }) => {
      const { start, end } = pieceRange(symbols, Math.max(0, from), to, text.length);
      return { id, piece: this.vocabulary[id]![0], start, end };
    });
  }
}

/** Original-text range of lattice symbols `[from, to)`: their text symbols, or failing that their separators. */
function pieceRange(symbols: readonly Symbol[], from: number, to: number, textLength: number): { start: number; end: number } {
  let start = -1;
  let end = -1;
  for (const wanted of [false, true]) {
    for (let k = from; k < to; k++) {
      const s = symbols[k]!;
      if (s.separator !== wanted || s.end <= s.start) continue;
      if (start < 0) start = s.start;
      end = Math.max(end, s.end);
    }
    if (start >= 0) return { start, end };
  }
  const at = from < symbols.length ? symbols[from]!.start : textLength;
  return { start: at, end: at };
}

/**
 * The code points the lattice sees — '▁' + NFKC(text) with spaces as '▁' — each with the range of the original
 * characters it came from. Characters whose normal form differs from themselves (ligatures, full-width forms,
 * decomposed accents) give all their normalised code points the range of the original cluster.
 */
function latticeSymbols(text: string): Symbol[] {
  const normalised = normaliseWithOffsets(text);
  if (normalised.length === 0) return [];
  const first = normalised[0]!.start;
  const symbols: Symbol[] = [{ char: SENTENCEPIECE_SPACE, start: first, end: first, separator: true }];
  for (const c of normalised) {
    symbols.push(c.char === ' ' ? { char: SENTENCEPIECE_SPACE, start: c.start, end: c.end, separator: true } : { ...c, separator: false });
  }
  return symbols;
}

interface NormalisedChar {
  readonly char: string;
  readonly start: number;
  readonly end: number;
}

/** NFKC(text) as code points with source ranges. Falls back to coarser clusters when NFKC joins across them. */
export function normaliseWithOffsets(text: string): NormalisedChar[] {
  const whole = text.normalize('NFKC');
  for (const split of [splitClusters, splitWords]) {
    const out: NormalisedChar[] = [];
    let joined = '';
    for (const { start, end } of split(text)) {
      const source = text.slice(start, end);
      const n = source.normalize('NFKC');
      joined += n;
      if (n === source) {
        let at = start;
        for (const c of source) {
          out.push({ char: c, start: at, end: at + c.length });
          at += c.length;
        }
      } else {
        for (const c of n) out.push({ char: c, start, end });
      }
    }
    if (joined === whole) return out;
  }
  return [...whole].map((char) => ({ char, start: 0, end: text.length }));
}

/** A base character with the combining marks (and Hangul medial/final jamo) that follow it. */
function splitClusters(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let at = 0;
  for (const c of text) {
    const joins = out.length > 0 && /[\p{M}\u1160-\u11ff\ud7b0-\ud7ff]/u.test(c);
    if (joins) out[out.length - 1] = { start: out[out.length - 1]!.start, end: at + c.length };
    else out.push({ start: at, end: at + c.length });
    at += c.length;
  }
  return out;
}

/** Runs of non-space characters, and each space character on its own. */
function splitWords(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const m of text.matchAll(/\s|\S+/gu)) out.push({ start: m.index, end: m.index + m[0].length });
  return out;
}
