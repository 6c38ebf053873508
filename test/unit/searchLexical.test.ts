import * as assert from 'node:assert/strict';
import { Bm25Index } from '../../src/core/search/bm25';
import { weightedScoreFusion } from '../../src/core/search/fusion';
import { queryTerms, stem, tokenize } from '../../src/core/search/lexical';
import { TopK } from '../../src/core/search/topK';

const close = (a: number, b: number, eps = 1e-6): void => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);

describe('search: lexical tokeniser', () => {
  it('splits identifiers at camelCase and snake_case, lowercases, keeps spans, drops stop words', () => {
    const text = 'parseHTML5Doc retryFailedUploads snake_case_name XMLHttpRequest the I/O utf8Decoder';
    const tokens = tokenize(text);
    assert.deepEqual(
      tokens.map((t) => t.term),
      ['parse', 'html5', 'doc', 'retry', 'fail', 'upload', 'snake', 'case', 'name', 'xml', 'http', 'request', 'utf8', 'decoder'],
    );
    for (const t of tokens) assert.equal(text.slice(t.start, t.end).toLowerCase().startsWith(t.term.slice(0, 3)), true, t.term);
    assert.equal(text.slice(tokens[4]!.start, tokens[4]!.end), 'Failed');
  });

  it('stems plurals and -ed/-ing conservatively', () => {
    const cases: [string, string][] = [
      ['retries', 'retry'],
      ['retried', 'retry'],
      ['retrying', 'retry'],
      ['uploads', 'upload'],
      ['uploaded', 'upload'],
      ['classes', 'class'],
      ['indexes', 'index'],
      ['stopped', 'stop'],
      ['called', 'call'],
      ['status', 'status'],
      ['analysis', 'analysis'],
      ['process', 'process'],
      ['utf8', 'utf8'],
    ];
    for (const [word, expected] of cases) assert.equal(stem(word), expected, word);
    assert.deepEqual(queryTerms('Where do we retry failed uploads? Retries!'), ['retry', 'fail', 'upload']);
  });
});

describe('search: BM25', () => {
  // d0 "apple banana apple" (|d|=3), d1 "banana cherry" (2), d2 "cherry cherry cherry date" (4); N=3, avgdl=3.
  // idf(apple) = ln(1 + 2.5/1.5), idf(cherry) = ln(1 + 1.5/2.5); k1 = 1.2, b = 0.75.
  //   d0: idf(apple)·2·2.2/(2 + 1.2·(0.25 + 0.75·3/3))  = 1.3486402
  //   d2: idf(cherry)·3·2.2/(3 + 1.2·(0.25 + 0.75·4/3)) = 0.6893387
  //   d1: idf(cherry)·1·2.2/(1 + 1.2·(0.25 + 0.75·2/3)) = 0.5442147
  function corpus(): Bm25Index {
    const bm = new Bm25Index();
    ['apple banana apple', 'banana cherry', 'cherry cherry cherry date'].forEach((t, i) => {
      bm.add(i, t);
      bm.setLive(i, true);
    });
    return bm;
  }

  it('scores match a hand-computed reference', () => {
    const bm = corpus();
    assert.equal(bm.averageLength, 3);
    const hits = bm.search(['apple', 'cherry'], 10);
    assert.deepEqual(hits.map((h) => h.doc), [0, 2, 1]);
    close(hits[0]!.score, 1.3486402);
    close(hits[1]!.score, 0.6893387);
    close(hits[2]!.score, 0.5442147);
    assert.deepEqual(bm.search(['apple', 'cherry'], 1).map((h) => h.doc), [0]);
    assert.deepEqual(bm.search(['durian'], 10), []);
  });

  it('dead documents leave N, df and avgdl', () => {
    const bm = corpus();
    bm.setLive(0, false);
    // N=2, avgdl=(2+4)/2=3, df(cherry)=2: idf = ln(1.2).
    const hits = bm.search(['apple', 'cherry'], 10);
    assert.deepEqual(hits.map((h) => h.doc), [2, 1]);
    close(hits[0]!.score, 0.2674049);
    close(hits[1]!.score, 0.2111092);
    bm.setLive(0, true);
    close(bm.search(['apple'], 1)[0]!.score, 1.3486402);
  });

  it('filters documents and keeps only the best k', () => {
    const bm = corpus();
    assert.deepEqual(bm.search(['cherry'], 10, (d) => d !== 2).map((h) => h.doc), [1]);
  });
});

describe('search: fusion and top-k', () => {
  it('weighted score fusion: normalised BM25 and cosine, exact similarity for lexical-only candidates', () => {
    const lexical = [
      { id: 1, score: 8 },
      { id: 2, score: 4 },
    ];
    const vector = [
      { id: 3, score: 0.9 },
      { id: 1, score: 0.5 },
      { id: 4, score: 0.1 },
    ];
    const fused = weightedScoreFusion(lexical, vector, 0.7, (id) => (id === 2 ? 0.3 : 0));
    // 1: .7·1 + .3·(.5−.1)/.8 = .85; 2: .7·.5 + .3·.25 = .425; 3: .3·1 = .3; 4: 0.
    assert.deepEqual(fused.map((f) => f.id), [1, 2, 3, 4]);
    close(fused[0]!.score, 0.85);
    close(fused[1]!.score, 0.425);
    close(fused[2]!.score, 0.3);
    assert.deepEqual(fused[0]!.ranks, [1, 2]);
    assert.deepEqual(fused[1]!.ranks, [2, undefined]);
    assert.deepEqual(weightedScoreFusion(lexical, vector, 1, () => 0).slice(0, 2).map((f) => f.id), [1, 2], 'weight 1: words alone');
    assert.deepEqual(weightedScoreFusion(lexical, vector, 0, () => 0)[0]!.id, 3, 'weight 0: meaning alone');
  });

  it('TopK keeps the k best, ties to the lower id', () => {
    const top = new TopK(3);
    [5, 1, 9, 3, 9, 7, 2].forEach((s, i) => top.push(i, s));
    assert.deepEqual(top.sorted().map((s) => [s.doc, s.score]), [
      [2, 9],
      [4, 9],
      [5, 7],
    ]);
  });
});
