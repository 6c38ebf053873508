/**
 * Splits a document into passages that respect its structure and fit the model's token limit.
 *
 * - Markdown: sections under headings (ATX `#` and setext), paragraphs, fenced code blocks and front matter kept
 *   whole; a heading stays with the paragraph under it; small sections are merged up to the target size.
 * - Plain text: paragraphs (blank-line separated), merged up to the target size.
 * - Code: the caller's symbol ranges (VS Code document symbols: functions, classes, methods) when given, with the
 *   comment/decorator lines right above them; otherwise top-level declarations and blank-line blocks.
 * - Anything still over the limit is cut into overlapping line windows, and a single over-long line (minified code)
 *   into character windows.
 *
 * @example
 *   const chunks = chunkDocument({ uri, relPath: 'docs/guide.md', text }, { maxTokens: 512 });
 *   chunks[0] // { startLine: 0, startCharacter: 0, endLine: 7, endCharacter: 42, text: '# Guide\n…', hash: '3f…' }
 */
import { createHash } from 'node:crypto';
import { contextLine, storedPassage } from './passageText';
import type { Chunk, SymbolRange } from './types';

export type DocumentKind = 'markdown' | 'text' | 'code';

export interface ChunkerOptions {
  /** The model's input limit in tokens, special tokens included (2 are reserved for them). */
  readonly maxTokens: number;
  /**
   * Size the packer aims at when merging small blocks, and the size of line windows; default min(256, limit). A single
   * block (function, paragraph) up to the limit is never split.
   */
  readonly targetTokens?: number;
  /** A heading starts a new passage only once the current one has this many tokens; default target / 4. */
  readonly minTokens?: number;
  /** Lines repeated between consecutive line windows; default 2. */
  readonly overlapLines?: number;
  /** Exact token counter (special tokens excluded). Default {@link estimateTokens}, or `charsPerToken` if given. */
  readonly countTokens?: (text: string) => number;
  /** A conservative characters-per-token ratio, used when no `countTokens` is given. */
  readonly charsPerToken?: number;
}

export interface ChunkInput {
  readonly uri: string;
  readonly relPath: string;
  readonly text: string;
  /** VS Code language id; else the kind is guessed from the file name. */
  readonly languageId?: string;
  /** Code symbols (0-based inclusive lines); used for code files. */
  readonly symbols?: readonly SymbolRange[];
}

/** Increase when chunk boundaries change, so stored documents are re-chunked (their vectors stay cached). */
export const CHUNKER_VERSION = 2;

/** Identity of a chunking configuration: an index re-chunks every document when it changes. */
export function chunkerKey(options: ChunkerOptions): string {
  const { limit, target, min, overlap } = resolveSizes(options);
  const counter = options.countTokens ? 'exact' : options.charsPerToken ? `cpt${options.charsPerToken}` : 'estimate';
  return `v${CHUNKER_VERSION}:${limit}:${target}:${min}:${overlap}:${counter}`;
}

const MARKDOWN_EXT = /\.(md|markdown|mdx|mdown|mkd|mkdn)$/i;
const TEXT_EXT = /\.(txt|text|rst|adoc|asciidoc|org|textile|rtf)$/i;
const TEXT_NAMES = /(^|\/)(LICEN[CS]E|COPYING|AUTHORS|CONTRIBUTORS|NOTICE|CHANGELOG|CHANGES|HISTORY|README|TODO)([._-][^/]*)?$/i;

export function documentKind(relPath: string, languageId?: string): DocumentKind {
  if (languageId === 'markdown' || languageId === 'mdx') return 'markdown';
  if (languageId === 'plaintext' || languageId === 'restructuredtext' || languageId === 'asciidoc') return 'text';
  if (languageId) return 'code';
  if (MARKDOWN_EXT.test(relPath)) return 'markdown';
  if (TEXT_EXT.test(relPath) || (TEXT_NAMES.test(relPath) && !/\.[a-z]+$/i.test(relPath.replace(TEXT_NAMES, '$2')))) return 'text';
  if (!/\.[^/]+$/.test(relPath.split('/').pop() ?? '')) return 'text';
  return 'code';
}

