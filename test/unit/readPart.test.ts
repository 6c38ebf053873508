import * as assert from 'node:assert/strict';
import { readPart } from '../../src/core/text/readPart';
import { describeReadPart, humanSize } from '../../src/protocol/attention';

describe('the part of a long input that is read', () => {
  it('keeps a text within the cap whole', () => {
    assert.deepEqual(readPart('one two', 7), { text: 'one two', chars: 7, totalChars: 7 });
    assert.equal(describeReadPart({ chars: 7, totalChars: 7 }), undefined);
  });

  it('cuts after the last whitespace before the cap, so the last word read is whole', () => {
    assert.deepEqual(readPart('one two three', 9), { text: 'one two ', chars: 8, totalChars: 13 });
    assert.deepEqual(readPart('one\ntwo three', 5), { text: 'one\n', chars: 4, totalChars: 13 });
  });

  it('cuts at the cap when no whitespace is near, never inside a surrogate pair', () => {
    const text = 'a'.repeat(4000) + '😀' + 'b'.repeat(10);
    assert.equal(readPart(text, 4001).chars, 4000);
    assert.equal(readPart('x'.repeat(5000), 4096).chars, 4096);
  });

  it('says what part was read in human units', () => {
    assert.equal(humanSize(900), '900 characters');
    assert.equal(humanSize(65_536), '64 KiB');
    assert.equal(humanSize(5_243_156), '5.0 MiB');
    assert.equal(describeReadPart({ chars: 65_530, totalChars: 5_243_156 }), 'first 64 KiB of 5.0 MiB');
  });
});
