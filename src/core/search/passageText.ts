/**
 * The stored form of a passage: its context (the document's title and heading path, or the enclosing code
 * declaration) and its text, in one string. The context is embedded and indexed for BM25 with the passage but never
 * shown as passage text; the hash of the stored form keys the vector cache, so the same text under another heading is
 * a different passage, and the same text under the same heading in two files is one.
 *
 *   stored = context + CONTEXT_SEPARATOR + text      (or just `text` when there is no context)
 */

/** ASCII record separator: never part of a context, and rare in text (a text holding it is always stored with one). */
export const CONTEXT_SEPARATOR = '\u001e';

export function storedPassage(context: string, text: string): string {
  return context !== '' || text.includes(CONTEXT_SEPARATOR) ? `${context}${CONTEXT_SEPARATOR}${text}` : text;
}

/** The passage text as in the document. */
export function shownText(stored: string): string {
  const i = stored.indexOf(CONTEXT_SEPARATOR);
  return i < 0 ? stored : stored.slice(i + 1);
}

/** What the model reads: the context on a line of its own above the text. */
export function modelInput(stored: string): string {
  const i = stored.indexOf(CONTEXT_SEPARATOR);
  if (i < 0) return stored;
  return i === 0 ? stored.slice(1) : `${stored.slice(0, i)}\n${stored.slice(i + 1)}`;
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