const NON_ASCII_WORD = /^[\p{L}\p{N}\p{M}]$/u;
const NON_ASCII_SPACE = /^\s$/u;

function isCjk(c: number): boolean {
  return (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af);
}

/**
 * A conservative token count for WordPiece/SentencePiece models: one per punctuation mark and CJK character,
 * one per word of up to 4 characters, ⌈length / 3.5⌉ for longer words (identifiers split into several pieces).
 * Overestimates English prose by ~20–40%, which only makes passages a little smaller. (A character loop: it runs on
 * every line of every indexed file.)
 */
export function estimateTokens(text: string): number {
  let n = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95) {
      run++;
      continue;
    }
    // ASCII punctuation and CJK characters count one each; other letters extend the word; spaces only end it.
    let word = false;
    let single = false;
    if (c >= 128) {
      const ch = text[i]!;
      if (isCjk(c)) single = true;
      else if (!NON_ASCII_SPACE.test(ch)) {
        if (NON_ASCII_WORD.test(ch) || (c >= 0xd800 && c <= 0xdfff)) word = true;
        else single = true;
      }
    } else single = c > 32;
    if (word) {
      run++;
      continue;
    }
    if (run > 0) {
      n += run <= 4 ? 1 : Math.ceil(run / 3.5);
      run = 0;
    }
    if (single) n++;
  }
  if (run > 0) n += run <= 4 ? 1 : Math.ceil(run / 3.5);
  return n;
}

export function chunkHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

interface Sizes {
  /** Hard limit per passage (tokens, special tokens excluded). */
  readonly limit: number;
  readonly target: number;
  readonly min: number;
  readonly overlap: number;
  /** Tokens kept free for the passage's context line (see passageText.ts). */
  readonly context: number;
}

function resolveSizes(o: ChunkerOptions, kind: DocumentKind = 'text'): Sizes {
  const model = Math.max(4, Math.floor(o.maxTokens) - 2);
  // Plain text has no context line; Markdown and code give a sixth of the model's input to theirs.
  const context = kind === 'text' ? 0 : Math.floor(model / 6);
  const limit = model - context;
  const target = Math.max(1, Math.min(limit, Math.floor(o.targetTokens ?? 256)));
  const min = Math.max(0, Math.min(target, Math.floor(o.minTokens ?? target / 4)));
  const overlap = Math.max(0, Math.floor(o.overlapLines ?? 2));
  return { limit, target, min, overlap, context };
}

/** Lines `start..end` (inclusive, 0-based); `heading` asks the packer to start a new passage here. */
interface Block {
  readonly start: number;
  readonly end: number;
  readonly heading?: boolean;
  /** Nested symbols (methods of a class), where an oversized block is split first. */
  readonly children?: readonly SymbolRange[];
}

/** A passage before it becomes a {@link Chunk}: whole lines, or part of one line (character window). */
interface Piece {
  readonly startLine: number;
  readonly endLine: number;
  readonly startChar?: number;
  readonly endChar?: number;
}

class Doc {
  readonly lines: string[] = [];
  readonly starts: number[] = [];
  private readonly prefix: Float64Array;

  constructor(
    readonly text: string,
    count: (t: string) => number,
  ) {
    const re = /\r?\n/g;
    let last = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      this.starts.push(last);
      this.lines.push(text.slice(last, m.index));
      last = m.index + m[0].length;
    }
    this.starts.push(last);
    this.lines.push(text.slice(last));
    this.prefix = new Float64Array(this.lines.length + 1);
    for (let i = 0; i < this.lines.length; i++) this.prefix[i + 1] = this.prefix[i]! + count(this.lines[i]!);
  }

  tokens(start: number, end: number): number {
    return this.prefix[end + 1]! - this.prefix[start]!;
  }

  blank(i: number): boolean {
    return this.lines[i]!.trim() === '';
  }
}

