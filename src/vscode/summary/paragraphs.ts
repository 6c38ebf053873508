/**
 * Paragraphs and Markdown sections of a text, for hover summaries of prose. No `vscode` import.
 */

/** A half-open range `[start, end)` of UTF-16 offsets. */
export interface TextRange {
  readonly start: number;
  readonly end: number;
}

export interface Section extends TextRange {
  /** The heading's text, markers left out. */
  readonly title: string;
  readonly level: number;
}

interface Line {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$/;

function lines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    out.push({ start, end: text[end - 1] === '\r' ? end - 1 : end, text: text.slice(start, text[end - 1] === '\r' ? end - 1 : end) });
    if (nl < 0) return out;
    start = nl + 1;
  }
}

function lineIndexAt(all: readonly Line[], offset: number): number {
  let lo = 0;
  let hi = all.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (all[mid]!.start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Blank lines end paragraphs; in Markdown, headings, fences and rules do too. */
function isBreak(line: string, markdown: boolean): boolean {
  if (line.trim() === '') return true;
  return markdown && (HEADING.test(line) || /^ {0,3}(`{3,}|~{3,})/.test(line) || /^ {0,3}([-*_])( *\1){2,} *$/.test(line));
}

/** The paragraph (run of lines between breaks) around `offset`; undefined on a break line. */
export function paragraphAt(text: string, offset: number, markdown = false): TextRange | undefined {
  const all = lines(text);
  return paragraphAround(all, lineIndexAt(all, offset), markdown);
}

function paragraphAround(all: readonly Line[], at: number, markdown: boolean): (TextRange & { readonly lastLine: number }) | undefined {
  if (isBreak(all[at]!.text, markdown)) return undefined;
  let first = at;
  let last = at;
  while (first > 0 && !isBreak(all[first - 1]!.text, markdown)) first--;
  while (last + 1 < all.length && !isBreak(all[last + 1]!.text, markdown)) last++;
  return { start: all[first]!.start, end: all[last]!.end, lastLine: last };
}

/** Every paragraph that overlaps `[from, to)`, in order. */
export function paragraphsIn(text: string, from: number, to: number, markdown = false): TextRange[] {
  const out: TextRange[] = [];
  const all = lines(text);
  for (let i = lineIndexAt(all, from); i < all.length && all[i]!.start < to; i++) {
    const p = paragraphAround(all, i, markdown);
    if (!p) continue;
    out.push({ start: p.start, end: p.end });
    i = p.lastLine;
  }
  return out;
}

/** When `offset` is on a Markdown heading: its section, heading included, up to the next heading of the same or a higher level. */
export function markdownSectionAt(text: string, offset: number): Section | undefined {
  const all = lines(text);
  const at = lineIndexAt(all, offset);
  const heading = HEADING.exec(all[at]!.text);
  if (!heading) return undefined;
  const level = heading[1]!.length;
  let last = at;
  let fenced = false;
  for (let i = at + 1; i < all.length; i++) {
    if (/^ {0,3}(`{3,}|~{3,})/.test(all[i]!.text)) fenced = !fenced;
    const h = fenced ? null : HEADING.exec(all[i]!.text);
    if (h && h[1]!.length <= level) break;
    last = i;
  }
  while (last > at && all[last]!.text.trim() === '') last--;
  return { start: all[at]!.start, end: all[last]!.end, title: heading[2]!, level };
}

/** Number of lines `[start, end)` spans. */
export function lineCount(text: string, range: TextRange): number {
  let n = 1;
  for (let i = range.start; i < range.end; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}
