/**
 * The stored form of a passage: its context (the document's title and heading path, or the enclosing code
 * declaration) and its text, in one string. The context is embedded and indexed for BM25 with the passage but never
 * shown as passage text; the hash of the stored form keys the vector cache, so the same text under another heading is
 * a different passage, and the same text under the same heading in two files is one.
 *
 *   stored = context + CONTEXT_SEPARATOR + text      (or just `text` when there is no context)
 */

import { forEachTerm } from './lexical';

/** ASCII record separator: never part of a context, and rare in text (a text holding it is always stored with one). */
export const CONTEXT_SEPARATOR = '\u001e';

export function storedPassage(context: string, text: string): string {
  return context !== '' || text.includes(CONTEXT_SEPARATOR) ? `${context}${CONTEXT_SEPARATOR}${text}` : text;
}

/** The passage's context (heading path or enclosing declaration), '' when it has none. */
export function contextOf(stored: string): string {
  const i = stored.indexOf(CONTEXT_SEPARATOR);
  return i < 0 ? '' : stored.slice(0, i);
}

/** The passage text as in the document. */
export function shownText(stored: string): string {
  const i = stored.indexOf(CONTEXT_SEPARATOR);
  return i < 0 ? stored : stored.slice(i + 1);
}

/** How many times a context term counts in BM25, against once for a term of the text: headings say what a passage is about. */
export const CONTEXT_TERM_WEIGHT = 2;

/** Every BM25 term of a stored passage: those of its context {@link CONTEXT_TERM_WEIGHT} times, then those of its text. */
export function forEachPassageTerm(stored: string, visit: (term: string) => void): void {
  const i = stored.indexOf(CONTEXT_SEPARATOR);
  if (i > 0) {
    forEachTerm(stored.slice(0, i), (term) => {
      for (let k = 0; k < CONTEXT_TERM_WEIGHT; k++) visit(term);
    });
  }
  forEachTerm(i < 0 ? stored : stored.slice(i + 1), visit);
}

/** What the model reads: the context on a line of its own above the text, comment decoration left out. */
export function modelInput(stored: string): string {
  const i = stored.indexOf(CONTEXT_SEPARATOR);
  if (i < 0) return readable(stored);
  return i === 0 ? readable(stored.slice(1)) : `${stored.slice(0, i)}\n${readable(stored.slice(i + 1))}`;
}

/** Comment markers at line starts and doc-comment bookkeeping tags (`@since 3.0.0`, `@category Array`). */
const DECORATION = /^[ \t]*(\/\*+|\*+\/|\*(?!\*)|\/\/+|#+(?=\s))[ \t]?/;
const BOOKKEEPING = /^@(static|memberOf|since|category|private|alias|function|name|kind|type|example|see|license|author|module|namespace|ignore)\b.*$/;

/**
 * The passage as prose for the model: comment markers and bookkeeping tags dropped, blank runs squeezed. The model's
 * input is short (128 tokens for the bundled encoder), so decoration would push the words that carry meaning out.
 */
function readable(text: string): string {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw;
    for (let m = DECORATION.exec(line); m && m[0] !== ''; m = DECORATION.exec(line)) line = line.slice(m[0].length);
    line = line.replace(BOOKKEEPING, '').trimEnd();
    if (line.trim() === '' && (out.length === 0 || out[out.length - 1] === '')) continue;
    out.push(line.trim() === '' ? '' : line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.join('\n');
}

/** A context line made of parts (outermost first), without separators, kept within `maxChars` from the innermost. */
export function contextLine(parts: readonly string[], maxChars: number): string {
  const clean = parts.map((p) => p.split(CONTEXT_SEPARATOR).join(' ').replace(/\s+/g, ' ').trim()).filter((p) => p !== '');
  let out = '';
  for (let i = clean.length - 1; i >= 0; i--) {
    const next = out === '' ? clean[i]! : `${clean[i]} > ${out}`;
    if (next.length > maxChars) return out === '' ? clean[i]!.slice(0, maxChars) : out;
    out = next;
  }
  return out;
}
