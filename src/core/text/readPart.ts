/** The part of a long text that is read: its first `chars` UTF-16 units out of `totalChars`. */
export interface ReadPart {
  readonly text: string;
  readonly chars: number;
  readonly totalChars: number;
}

/** How far back from the cap a cut looks for whitespace before it gives up and cuts mid-word. */
const BOUNDARY_LOOKBACK = 1024;

/**
 * The first at most `cap` characters of `text`, cut after the last whitespace before the cap when there is one
 * nearby (so the last word read is whole), and never between the halves of a surrogate pair.
 *
 * @example
 *   readPart('one two three', 9) // { text: 'one two ', chars: 8, totalChars: 13 }
 */
export function readPart(text: string, cap: number): ReadPart {
  const totalChars = text.length;
  if (totalChars <= cap) return { text, chars: totalChars, totalChars };
  let end = cap;
  for (let i = cap; i > Math.max(0, cap - BOUNDARY_LOOKBACK); i--) {
    if (/\s/.test(text[i - 1]!)) {
      end = i;
      break;
    }
  }
  const code = text.charCodeAt(end - 1);
  if (end === cap && code >= 0xd800 && code <= 0xdbff) end--;
  return { text: text.slice(0, end), chars: end, totalChars };
}
