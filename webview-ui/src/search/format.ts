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
 * At most `maxLines` lines of the passage, starting one line above the first line holding a query term (or at the
 * passage's start), with the terms marked and the indentation the lines share removed. Blank lines at the edges are
 * dropped.
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
  const firstMatch = hit.why.matches.length > 0 ? Math.min(...hit.why.matches.map((m) => m.start)) : undefined;
  if (firstMatch !== undefined) {
    const matchLine = lineOf(firstMatch);
    first = Math.max(first, matchLine - 1);
    if (lineText(first).trim() === '') first = matchLine;
  }
  let last = Math.min(total - 1, first + maxLines - 1);
  while (last > first && lineText(last).trim() === '') last--;
  // Lines after the last one with text are blank: not counted as hidden.
  let lastText = total - 1;
  while (lastText > last && lineText(lastText).trim() === '') lastText--;
  const matches = [...hit.why.matches].sort((a, b) => a.start - b.start);
  const indent = commonIndent(Array.from({ length: last - first + 1 }, (_, j) => lineText(first + j)));
  const lines: Segment[][] = [];
  for (let i = first; i <= last; i++) {
    const content = lineText(i);
    const start = lineStarts[i]! + Math.min(indent, content.length);
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
