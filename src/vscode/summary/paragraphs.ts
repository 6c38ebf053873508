/**
 * Paragraphs and Markdown sections of a text, for hover summaries of prose. No `vscode` import.
 *
 * Everything works on lines by index ({@link LineSource}: a `TextDocument` answers `lineAt(i).text` without copying
 * the document) and scans outwards from the line asked about, never further than `maxChars`: a log without blank
 * lines is one paragraph of millions of characters, and finding that out must not cost more than the limit.
 */

/** The lines of a text, line breaks left out. */
export interface LineSource {
  readonly lineCount: number;
  line(index: number): string;
}

/** Lines `first..last` (both included, zero-based) and the characters they span, inner line breaks counted as one. */
export interface LineRange {
  readonly first: number;
  readonly last: number;
  readonly chars: number;
}

export interface Section extends LineRange {
  /** The heading's text, markers left out. */
  readonly title: string;
  readonly level: number;
}

/** Longest line tested as a Markdown heading, fence or rule (longer ones are text; the patterns stay linear). */
const MAX_MARKUP_LINE = 1000;

const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const RULE = /^ {0,3}([-*_])( *\1){2,} *$/;

/** A string's lines. Splits the whole string: for tests and small texts; documents have their own lines. */
export function linesOf(text: string): LineSource {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return { lineCount: lines.length, line: (i) => lines[i]! };
}

function heading(line: string): RegExpExecArray | null {
  return line.length <= MAX_MARKUP_LINE ? HEADING.exec(line) : null;
}

function isFence(line: string): boolean {
  return line.length <= MAX_MARKUP_LINE && FENCE.test(line);
}

/** Blank lines end paragraphs; in Markdown, headings, fences and rules do too. */
function isBreak(line: string, markdown: boolean): boolean {
  if (!/\S/.test(line)) return true;
  return markdown && line.length <= MAX_MARKUP_LINE && (HEADING.test(line) || FENCE.test(line) || RULE.test(line));
}

/**
 * The paragraph (run of lines between breaks) around line `at`; undefined on a break line, and when the paragraph
 * spans more than `maxChars` (scanning stops there).
 */
export function paragraphAt(lines: LineSource, at: number, markdown = false, maxChars = Infinity): LineRange | undefined {
  const p = scanParagraph(lines, at, markdown, maxChars);
  return p && !p.tooLong ? { first: p.first, last: p.last, chars: p.chars } : undefined;
}

/** `tooLong`: the scan stopped at `maxChars`; `last` is then the last line it read. */
function scanParagraph(lines: LineSource, at: number, markdown: boolean, maxChars: number): (LineRange & { readonly tooLong: boolean }) | undefined {
  const text = lines.line(at);
  if (isBreak(text, markdown)) return undefined;
  let chars = text.length;
  let first = at;
  let last = at;
  while (chars <= maxChars && first > 0) {
    const above = lines.line(first - 1);
    if (isBreak(above, markdown)) break;
    chars += above.length + 1;
    first--;
  }
  while (chars <= maxChars && last + 1 < lines.lineCount) {
    const below = lines.line(last + 1);
    if (isBreak(below, markdown)) break;
    chars += below.length + 1;
    last++;
  }
  return { first, last, chars, tooLong: chars > maxChars };
}

/** Every paragraph of at most `maxChars` that overlaps lines `from..to` (both included), in order. */
export function paragraphsIn(lines: LineSource, from: number, to: number, markdown = false, maxChars = Infinity): LineRange[] {
  const out: LineRange[] = [];
  for (let i = Math.max(0, from); i <= to && i < lines.lineCount; i++) {
    const p = scanParagraph(lines, i, markdown, maxChars);
    if (!p) continue;
    if (!p.tooLong) {
      out.push({ first: p.first, last: p.last, chars: p.chars });
      i = p.last;
      continue;
    }
    // Too long: step over the rest of it, looking no further than `to`.
    while (i < to && i + 1 < lines.lineCount && !isBreak(lines.line(i + 1), markdown)) i++;
  }
  return out;
}

/**
 * When line `at` is a Markdown heading: its section, heading included, up to the next heading of the same or a
 * higher level (blank lines at its end left out). Undefined on other lines, and for a section longer than `maxChars`.
 */
export function markdownSectionAt(lines: LineSource, at: number, maxChars = Infinity): Section | undefined {
  const first = lines.line(at);
  const h = heading(first);
  if (!h) return undefined;
  const level = h[1]!.length;
  let chars = first.length;
  let last = at;
  let lastChars = chars;
  let fenced = false;
  for (let i = at + 1; i < lines.lineCount; i++) {
    const line = lines.line(i);
    if (isFence(line)) fenced = !fenced;
    const next = fenced ? null : heading(line);
    if (next && next[1]!.length <= level) break;
    chars += line.length + 1;
    if (chars > maxChars) return undefined;
    if (/\S/.test(line)) {
      last = i;
      lastChars = chars;
    }
  }
  return { first: at, last, chars: lastChars, title: h[2]!, level };
}
