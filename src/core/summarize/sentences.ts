/**
 * Splits prose, Markdown and comment-like text into sentences with their character ranges, for extractive
 * summaries and for cutting long inputs. Rule-based: abbreviations, initials, decimals, version numbers and
 * dotted code names do not end a sentence; Markdown headings, list items and fenced code blocks are units of
 * their own.
 */

export type SentenceKind = 'sentence' | 'heading' | 'listItem' | 'code';

/** A sentence: `text === source.slice(start, end)` (UTF-16 offsets), trimmed, Markdown markers left out. */
export interface SentenceSpan {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly kind: SentenceKind;
  /** Index of the block (paragraph, heading, list item, code block) the sentence belongs to, in document order. */
  readonly block: number;
  /** Index of the section (text under one heading) the sentence belongs to; 0 before the first heading. */
  readonly section: number;
}

export interface SentenceOptions {
  /** A sentence longer than this (characters) is cut further at line breaks, then at `;`/`,`. Default 600. */
  readonly maxSentenceChars?: number;
}

/** Words that end with a period but rarely end a sentence (lowercase, without the final period). */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'vs', 'v', 'cf', 'al', 'fig', 'figs', 'eq', 'eqs',
  'no', 'nos', 'vol', 'vols', 'pp', 'p', 'ch', 'sec', 'approx', 'dept', 'est', 'inc', 'ltd', 'co', 'corp', 'gen',
  'gov', 'rep', 'sen', 'rev', 'capt', 'col', 'lt', 'sgt', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep',
  'sept', 'oct', 'nov', 'dec', 'e.g', 'i.e', 'a.m', 'p.m', 'u.s', 'u.k', 'ph.d', 'b.sc', 'm.sc', 'etc', 'resp', 'ca',
  'viz', 'ibid', 'op', 'ed', 'eds', 'min', 'max', 'avg', 'incl', 'excl', 'dept', 'univ', 'assn', 'bros', 'nr',
]);
/** Abbreviations that often do end a sentence: a boundary only when a capitalised word follows. */
const SOFT_ABBREVIATIONS = new Set(['etc', 'al', 'inc', 'ltd', 'co', 'corp', 'resp', 'incl', 'excl', 'min', 'max', 'avg', 'no']);

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const HEADING = /^\s{0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$/;
const LIST_ITEM = /^(\s*)([-*+•]|\d{1,9}[.)])[ \t]+(\[[ xX]\][ \t]+)?/;
const RULE = /^\s{0,3}([-*_=])(?:[ \t]*\1){2,}[ \t]*$/;

interface Line {
  readonly text: string;
  readonly start: number;
}

interface Block {
  kind: SentenceKind | 'paragraph';
  start: number;
  end: number;
}

/** Sentences of `text` in document order. */
export function splitSentences(text: string, options: SentenceOptions = {}): SentenceSpan[] {
  const maxChars = options.maxSentenceChars ?? 600;
  const out: SentenceSpan[] = [];
  let section = 0;
  blocks(text).forEach((b, index) => {
    if (b.kind === 'heading') section++;
    const push = (start: number, end: number, kind: SentenceKind): void => {
      const [s, e] = trim(text, start, end);
      if (e > s) out.push({ text: text.slice(s, e), start: s, end: e, kind, block: index, section });
    };
    if (b.kind === 'heading' || b.kind === 'code') {
      push(b.start, b.end, b.kind);
      return;
    }
    const kind: SentenceKind = b.kind === 'listItem' ? 'listItem' : 'sentence';
    for (const [s, e] of sentenceRanges(text, b.start, b.end)) {
      for (const [ps, pe] of cutLong(text, s, e, maxChars)) push(ps, pe, looksLikeCode(text.slice(ps, pe)) ? 'code' : kind);
    }
  });
  return out;
}

/** Paragraphs, headings, list items and code blocks with the ranges of their content (markers excluded). */
function blocks(text: string): Block[] {
  const lines: Line[] = [];
  const re = /[^\n]*(?:\n|$)/g;
  for (let m = re.exec(text); m && m[0] !== ''; m = re.exec(text)) {
    lines.push({ text: m[0].replace(/\r?\n$/, ''), start: m.index });
  }
  const out: Block[] = [];
  let open: Block | undefined;
  const close = (): void => {
    if (open) out.push(open);
    open = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineEnd = line.start + line.text.length;
    const fence = FENCE.exec(line.text);
    if (fence) {
      close();
      const marker = fence[1]!;
      let j = i + 1;
      while (j < lines.length && !lines[j]!.text.trimStart().startsWith(marker)) j++;
      const last = lines[Math.min(j, lines.length - 1)]!;
      out.push({ kind: 'code', start: line.start, end: last.start + last.text.length });
      i = j;
      continue;
    }
    if (line.text.trim() === '' || RULE.test(line.text)) {
      close();
      continue;
    }
    const heading = HEADING.exec(line.text);
    if (heading) {
      close();
      const contentStart = line.start + line.text.indexOf(heading[2]!, heading[1]!.length);
      out.push({ kind: 'heading', start: contentStart, end: contentStart + heading[2]!.length });
      continue;
    }
    const item = LIST_ITEM.exec(line.text);
    if (item) {
      close();
      open = { kind: 'listItem', start: line.start + item[0].length, end: lineEnd };
      continue;
    }
    if (!open && /^( {4}|\t)/.test(line.text) && (i === 0 || lines[i - 1]!.text.trim() === '')) {
      // An indented block after a blank line: Markdown code.
      let j = i;
      while (j + 1 < lines.length && (/^( {4}|\t)/.test(lines[j + 1]!.text) || lines[j + 1]!.text.trim() === '')) j++;
      while (j > i && lines[j]!.text.trim() === '') j--;
      out.push({ kind: 'code', start: line.start, end: lines[j]!.start + lines[j]!.text.length });
      i = j;
      continue;
    }
    if (open) open.end = lineEnd;
    else open = { kind: 'paragraph', start: line.start, end: lineEnd };
  }
  close();
  return out;
}

