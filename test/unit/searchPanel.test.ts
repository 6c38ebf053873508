import * as assert from 'node:assert/strict';
import { isHostToSearchView, isIndexState, isSearchViewMessage, MAX_CONTEXT_CHARS, MAX_QUERY_CHARS, type SearchHit } from '../../src/protocol/search';
import { centredWindow, groupByFile, lineRange, preview, scoreText, whyText } from '../../webview-ui/src/search/format';

function hit(over: Partial<SearchHit> & { text: string }): SearchHit {
  return {
    relPath: 'docs/a.md',
    startLine: 10,
    startCharacter: 0,
    endLine: 10 + over.text.split('\n').length - 1,
    endCharacter: over.text.split('\n').at(-1)!.length,
    score: 0.03,
    unsaved: false,
    why: { matchedTerms: [], matches: [] },
    ...over,
  };
}

describe('search panel: protocol guards', () => {
  it('accept the webview’s messages only in their exact shape', () => {
    assert.ok(isSearchViewMessage({ type: 'ready' }));
    assert.ok(isSearchViewMessage({ type: 'search', requestId: 3, query: 'retry uploads', mode: 'vector', k: 30 }));
    assert.ok(isSearchViewMessage({ type: 'open', requestId: 3, index: 0, preserveFocus: false }));
    assert.ok(isSearchViewMessage({ type: 'cancelSearch', requestId: 4 }));
    for (const bad of [
      null,
      'ready',
      { type: 'ready', extra: 1 },
      { type: 'search', requestId: 3, query: 'x', mode: 'fuzzy', k: 30 },
      { type: 'search', requestId: -1, query: 'x', mode: 'hybrid', k: 30 },
      { type: 'search', requestId: 1.5, query: 'x', mode: 'hybrid', k: 30 },
      { type: 'search', requestId: 1, query: 'x'.repeat(MAX_QUERY_CHARS + 1), mode: 'hybrid', k: 30 },
      { type: 'search', requestId: 1, query: 'x', mode: 'hybrid', k: 0 },
      { type: 'search', requestId: 1, query: 'x', mode: 'hybrid', k: 1000 },
      { type: 'open', requestId: 1, index: 0 },
      { type: 'open', requestId: 1, index: 0, preserveFocus: 'no' },
      { type: 'open', requestId: 1, index: 0, preserveFocus: false, uri: 'file:///etc/passwd' },
      { type: 'runCommand', command: 'workbench.action.quit' },
    ]) {
      assert.ok(!isSearchViewMessage(bad), JSON.stringify(bad));
    }
  });

  it('validate the host’s results and index states in the webview', () => {
    const h = hit({ text: 'retry the upload', why: { matchedTerms: ['upload'], matches: [{ start: 10, end: 16 }], lexicalRank: 1, vectorRank: 2, similarity: 0.5 } });
    assert.ok(isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [h], elapsedMs: 3 }));
    assert.ok(isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [h], elapsedMs: 3, unsavedPending: 2 }));
    assert.ok(isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [{ ...h, why: { ...h.why, weakMatch: true } }], elapsedMs: 3 }));
    assert.ok(!isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [{ ...h, why: { ...h.why, weakMatch: 'yes' } }], elapsedMs: 3 }), 'weakMatch is a boolean');
    assert.ok(!isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [h], elapsedMs: 3, unsavedPending: -1 }), 'a negative count');
    assert.ok(!isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [h], elapsedMs: 3, unsavedPending: 'some' }));
    assert.ok(!isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [{ ...h, why: { ...h.why, matches: [{ start: 10, end: 99 }] } }], elapsedMs: 3 }), 'a match outside the text');
    assert.ok(!isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [{ ...h, startLine: -1 }], elapsedMs: 3 }));
    assert.ok(isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [{ ...h, context: 'class Store > purge()' }], elapsedMs: 3 }));
    assert.ok(!isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [{ ...h, context: 'x'.repeat(MAX_CONTEXT_CHARS + 1) }], elapsedMs: 3 }), 'a context past its cap');
    assert.ok(!isHostToSearchView({ type: 'results', requestId: 1, query: 'q', mode: 'hybrid', hits: [{ ...h, context: 7 }], elapsedMs: 3 }), 'a context that is not text');
    assert.ok(isIndexState({ kind: 'indexing', model: 'm', phase: 'indexing', filesDone: 3, filesTotal: 9, chunksEmbedded: 40, percent: 33 }));
    assert.ok(!isIndexState({ kind: 'indexing', model: 'm', phase: 'indexing', filesDone: 3, filesTotal: 9, chunksEmbedded: 40, percent: 133 }));
    assert.ok(isIndexState({ kind: 'ready', model: 'm', files: 1, chunks: 2, skipped: { tooLarge: 0, binary: 1, unreadable: 0, special: 0 }, partial: false }));
    assert.ok(!isIndexState({ kind: 'ready', model: 'm', files: 1, chunks: 2, skipped: {}, partial: false }));
    assert.ok(isHostToSearchView({ type: 'indexState', state: { kind: 'notIndexed', reason: 'model changed' } }));
    assert.ok(!isHostToSearchView({ type: 'indexState', state: { kind: 'busy' } }));
  });
});

