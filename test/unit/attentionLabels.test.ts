import * as assert from 'node:assert/strict';
import type { TokenSpan } from '../../src/protocol/attention';
import { shownTokens } from '../../webview-ui/src/attention/tokenLabels';

const token = (text: string, start: number, end: number, special = false): TokenSpan => ({ text, start, end, special });

describe('attention token labels', () => {
  it('shows whitespace as visible symbols and drops tokenizer syntax', () => {
    const shown = shownTokens([token('\n\t', 0, 2), token(' ', 2, 3), token('▁word', 3, 7), token('\r\n', 7, 9), token('▁', 9, 9)]);
    assert.deepEqual(shown.map((t) => t.text), ['↵⇥', '·', 'word', '↵', '·']);
  });

  it('marks pieces inside a word, not word starts, punctuation or pieces after whitespace', () => {
    // "Attention maps.\nReading" as the bundled encoder cuts it, with surfaces from the source text.
    const shown = shownTokens([token('At', 0, 2), token('tention', 2, 9), token('map', 10, 13), token('s', 13, 14), token('.', 14, 15), token('\n', 15, 16), token('Re', 16, 18), token('ading', 18, 23)]);
    assert.deepEqual(shown.map((t) => Boolean(t.continues)), [false, true, false, true, false, false, false, true]);
  });

  it('keeps special tokens as they are and treats raw WordPiece continuations as pieces inside a word', () => {
    const shown = shownTokens([token('[CLS]', 0, 0, true), token('jump', 0, 4), token('##s', 4, 5), token('[SEP]', 5, 5, true)]);
    assert.deepEqual(shown.map((t) => [t.text, Boolean(t.continues)]), [['[CLS]', false], ['jump', false], ['s', true], ['[SEP]', false]]);
  });
});