/** Passages of `input` in document order. Blank-only documents give none. */
export function chunkDocument(input: ChunkInput, options: ChunkerOptions): Chunk[] {
  const kind = documentKind(input.relPath, input.languageId);
  const sizes = resolveSizes(options, kind);
  const count = options.countTokens ?? (options.charsPerToken ? (t: string) => Math.ceil(t.length / options.charsPerToken!) : estimateTokens);
  const doc = new Doc(input.text, count);
  const blocks =
    kind === 'markdown' ? markdownBlocks(doc) : kind === 'text' ? paragraphBlocks(doc, 0, doc.lines.length - 1) : codeBlocks(doc, input.symbols);
  const pieces = pack(doc, blocks, sizes, count);
  const headings = kind === 'markdown' ? markdownContext(doc) : undefined;
  const contextOf = (p: Piece): readonly string[] => (headings ? headings(p.startLine) : kind === 'code' ? codeContext(doc, p) : []);
  const contextChars = sizes.context * 4;
  return pieces.map((p) => toChunk(doc, input, p, contextLine(contextOf(p), contextChars)));
}

function toChunk(doc: Doc, input: ChunkInput, p: Piece, context: string): Chunk {
  const startCharacter = p.startChar ?? 0;
  const endCharacter = p.endChar ?? doc.lines[p.endLine]!.length;
  const startOffset = doc.starts[p.startLine]! + startCharacter;
  const endOffset = doc.starts[p.endLine]! + endCharacter;
  const text = doc.text.slice(startOffset, endOffset);
  return {
    uri: input.uri,
    relPath: input.relPath,
    startLine: p.startLine,
    startCharacter,
    endLine: p.endLine,
    endCharacter,
    startOffset,
    endOffset,
    text,
    context,
    hash: chunkHash(storedPassage(context, text)),
  };
}

