import * as assert from 'node:assert/strict';
import { alignTokens, type AlignmentOptions } from '../../src/core/text/tokenAlignment';

const bert: AlignmentOptions = {
  lowercase: true,
  stripAccents: true,
  specialTokens: new Set(['[CLS]', '[SEP]', '[PAD]', '[UNK]']),
  unknownToken: '[UNK]',
  continuationPrefix: '##',
};

function spans(text: string, tokens: string[], options = bert): string[] {
  return alignTokens(text, tokens, options).map((s) => `${s.text}:${text.slice(s.start, s.end)}@${s.start}`);
}

describe('token offset alignment', () => {
  it('maps word pieces back to the original characters', () => {
    assert.deepEqual(spans('The unbelievable cat.', ['[CLS]', 'the', 'un', '##believ', '##able', 'cat', '.', '[SEP]']), [
      '[CLS]:@0', 'the:The@0', 'un:un@4', '##believ:believ@6', '##able:able@12', 'cat:cat@17', '.:.@20', '[SEP]:@21',
    ]);
  });

  it('follows lowercasing and accent stripping to the accented source characters', () => {
    assert.deepEqual(spans('Café RÉSUMÉ, naïve!', ['ca', '##fe', 'res', '##ume', ',', 'na', '##ive', '!']), [
      'ca:Ca@0', '##fe:fé@2', 'res:RÉS@5', '##ume:UMÉ@8', ',:,@11', 'na:na@13', '##ive:ïve@15', '!:!@18',
    ]);
  });

  it('gives [UNK] the whole word it replaced', () => {
    assert.deepEqual(spans('in 東京 today, x', ['in', '[UNK]', '[UNK]', 'today', ',', '[UNK]']), [
      'in:in@0', '[UNK]:東@3', '[UNK]:京@4', 'today:today@6', ',:,@11', '[UNK]:x@13',
    ]);
  });

  it('handles text with decomposed accents, tabs and newlines', () => {
    const text = 'A\tcafe\u0301\nline';
    assert.deepEqual(spans(text, ['a', 'cafe', 'line']), ['a:A@0', 'cafe:cafe\u0301@2', 'line:line@8']);
  });

  it('keeps case for cased models and gives unmatched tokens an empty range instead of a wrong one', () => {
    const cased = { ...bert, lowercase: false, stripAccents: false };
    assert.deepEqual(spans('Hello World', ['Hello', 'zzz', 'World'], cased), ['Hello:Hello@0', 'zzz:@6', 'World:World@6']);
  });

  it('understands SentencePiece word markers', () => {
    const sp = { lowercase: false, stripAccents: false, specialTokens: new Set(['<s>', '</s>']) };
    assert.deepEqual(spans('Hi there', ['<s>', '\u2581Hi', '\u2581the', 're', '</s>'], sp), ['<s>:@0', '\u2581Hi:Hi@0', '\u2581the:the@3', 're:re@6', '</s>:@8']);
  });
});