/** Sentence ranges inside `[from, to)`. */
function sentenceRanges(text: string, from: number, to: number): [number, number][] {
  const ranges: [number, number][] = [];
  let start = from;
  const terminator = /[.!?\u2026\u3002\uFF01\uFF1F]+/g;
  terminator.lastIndex = from;
  for (let m = terminator.exec(text); m && m.index < to; m = terminator.exec(text)) {
    let end = m.index + m[0].length;
    while (end < to && /["'\u201D\u2019)\]\u00BB*_`]/u.test(text[end]!)) end++;
    const cjk = /[\u3002\uFF01\uFF1F]/u.test(m[0]);
    if (!cjk && end < to && !/\s/u.test(text[end]!)) continue;
    if (!isBoundary(text, m.index, m[0], end, to)) continue;
    ranges.push([start, end]);
    start = end;
  }
  if (start < to) ranges.push([start, to]);
  return ranges;
}

function isBoundary(text: string, at: number, mark: string, end: number, to: number): boolean {
  let next = end;
  while (next < to && /\s/u.test(text[next]!)) next++;
  if (next >= to) return true;
  const following = text[next]!;
  if (/\p{Ll}/u.test(following)) return false;
  if (mark !== '.') return true;
  const word = /([\p{L}\p{N}.]+)$/u.exec(text.slice(Math.max(0, at - 24), at))?.[1] ?? '';
  const lower = word.toLowerCase();
  // Initials (J. Smith, U. S.) and dotted abbreviations (e.g., U.S.).
  if (/^\p{Lu}$/u.test(word)) return false;
  if (/^(\p{L}\.)+\p{L}$/u.test(word) && !SOFT_ABBREVIATIONS.has(lower)) return false;
  if (ABBREVIATIONS.has(lower)) return SOFT_ABBREVIATIONS.has(lower) && /\p{Lu}/u.test(following) && !/^\d/.test(following);
  // "No. 5", "Fig. 3", numbered references.
  if (/^\d/.test(following) && /^\p{Lu}\p{Ll}{0,3}$/u.test(word)) return false;
  return true;
}

/** Cuts an over-long sentence at line breaks, then `;`, then `,`, then spaces. */
function cutLong(text: string, start: number, end: number, maxChars: number): [number, number][] {
  if (end - start <= maxChars) return [[start, end]];
  for (const sep of [/\n/g, /;\s/g, /,\s/g, /\s/g]) {
    const cuts: [number, number][] = [];
    let from = start;
    let lastCut = start;
    sep.lastIndex = start;
    for (let m = sep.exec(text); m && m.index < end; m = sep.exec(text)) {
      const at = m.index + m[0].length;
      if (at - from > maxChars && lastCut > from) {
        cuts.push([from, lastCut]);
        from = lastCut;
      }
      lastCut = at;
    }
    if (end - from > maxChars && lastCut > from && lastCut < end) {
      cuts.push([from, lastCut]);
      from = lastCut;
    }
    cuts.push([from, end]);
    if (cuts.every(([s, e]) => e - s <= maxChars)) return cuts;
    if (cuts.length > 1) return cuts.flatMap(([s, e]) => cutLong(text, s, e, maxChars));
  }
  const hard: [number, number][] = [];
  for (let s = start; s < end; s += maxChars) hard.push([s, Math.min(end, s + maxChars)]);
  return hard;
}

/** Source-code-like text: many brackets, operators and semicolons relative to letters. */
export function looksLikeCode(s: string): boolean {
  const symbols = (s.match(/[{}()[\];=<>|&$\\]/g) ?? []).length;
  const letters = (s.match(/\p{L}/gu) ?? []).length;
  return symbols >= 4 && symbols * 4 > letters;
}

function trim(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && /\s/u.test(text[s]!)) s++;
  while (e > s && /\s/u.test(text[e - 1]!)) e--;
  return [s, e];
}
