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

/** `[piece, log-probability]`, indexed by id. A null score counts as 0, as in the official tokenizer. */
export type SentencePieceVocabulary = ReadonlyArray<readonly [string, number | null]>;

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
      node.score = score ?? 0;
    }
  }

  get size(): number {
    return this.vocabulary.length;
  }

  /** The pieces of `text` in order, with their ranges in `text`. Empty text gives no pieces. */
  encode(text: string): SentencePiece[] {
    const symbols = latticeSymbols(text);
    const n = symbols.chars.length;
    if (n === 0) return [];

    // Best path. The official code visits each end position's candidates in increasing start order after all
    // earlier ends are settled; visiting starts in increasing order and relaxing their ends gives the same order.
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    const relax = (from: number, to: number, id: number, score: number): void => {
      const total = score + best[from]!;
      // `best === 0` means "nothing yet" in the official code, even after a real path of score 0.
      if (best[to] === 0 || total >= best[to]!) {
        best[to] = total;
        words[to] = id;
      }
    };
    for (let i = 0; i < n; i++) {
      let node = this.root.children.get(symbols.chars[i]!);
      let found = false;
      for (let k = i; node; ) {
        if (node.id >= 0) {
          relax(i, k + 1, node.id, node.score);
          found = true;
        }
        if (++k >= n) break;
        node = node.children.get(symbols.chars[k]!);
      }
      if (!found) relax(i, i + 1, UNKNOWN_ID, 0);
    }

    // Walk back from the end; collapse runs of unknowns into the last one, widened to cover the run.
    const ids: number[] = [];
    const froms: number[] = [];
    const tos: number[] = [];
    for (let at = n; at > 0; ) {
      const id = words[at]!;
      const from = Math.max(0, at - this.pieceLength[id]!);
      if (id === UNKNOWN_ID && ids.length > 0 && ids[ids.length - 1] === UNKNOWN_ID) froms[froms.length - 1] = from;
      else {
        ids.push(id);
        froms.push(from);
        tos.push(at);
      }
      at = from;
    }
    const pieces: SentencePiece[] = [];
    for (let p = ids.length - 1; p >= 0; p--) {
      const id = ids[p]!;
      pieces.push({ id, piece: this.vocabulary[id]![0], ...pieceRange(symbols, froms[p]!, tos[p]!, text.length) });
    }
    return pieces;
  }
}

/** The code points the lattice runs over, with the original range each came from. */
interface LatticeSymbols {
  readonly chars: readonly string[];
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** 1 for '▁' standing for a space (or the implicit leading space), 0 for text of its own. */
  readonly separator: Uint8Array;
}

/** Original-text range of lattice symbols `[from, to)`: their text symbols, or failing that their separators. */
function pieceRange(symbols: LatticeSymbols, from: number, to: number, textLength: number): { start: number; end: number } {
  for (const wanted of [0, 1]) {
    let start = -1;
    let end = -1;
    for (let k = from; k < to; k++) {
      if (symbols.separator[k] !== wanted || symbols.ends[k]! <= symbols.starts[k]!) continue;
      if (start < 0) start = symbols.starts[k]!;
      end = Math.max(end, symbols.ends[k]!);
    }
    if (start >= 0) return { start, end };
  }
  const at = from < symbols.chars.length ? symbols.starts[from]! : textLength;
  return { start: at, end: at };
}

/**
 * The code points the lattice sees — '▁' + NFKC(text) with spaces as '▁' — each with the range of the original
 * characters it came from. Characters whose normal form differs from themselves (ligatures, full-width forms,
 * decomposed accents) give all their normalised code points the range of the original cluster.
 */
function latticeSymbols(text: string): LatticeSymbols {
  const normalised = normaliseWithOffsets(text);
  const n = normalised.length === 0 ? 0 : normalised.length + 1;
  const symbols = { chars: new Array<string>(n), starts: new Int32Array(n), ends: new Int32Array(n), separator: new Uint8Array(n) };
  if (n === 0) return symbols;
  symbols.chars[0] = SENTENCEPIECE_SPACE;
  symbols.starts[0] = symbols.ends[0] = normalised[0]!.start;
  symbols.separator[0] = 1;
  normalised.forEach((c, i) => {
    const space = c.char === ' ';
    symbols.chars[i + 1] = space ? SENTENCEPIECE_SPACE : c.char;
    symbols.starts[i + 1] = c.start;
    symbols.ends[i + 1] = c.end;
    symbols.separator[i + 1] = space ? 1 : 0;
  });
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
  if (whole === text) return identity(text, 0);
  for (const split of [splitClusters, splitWords]) {
    const out: NormalisedChar[] = [];
    let joined = '';
    for (const { start, end } of split(text)) {
      const source = text.slice(start, end);
      const n = source.normalize('NFKC');
      joined += n;
      if (n === source) out.push(...identity(source, start));
      else {
        for (const c of n) out.push({ char: c, start, end });
      }
    }
    if (joined === whole) return out;
  }
  return [...whole].map((char) => ({ char, start: 0, end: text.length }));
}

function identity(text: string, offset: number): NormalisedChar[] {
  const out: NormalisedChar[] = [];
  let at = offset;
  for (const char of text) {
    out.push({ char, start: at, end: at + char.length });
    at += char.length;
  }
  return out;
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
