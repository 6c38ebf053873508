import type { TokenSpan } from '../../../src/protocol/attention';

/** A token as the view shows it: `text` is its label, `continues` marks a piece inside a word (not its start). */
export interface ShownToken extends TokenSpan {
  readonly continues?: boolean;
}

const WHITESPACE_SYMBOLS: Record<string, string> = { '\r\n': '↵', '\n': '↵', '\r': '↵', '\t': '⇥' };
const WORD_EDGE = /[\p{L}\p{N}\p{M}_]/u;

/**
 * Labels people read: the token's own text from the source (the host sends surfaces), tokenizer syntax ('▁', '##')
 * dropped, whitespace as visible symbols (↵ line break, ⇥ tab, · space). A piece that carries on the word before it
 * (no gap, letters on both sides) is marked `continues`, so the view can join it to its word.
 */
export function shownTokens(tokens: readonly TokenSpan[]): ShownToken[] {
  return tokens.map((t, i) => {
    if (t.special) return t;
    const raw = t.text.replace(/^##|^\u2581+/u, '');
    const previous = tokens[i - 1];
    const continues =
      t.text.startsWith('##') ||
      (previous !== undefined && !previous.special && previous.end === t.start && WORD_EDGE.test(previous.text.at(-1) ?? '') && WORD_EDGE.test(raw[0] ?? ''));
    return { ...t, text: visibleWhitespace(raw), continues };
  });
}

function visibleWhitespace(text: string): string {
  const shown = text.replace(/\r\n|[\n\r\t]/g, (c) => WHITESPACE_SYMBOLS[c]!).replace(/\s/gu, '·');
  return shown === '' ? '·' : shown;
}