describe('search panel: grouping, previews and explanations', () => {
  it('groups hits by file in the order of each file’s best hit, keeping their answer indices', () => {
    const hits = [hit({ relPath: 'b.md', text: '1' }), hit({ relPath: 'a.md', text: '2' }), hit({ relPath: 'b.md', text: '3' })];
    assert.deepEqual(
      groupByFile(hits).map((g) => [g.relPath, g.hits.map((x) => x.index)]),
      [
        ['b.md', [0, 2]],
        ['a.md', [1]],
      ],
    );
  });

  it('centres the preview on the lines holding query terms', () => {
    assert.equal(centredWindow([12], 20, 8), 8, 'one matched line: in the middle of the window');
    assert.equal(centredWindow([0], 20, 8), 0, 'near the start: the window cannot begin before the passage');
    assert.equal(centredWindow([19], 20, 8), 12, 'near the end: the window ends with the passage');
    assert.equal(centredWindow([2, 3, 15], 20, 8), 0, 'the window holding the most matched lines wins over a lone one');
    assert.equal(centredWindow([10, 13], 20, 8), 8, 'two matched lines: both, centred');
    assert.equal(centredWindow([4], 3, 8), 0, 'a passage shorter than the window');
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const at = text.indexOf('line 20');
    const p = preview(hit({ text, why: { matchedTerms: ['x'], matches: [{ start: at, end: at + 4 }] } }), 8);
    assert.equal(p.firstLine, 10 + 16, 'lines 16–23 around the match on line 20');
    assert.equal(p.hiddenBefore, 16);
    assert.equal(p.hiddenAfter, 6);
  });

  it('previews around the matched lines, marks every term occurrence, and counts hidden lines', () => {
    const text = ['# Title', '', 'intro line', 'more intro', '', 'we retry uploads', 'then retry again', 'line 8', 'line 9', 'line 10', 'line 11', 'line 12', 'line 13', '', ''].join('\n');
    const at = (s: string, n = 0): number => {
      let i = -1;
      for (let k = 0; k <= n; k++) i = text.indexOf(s, i + 1);
      return i;
    };
    const h = hit({ text, why: { matchedTerms: ['retri', 'upload'], matches: [{ start: at('retry'), end: at('retry') + 5 }, { start: at('uploads'), end: at('uploads') + 7 }, { start: at('retry', 1), end: at('retry', 1) + 5 }] } });
    const p = preview(h, 4);
    // Line 5 (0-based 4) is blank, so the preview starts at the matched line itself.
    assert.equal(p.firstLine, 10 + 5);
    assert.deepEqual(p.lines.map((segments) => segments.map((s) => (s.mark ? `[${s.text}]` : s.text)).join('')), ['we [retry] [uploads]', 'then [retry] again', 'line 8', 'line 9']);
    assert.equal(p.hiddenBefore, 5);
    assert.equal(p.hiddenAfter, 4, 'trailing blank lines are not counted');

    const plain = preview(hit({ text: '\n\nfirst\nsecond' }), 8);
    assert.equal(plain.firstLine, 12, 'leading blank lines are skipped');
    assert.deepEqual(plain.lines.map((l) => l.map((s) => s.text).join('')), ['first', 'second']);
    assert.equal(plain.hiddenAfter, 0);
  });

  it('drops the indentation the preview lines share, keeping the relative indents and the marks', () => {
    const text = ['        if (failed) {', '          retry(upload);', '', '        }'].join('\n');
    const start = text.indexOf('retry');
    const p = preview(hit({ text, why: { matchedTerms: ['retri'], matches: [{ start, end: start + 5 }] } }));
    assert.deepEqual(p.lines.map((l) => l.map((s) => (s.mark ? `[${s.text}]` : s.text)).join('')), ['if (failed) {', '  [retry](upload);', '', '}']);
    const tabs = preview(hit({ text: '\t\tone\n\t\t\ttwo' }));
    assert.deepEqual(tabs.lines.map((l) => l.map((s) => s.text).join('')), ['one', '\ttwo']);
    // A passage that starts after its first line's indentation (a method's doc comment in a class): the first line
    // says nothing of the indent, the others lose the two spaces they share.
    const method = preview(hit({ startCharacter: 2, text: ['/** Drops old entries. */', '  purge(): void {', '    this.items.clear();', '  }'].join('\n') }));
    assert.deepEqual(method.lines.map((l) => l.map((s) => s.text).join('')), ['/** Drops old entries. */', 'purge(): void {', '  this.items.clear();', '}']);
  });

  it('clips a term that spans lines to each line, and keeps CRLF text clean', () => {
    const text = 'alpha beta\r\ngamma delta';
    const p = preview(hit({ text, why: { matchedTerms: ['x'], matches: [{ start: 6, end: 16 }] } }));
    assert.deepEqual(
      p.lines.map((l) => l.map((s) => (s.mark ? `[${s.text}]` : s.text)).join('')),
      ['alpha [beta]', '[gamm]a delta'],
    );
  });

  it('says why a hit matched and formats scores per mode', () => {
    assert.equal(
      whyText(hit({ text: 'x', why: { matchedTerms: ['retri', 'upload'], matches: [], lexicalRank: 2, lexicalScore: 3.14159, vectorRank: 1, similarity: 0.6123 } })),
      'meaning #1 · similarity 0.612 · words #2 (BM25 3.14) · terms: retri, upload',
    );
    assert.equal(whyText(hit({ text: 'x', why: { matchedTerms: [], matches: [], vectorRank: 4, similarity: 0.4 } })), 'meaning #4 · similarity 0.400 · no query words: matched by meaning');
    assert.equal(
      whyText(hit({ text: 'x', why: { matchedTerms: [], matches: [], vectorRank: 9, similarity: 0.11, weakMatch: true } })),
      'meaning #9 · similarity 0.110 · no query words: weak match',
      'under the model’s similarity floor a hit is not called a match by meaning',
    );
    assert.equal(scoreText(0.8512, 'hybrid'), 'score 0.851');
    assert.equal(scoreText(0.61234, 'vector'), 'cos 0.612');
    assert.equal(scoreText(7.5, 'lexical'), 'BM25 7.50');
    assert.equal(lineRange(hit({ text: 'a\nb\nc' })), '11–13');
    assert.equal(lineRange(hit({ text: 'one line' })), '11');
    assert.equal(lineRange({ ...hit({ text: 'a\n' }), endLine: 11, endCharacter: 0 }), '11', 'a range ending at a line start does not count that line');
  });
});
