/** Pure helpers of the search panel: grouping, passage previews with highlighted terms, and "why it matched". */
import type { SearchHit, SearchMode } from '../../../src/protocol/search';

export interface FileGroup {
  readonly relPath: string;
  /** Hits of this file in rank order, with their index in the answer. */
  readonly hits: readonly { readonly hit: SearchHit; readonly index: number }[];
}

/** Hits grouped by file; files in the order of their best hit, hits in rank order. */
export function groupByFile(hits: readonly SearchHit[]): FileGroup[] {
  const groups = new Map<string, { hit: SearchHit; index: number }[]>();
  hits.forEach((hit, index) => {
    const list = groups.get(hit.relPath);
    if (list) list.push({ hit, index });
    else groups.set(hit.relPath, [{ hit, index }]);
  });
  return [...groups].map(([relPath, list]) => ({ relPath, hits: list }));
}

/** A run of a preview line: `mark` runs are query terms. */
export interface Segment {
  readonly text: string;
  readonly mark: boolean;
}

export interface Preview {
  /** 0-based document line of the first preview line. */
  readonly firstLine: number;
  readonly lines: readonly (readonly Segment[])[];
  /** Lines of the passage left out before and after the preview. */
  readonly hiddenBefore: number;
  readonly hiddenAfter: number;
}

/**
 * At most `maxLines` lines of the passage around its query terms: the window holding the most lines with a term,
 * those lines centred in it (or the passage's start when no term is in it), with the terms marked and the indentation
 * the lines share removed. Blank lines at the edges are dropped.
 */
export function preview(hit: SearchHit, maxLines = 8): Preview {
  const text = hit.text;
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const total = lineStarts.length;
  const lineText = (i: number): string => text.slice(lineStarts[i], i + 1 < total ? lineStarts[i + 1]! - 1 : text.length).replace(/\r$/, '');
  let first = 0;
  while (first < total - 1 && lineText(first).trim() === '') first++;
  const matchLines = [...new Set(hit.why.matches.map((m) => lineOf(m.start)))].sort((a, b) => a - b);
  if (matchLines.length > 0) {
    first = Math.max(first, centredWindow(matchLines, total, maxLines));
    while (first < matchLines[0]! && lineText(first).trim() === '') first++;
  }
  let last = Math.min(total - 1, first + maxLines - 1);
  while (last > first && lineText(last).trim() === '') last--;
  // Lines after the last one with text are blank: not counted as hidden.
  let lastText = total - 1;
  while (lastText > last && lineText(lastText).trim() === '') lastText--;
  const matches = [...hit.why.matches].sort((a, b) => a.start - b.start);
  // A passage that starts within its first line (after the indentation) says nothing of that line's indent.
  const midLine = (i: number): boolean => i === 0 && hit.startCharacter > 0;
  const indent = commonIndent(Array.from({ length: last - first + 1 }, (_, j) => first + j).filter((i) => !midLine(i)).map(lineText));
  const lines: Segment[][] = [];
  for (let i = first; i <= last; i++) {
    const content = lineText(i);
    const start = lineStarts[i]! + (midLine(i) ? 0 : Math.min(indent, content.length));
    const end = lineStarts[i]! + content.length;
    const segments: Segment[] = [];
    let at = start;
    for (const m of matches) {
      if (m.end <= at || m.start >= end) continue;
      const s = Math.max(m.start, at);
      const e = Math.min(m.end, end);
      if (s > at) segments.push({ text: text.slice(at, s), mark: false });
      segments.push({ text: text.slice(s, e), mark: true });
      at = e;
    }
    if (at < end) segments.push({ text: text.slice(at, end), mark: false });
    lines.push(segments);
  }
  return { firstLine: hit.startLine + first, lines, hiddenBefore: first, hiddenAfter: Math.max(0, lastText - last) };
}

/**
 * First line of the `size`-line window (within `total` lines) that holds the most of the sorted `lines`, those lines
 * as near its middle as can be; the earliest such window.
 */
export function centredWindow(lines: readonly number[], total: number, size: number): number {
  const lastStart = Math.max(0, total - size);
  let best = 0;
  let bestCount = -1;
  let bestOff = Infinity;
  const starts = new Set<number>();
  for (const l of lines) for (let s = Math.max(0, l - size + 1); s <= Math.min(lastStart, l); s++) starts.add(s);
  for (const s of [...starts].sort((a, b) => a - b)) {
    const inside = lines.filter((l) => l >= s && l < s + size);
    if (inside.length === 0) continue;
    const off = Math.abs((inside[0]! + inside[inside.length - 1]!) / 2 - (s + (size - 1) / 2));
    if (inside.length > bestCount || (inside.length === bestCount && off < bestOff)) {
      best = s;
      bestCount = inside.length;
      bestOff = off;
    }
  }
  return best;
}

/** Length of the leading whitespace all non-blank `lines` share (the preview drops it: no deep indents). */
function commonIndent(lines: readonly string[]): number {
  let prefix: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const lead = /^[ \t]*/.exec(line)![0];
    if (prefix === undefined) prefix = lead;
    else {
      let n = 0;
      while (n < prefix.length && n < lead.length && prefix[n] === lead[n]) n++;
      prefix = prefix.slice(0, n);
    }
  }
  return prefix?.length ?? 0;
}

/** The score as the mode defines it: combined score (0–1) for hybrid, cosine for vector, BM25 for lexical. */
export function scoreText(score: number, mode: SearchMode): string {
  if (mode === 'hybrid') return `score ${score.toFixed(3)}`;
  if (mode === 'vector') return `cos ${score.toFixed(3)}`;
  return `BM25 ${score.toFixed(2)}`;
}

/** Why a hit matched, in words: its rank in each retriever, the similarity, and the query terms it contains. */
export function whyText(hit: SearchHit): string {
  const w = hit.why;
  const parts: string[] = [];
  if (w.vectorRank !== undefined) parts.push(`meaning #${w.vectorRank}`);
  if (w.similarity !== undefined) parts.push(`similarity ${w.similarity.toFixed(3)}`);
  if (w.lexicalRank !== undefined) parts.push(`words #${w.lexicalRank}${w.lexicalScore !== undefined ? ` (BM25 ${w.lexicalScore.toFixed(2)})` : ''}`);
  else if (w.lexicalScore !== undefined) parts.push(`BM25 ${w.lexicalScore.toFixed(2)}`);
  parts.push(w.matchedTerms.length > 0 ? `terms: ${w.matchedTerms.join(', ')}` : w.weakMatch ? 'no query words: weak match' : 'no query words: matched by meaning');
  return parts.join(' · ');
}

/** `12–30` (1-based lines) for a hit's range. */
export function lineRange(hit: SearchHit): string {
  const end = hit.endCharacter === 0 && hit.endLine > hit.startLine ? hit.endLine : hit.endLine + 1;
  return end > hit.startLine + 1 ? `${hit.startLine + 1}–${end}` : `${hit.startLine + 1}`;
}