/** Headings above each line of a Markdown document (outermost first), fenced code skipped. */
function markdownContext(doc: Doc): (line: number) => readonly string[] {
  const at: (readonly string[])[] = [];
  const stack: { level: number; text: string }[] = [];
  let fence = false;
  doc.lines.forEach((line) => {
    at.push(stack.map((h) => h.text));
    if (FENCE.test(line)) fence = !fence;
    const atx = fence ? null : /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!atx) return;
    const level = atx[1]!.length;
    while (stack.length > 0 && stack[stack.length - 1]!.level >= level) stack.pop();
    stack.push({ level, text: atx[2]!.replace(/`/g, '') });
  });
  return (line) => at[line] ?? [];
}

/**
 * Context of a code passage (outermost first): the declarations enclosing it (each less indented line above that opens
 * one); for a passage that is all doc comment, the declaration the comment documents; for a passage that starts at a
 * declaration whose doc comment lies above it, that comment's first sentence.
 */
function codeContext(doc: Doc, p: Piece): string[] {
  let first = p.startLine;
  while (first < p.endLine && doc.blank(first)) first++;
  const out = enclosingDeclarations(doc, first);
  if (COMMENT_LINE.test(doc.lines[first]!.trim())) {
    let i = p.endLine + 1;
    while (i < doc.lines.length && (doc.blank(i) || COMMENT_LINE.test(doc.lines[i]!.trim()))) i++;
    if (i < doc.lines.length && isDeclaration(doc.lines[i]!.trim())) out.push(signature(doc.lines[i]!));
  } else {
    const summary = commentSummaryAbove(doc, first);
    if (summary) out.push(summary);
  }
  return out;
}

const COMMENT_LINE = /^(\/\*|\*|\/\/|#(?!\[))/;

function isDeclaration(trimmed: string): boolean {
  return DECLARATION.test(trimmed) || /^[\w$.<>]+(\s+[\w$.<>]+)*\s*\(.*\)\s*(:[^{]*)?\{?$/.test(trimmed);
}

function signature(line: string): string {
  return line.trim().replace(/\s*\{$/, '');
}

function enclosingDeclarations(doc: Doc, line: number): string[] {
  let indent = indentOf(doc.lines[line] ?? '');
  const out: string[] = [];
  for (let i = line - 1; i >= 0 && indent > 0 && line - i < 2000; i--) {
    const text = doc.lines[i]!;
    if (doc.blank(i) || indentOf(text) >= indent) continue;
    indent = indentOf(text);
    if (isDeclaration(text.trim())) out.unshift(signature(text));
  }
  return out;
}

/** First sentence of the comment block right above `line` (a declaration's doc comment), markers removed. */
function commentSummaryAbove(doc: Doc, line: number): string | undefined {
  if (line === 0 || !isDeclaration(doc.lines[line]!.trim())) return undefined;
  let i = line - 1;
  while (i >= 0 && !doc.blank(i) && COMMENT_LINE.test(doc.lines[i]!.trim())) i--;
  const words: string[] = [];
  for (let j = i + 1; j < line; j++) {
    const text = doc.lines[j]!.trim().replace(/^(\/\*+|\*+\/?|\/\/+|#+)\s?/, '').replace(/\*\/$/, '').trim();
    if (text.startsWith('@')) break;
    if (text === '') {
      if (words.length > 0) break;
      continue;
    }
    words.push(text);
  }
  const prose = words.join(' ');
  const end = prose.search(/\.(\s|$)/);
  return prose === '' ? undefined : end > 0 ? prose.slice(0, end + 1) : prose;
}

/** Blocks of non-blank lines separated by blank lines, within `from..to`. */
function paragraphBlocks(doc: Doc, from: number, to: number): Block[] {
  const blocks: Block[] = [];
  let start = -1;
  for (let i = from; i <= to; i++) {
    if (doc.blank(i)) {
      if (start >= 0) blocks.push({ start, end: i - 1 });
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) blocks.push({ start, end: to });
  return blocks;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}#{1,6}(\s|$)/;
const SETEXT = /^ {0,3}(=+|-+)\s*$/;

function markdownBlocks(doc: Doc): Block[] {
  const n = doc.lines.length;
  const blocks: Block[] = [];
  let i = 0;
  // Front matter.
  if (doc.lines[0] === '---') {
    for (let j = 1; j < n; j++) {
      if (doc.lines[j] === '---' || doc.lines[j] === '...') {
        blocks.push({ start: 0, end: j });
        i = j + 1;
        break;
      }
    }
  }
  let pendingHeading = -1;
  let start = -1;
  const flush = (end: number): void => {
    if (start >= 0) blocks.push({ start, end, ...(pendingHeading >= 0 && pendingHeading === start ? { heading: true } : {}) });
    start = -1;
  };
  while (i < n) {
    const line = doc.lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      // A fenced block is one unit (blank lines inside included); it joins the paragraph or heading above it.
      const marker = fence[1]!;
      let j = i + 1;
      while (j < n && !new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`).test(doc.lines[j]!)) j++;
      if (start < 0) start = i;
      i = Math.min(j, n - 1) + 1;
      continue;
    }
    const setext = i + 1 < n && start < 0 && !doc.blank(i) && SETEXT.test(doc.lines[i + 1]!) && !ATX.test(line) && !/^ {0,3}(=+|-+)\s*$/.test(line);
    if (ATX.test(line) || setext) {
      flush(lastNonBlank(doc, i - 1));
      start = i;
      pendingHeading = i;
      i += setext ? 2 : 1;
      // The heading and the paragraph under it form one block: skip blank lines between them.
      while (i < n && doc.blank(i)) i++;
      continue;
    }
    if (doc.blank(i)) {
      flush(lastNonBlank(doc, i - 1));
    } else if (start < 0) start = i;
    i++;
  }
  flush(lastNonBlank(doc, n - 1));
  return blocks.filter((b) => b.end >= b.start);
}

