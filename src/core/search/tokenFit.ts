import { chunkHash, isHighSurrogate, isLowSurrogate } from './chunker';
import { modelInput, storedPassage } from './passageText';
import type { Chunk } from './types';

/** Counts the model's input tokens of each text exactly (see `Embedder.inputTokenCounts`). */
export type CountInputTokens = (texts: readonly string[], signal?: AbortSignal) => Promise<ArrayLike<number>>;

/** Halvings after which a passage is left as it is (a single character over the limit cannot be split further). */
const MAX_DEPTH = 24;

/**
 * The chunker sizes passages with an estimate; the model's tokenizer decides. This pass asks for the exact count of
 * every passage as the model reads it (context line included) and splits each one over `maxTokens` in two — at a
 * line break near its middle, else at a space, else between characters (never inside a surrogate pair) — until every
 * piece fits, so no passage is ever cut at embedding time. Pieces keep their context; their ranges are exact ranges
 * of `text`, and together they cover what the passage covered (whitespace at the cuts aside).
 */
/** `split`: how many cuts were made. */
export async function fitChunks(text: string, chunks: readonly Chunk[], maxTokens: number, count: CountInputTokens, signal?: AbortSignal): Promise<{ chunks: Chunk[]; split: number }> {
  const lines = lineStarts(text);
  let current = [...chunks];
  let split = 0;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const counts = await count(current.map((c) => modelInput(storedPassage(c.context, c.text))), signal);
    const next: Chunk[] = [];
    let changed = false;
    current.forEach((c, i) => {
      if (counts[i]! <= maxTokens || c.endOffset - c.startOffset < 2) {
        next.push(c);
        return;
      }
      const halves = halve(text, lines, c);
      if (halves.length < 2) {
        next.push(c);
        return;
      }
      split++;
      changed = true;
      next.push(...halves);
    });
    current = next;
    if (!changed) break;
  }
  return { chunks: current, split };
}

/** `c` cut in two near its middle, each half trimmed of surrounding whitespace (empty halves dropped). */
function halve(text: string, lines: readonly number[], c: Chunk): Chunk[] {
  const { startOffset: start, endOffset: end } = c;
  const middle = start + Math.floor((end - start) / 2);
  let cut = nearest(start, end, middle, (i) => text[i - 1] === '\n');
  if (cut === undefined) cut = nearest(start, end, middle, (i) => /\s/.test(text[i - 1]!) && !/\s/.test(text[i]!));
  if (cut === undefined) {
    cut = middle;
    if (isLowSurrogate(text.charCodeAt(cut)) && isHighSurrogate(text.charCodeAt(cut - 1))) cut++;
  }
  if (cut <= start || cut >= end) return [c];
  return [piece(text, lines, c, start, cut), piece(text, lines, c, cut, end)].filter((p): p is Chunk => p !== undefined);
}

/** The offset in (start, end) closest to `middle` where `ok` holds, looking at most a quarter of the span away. */
function nearest(start: number, end: number, middle: number, ok: (i: number) => boolean): number | undefined {
  const reach = Math.floor((end - start) / 4);
  for (let d = 0; d <= reach; d++) {
    for (const i of [middle - d, middle + d]) if (i > start && i < end && ok(i)) return i;
  }
  return undefined;
}

function piece(text: string, lines: readonly number[], of: Chunk, from: number, to: number): Chunk | undefined {
  while (from < to && /\s/.test(text[from]!)) from++;
  while (to > from && /\s/.test(text[to - 1]!)) to--;
  if (to <= from) return undefined;
  const start = position(lines, from);
  const end = position(lines, to);
  const body = text.slice(from, to);
  return {
    uri: of.uri,
    relPath: of.relPath,
    startLine: start.line,
    startCharacter: start.character,
    endLine: end.line,
    endCharacter: end.character,
    startOffset: from,
    endOffset: to,
    text: body,
    context: of.context,
    hash: chunkHash(storedPassage(of.context, body)),
  };
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function position(starts: readonly number[], offset: number): { line: number; character: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - starts[lo]! };
}