function lastNonBlank(doc: Doc, i: number): number {
  while (i >= 0 && doc.blank(i)) i--;
  return i;
}

const DECLARATION =
  /^(export\s+)?(default\s+)?(declare\s+)?(async\s+)?(abstract\s+)?((public|private|protected|internal|static|final|sealed|pub(\([^)]*\))?|unsafe|extern)\s+)*(function\*?|class|interface|type|enum|namespace|module|struct|trait|impl|fn|func|def|const|let|var|val|object|record|union|macro_rules!|template|typedef|describe|it|test)\b/;
const CLOSING = /^[\]})]|^end\b|^fi\b|^done\b|^esac\b/;
const ATTACHED = /^(\/\/|\/\*|\*|#(?!\[)|#\[|@|--|;|'''|""")/;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Code blocks: symbol ranges when given, else top-level declarations and blank-line blocks. */
function codeBlocks(doc: Doc, symbols: readonly SymbolRange[] | undefined): Block[] {
  const last = doc.lines.length - 1;
  if (symbols && symbols.length > 0) return symbolBlocks(doc, symbols, 0, last);
  return heuristicCodeBlocks(doc, 0, last);
}

function heuristicCodeBlocks(doc: Doc, from: number, to: number): Block[] {
  const blocks: Block[] = [];
  let start = -1;
  let prevBlank = true;
  let prevAttached = false;
  for (let i = from; i <= to; i++) {
    const line = doc.lines[i]!;
    if (line.trim() === '') {
      prevBlank = true;
      continue;
    }
    const top = indentOf(line) === 0;
    const trimmed = line.trim();
    const startsBlock = top && !CLOSING.test(trimmed) && (prevBlank || (DECLARATION.test(trimmed) && !prevAttached));
    if (start < 0) start = i;
    else if (startsBlock) {
      blocks.push({ start, end: lastNonBlank(doc, i - 1) });
      start = i;
    }
    prevBlank = false;
    prevAttached = top && ATTACHED.test(trimmed);
  }
  if (start >= 0) blocks.push({ start, end: lastNonBlank(doc, to) });
  return blocks;
}

/** Blocks for `symbols` within `from..to`: each symbol (plus comments above it), code between them by heuristic. */
function symbolBlocks(doc: Doc, symbols: readonly SymbolRange[], from: number, to: number): Block[] {
  const sorted = symbols
    .filter((s) => s.startLine <= s.endLine && s.endLine >= from && s.startLine <= to)
    .map((s) => ({ ...s, startLine: Math.max(from, s.startLine), endLine: Math.min(to, s.endLine) }))
    .sort((a, b) => a.startLine - b.startLine);
  const blocks: Block[] = [];
  let cursor = from;
  for (const s of sorted) {
    if (s.startLine < cursor) continue; // nested or overlapping: covered already
    let start = s.startLine;
    while (start - 1 >= cursor && !doc.blank(start - 1) && ATTACHED.test(doc.lines[start - 1]!.trim())) start--;
    if (start > cursor) blocks.push(...heuristicCodeBlocks(doc, cursor, start - 1));
    blocks.push({ start, end: s.endLine, ...(s.children && s.children.length > 0 ? { children: s.children } : {}) });
    cursor = s.endLine + 1;
  }
  if (cursor <= to) blocks.push(...heuristicCodeBlocks(doc, cursor, to));
  return blocks;
}

/**
 * Greedy packing of consecutive blocks into passages of at most `target` tokens. A block between target and limit
 * stays whole on its own; a block over the limit is split (at nested symbols, then paragraphs, then line windows).
 */
function pack(doc: Doc, blocks: readonly Block[], sizes: Sizes, count: (t: string) => number): Piece[] {
  const out: Piece[] = [];
  let cur: { start: number; end: number } | undefined;
  const flush = (): void => {
    if (cur) out.push({ startLine: cur.start, endLine: cur.end });
    cur = undefined;
  };
  for (const b of blocks) {
    const tokens = doc.tokens(b.start, b.end);
    if (tokens > sizes.limit) {
      flush();
      out.push(...splitOversized(doc, b, sizes, count));
      continue;
    }
    if (tokens > sizes.target) {
      // Bigger than the packing goal but within the model's limit: a whole function or paragraph, on its own.
      flush();
      out.push({ startLine: b.start, endLine: b.end });
      continue;
    }
    if (cur) {
      const together = doc.tokens(cur.start, b.end);
      const headingBreak = b.heading === true && doc.tokens(cur.start, cur.end) >= sizes.min;
      if (together > sizes.target || headingBreak) flush();
    }
    cur = cur ? { start: cur.start, end: b.end } : { start: b.start, end: b.end };
  }
  flush();
  return out;
}

function splitOversized(doc: Doc, b: Block, sizes: Sizes, count: (t: string) => number): Piece[] {
  if (b.children && b.children.length > 0) {
    const inner = symbolBlocks(doc, b.children, b.start, b.end);
    if (inner.length > 1) return pack(doc, inner, sizes, count);
  }
  const paragraphs = paragraphBlocks(doc, b.start, b.end);
  if (paragraphs.length > 1) return pack(doc, paragraphs, sizes, count);
  return lineWindows(doc, b.start, b.end, sizes, count);
}

/** Windows of whole lines up to `target` tokens, each starting `overlap` lines before the previous one ended. */
function lineWindows(doc: Doc, from: number, to: number, sizes: Sizes, count: (t: string) => number): Piece[] {
  const out: Piece[] = [];
  let i = from;
  while (i <= to) {
    while (i <= to && doc.blank(i)) i++;
    if (i > to) break;
    if (doc.tokens(i, i) > sizes.limit) {
      out.push(...charWindows(doc, i, sizes, count));
      i++;
      continue;
    }
    let j = i;
    while (j + 1 <= to && doc.tokens(i, j + 1) <= sizes.target && doc.tokens(j + 1, j + 1) <= sizes.limit) j++;
    const end = lastNonBlank(doc, j);
    out.push({ startLine: i, endLine: end });
    if (j >= to) break;
    // No overlap into a window that could only repeat this one: when the next line is itself over the limit.
    const overlap = doc.tokens(j + 1, j + 1) > sizes.limit ? 0 : Math.min(sizes.overlap, Math.floor((j - i) / 2));
    i = Math.max(i + 1, j + 1 - overlap);
  }
  return out;
}

export const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
export const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Windows of one over-long line, cut at whitespace where possible, each within the hard limit. */
function charWindows(doc: Doc, line: number, sizes: Sizes, count: (t: string) => number): Piece[] {
  const text = doc.lines[line]!;
  const out: Piece[] = [];
  let start = 0;
  while (start < text.length) {
    while (start < text.length && /\s/.test(text[start]!)) start++;
    if (start >= text.length) break;
    // Grow the window geometrically, then binary-search the longest prefix within the limit.
    let lo = 1;
    let hi = Math.min(text.length - start, Math.max(16, sizes.target * 4));
    while (hi < text.length - start && count(text.slice(start, start + hi)) <= sizes.target) hi = Math.min(text.length - start, hi * 2);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (count(text.slice(start, start + mid)) <= sizes.target) lo = mid;
      else hi = mid - 1;
    }
    let end = start + lo;
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start + lo / 2) end = space;
    }
    // Never between the two halves of a surrogate pair (an emoji, a CJK extension character).
    if (end < text.length && end > start + 1 && isLowSurrogate(text.charCodeAt(end)) && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    else if (end < text.length && end === start + 1 && isLowSurrogate(text.charCodeAt(end)) && isHighSurrogate(text.charCodeAt(end - 1))) end++;
    let trimmedEnd = end;
    while (trimmedEnd > start && /\s/.test(text[trimmedEnd - 1]!)) trimmedEnd--;
    out.push({ startLine: line, endLine: line, startChar: start, endChar: trimmedEnd });
    start = end;
  }
  return out;
}
