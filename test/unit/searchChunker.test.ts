import * as assert from 'node:assert/strict';
import { chunkDocument, chunkerKey, documentKind, estimateTokens, type ChunkerOptions } from '../../src/core/search/chunker';
import { contextLine, forEachPassageTerm, modelInput, shownText, storedPassage } from '../../src/core/search/passageText';
import type { Chunk } from '../../src/core/search/types';

const lines = (c: Chunk): [number, number] => [c.startLine, c.endLine];
const chunk = (relPath: string, text: string, options: ChunkerOptions, extra: object = {}): Chunk[] =>
  chunkDocument({ uri: `mem:///${relPath}`, relPath, text, ...extra }, options);
const words = (n: number, word = 'lorem'): string => Array.from({ length: n }, () => word).join(' ');

/** Every chunk's text is exactly the document's text in its range, and fits the limit. */
function assertWellFormed(doc: string, chunks: Chunk[], limitTokens: number, count: (t: string) => number = estimateTokens): void {
  const docLines = doc.split(/\r?\n/);
  for (const c of chunks) {
    assert.equal(c.text, doc.slice(c.startOffset, c.endOffset));
    assert.equal(c.startCharacter <= docLines[c.startLine]!.length, true);
    assert.equal(c.endCharacter <= docLines[c.endLine]!.length, true);
    assert.ok(count(c.text) <= limitTokens, `chunk of ${count(c.text)} tokens > ${limitTokens}: ${JSON.stringify(c.text.slice(0, 60))}`);
    assert.match(c.hash, /^[0-9a-f]{32}$/);
    assert.notEqual(c.text.trim(), '');
  }
}

describe('search: chunker', () => {
  it('guesses the document kind from the language id or the file name', () => {
    assert.equal(documentKind('docs/guide.md'), 'markdown');
    assert.equal(documentKind('notes.txt'), 'text');
    assert.equal(documentKind('LICENSE'), 'text');
    assert.equal(documentKind('src/a.ts'), 'code');
    assert.equal(documentKind('x.py', 'markdown'), 'markdown');
    assert.equal(documentKind('Makefile.am', 'plaintext'), 'text');
  });

  it('Markdown: one chunk per section, heading kept with its paragraph, fenced code kept whole', () => {
    const doc = [
      '# Guide', // 0
      '', // 1
      'Intro paragraph about the tool.', // 2
      '', // 3
      '## Install', // 4
      '', // 5
      'Run the installer.', // 6
      '', // 7
      '```sh', // 8
      'npm ci', // 9
      '', // 10
      '# not a heading inside a fence', // 11
      '```', // 12
      '', // 13
      'Licence terms', // 14
      '=============', // 15
      'You may copy this file.', // 16
    ].join('\n');
    const chunks = chunk('guide.md', doc, { maxTokens: 512, minTokens: 0 });
    assert.deepEqual(chunks.map(lines), [
      [0, 2],
      [4, 12],
      [14, 16],
    ]);
    assert.equal(chunks[1]!.text, doc.split('\n').slice(4, 13).join('\n'));
    assert.equal(chunks[2]!.endCharacter, 'You may copy this file.'.length);
    assertWellFormed(doc, chunks, 510);
  });

  it('Markdown: small sections merge up to the target; a long section splits at paragraphs', () => {
    const doc = ['# A', 'one two', '# B', 'three four', '', `${words(30)}.`, '', `${words(30, 'ipsum')}.`].join('\n');
    // minTokens 8: "# A one two" (≈4 tokens) does not force a break before "# B". Each 30-word paragraph (≈61
    // tokens) is over the target but within the limit: its own chunk.
    const merged = chunk('x.md', doc, { maxTokens: 200, targetTokens: 40, minTokens: 8 });
    assert.deepEqual(merged.map(lines), [
      [0, 3],
      [5, 5],
      [7, 7],
    ]);
    assertWellFormed(doc, merged, 198);
    // With no minimum, every heading starts a chunk.
    assert.deepEqual(chunk('x.md', doc, { maxTokens: 200, targetTokens: 40, minTokens: 0 }).map(lines).slice(0, 2), [
      [0, 1],
      [2, 3],
    ]);
  });

  it('plain text: paragraphs packed up to the target, CRLF line ends preserved in the text', () => {
    const doc = ['First paragraph line one', 'line two', '', 'Second paragraph', '', '', words(20)].join('\r\n');
    // Estimated tokens: paragraph 1 ≈ 9, paragraph 2 ≈ 5, the last ≈ 40.
    const chunks = chunk('notes.txt', doc, { maxTokens: 100, targetTokens: 16 });
    assert.deepEqual(chunks.map(lines), [
      [0, 3],
      [6, 6],
    ]);
    assert.equal(chunks[0]!.text, 'First paragraph line one\r\nline two\r\n\r\nSecond paragraph');
    assertWellFormed(doc, chunks, 98);
  });

  const ts = [
    "import { a } from './a';", // 0
    "import { b } from './b';", // 1
    '', // 2
    '/** Retries an upload. */', // 3
    'export async function retryUpload(file: string): Promise<void> {', // 4
    '  for (let i = 0; i < 3; i++) {', // 5
    '    await a(file);', // 6
    '', // 7
    '    await b(file);', // 8
    '  }', // 9
    '}', // 10
    'export class Uploader {', // 11
    '  start(): void {', // 12
    '    a();', // 13
    '  }', // 14
    '', // 15
    '  stop(): void {', // 16
    '    b();', // 17
    '  }', // 18
    '}', // 19
  ].join('\n');

  it('code without symbols: top-level declarations with their doc comments, blank lines inside bodies kept', () => {
    // Estimated tokens: imports 24, retryUpload with its comment 67, Uploader 32.
    const chunks = chunk('upload.ts', ts, { maxTokens: 512, targetTokens: 70 });
    assert.deepEqual(chunks.map(lines), [
      [0, 1],
      [3, 10],
      [11, 19],
    ]);
    assert.ok(chunks[1]!.text.startsWith('/** Retries an upload. */\nexport async function retryUpload'));
  });

  it('code with symbols: symbol ranges (with comments above); an oversized class splits at its methods', () => {
    const symbols = [
      { name: 'retryUpload', startLine: 4, endLine: 10 },
      {
        name: 'Uploader',
        startLine: 11,
        endLine: 19,
        children: [
          { name: 'start', startLine: 12, endLine: 14 },
          { name: 'stop', startLine: 16, endLine: 18 },
        ],
      },
    ];
    const whole = chunk('upload.ts', ts, { maxTokens: 512, targetTokens: 70 }, { symbols });
    assert.deepEqual(whole.map(lines), [
      [0, 1],
      [3, 10],
      [11, 19],
    ]);
    // Limit 30 tokens: the class (32) is cut at its methods (12 and 11); with target 20 its header line (8) joins the
    // first, the closing brace the last.
    const split = chunk('upload.ts', ts, { maxTokens: 32, targetTokens: 20, overlapLines: 0 }, { symbols });
    const classChunks = split.filter((c) => c.startLine >= 11);
    assert.deepEqual(classChunks.map(lines), [
      [11, 14],
      [16, 19],
    ]);
    assertWellFormed(ts, split, 30);
  });

  it('line windows with overlap for a long block, character windows for a minified line; all within the limit', () => {
    const body = Array.from({ length: 40 }, (_, i) => `  x${i} = compute(x${i - 1}, ${i});`).join('\n');
    const doc = `function big() {\n${body}\n}\n${'a=1;'.repeat(400)}`;
    const limit = 80; // windows of ≈ 6 lines of ≈ 12 tokens
    const chunks = chunk('big.js', doc, { maxTokens: limit + 2, targetTokens: limit, overlapLines: 2 });
    assertWellFormed(doc, chunks, limit);
    const windows = chunks.filter((c) => c.startLine <= 41);
    for (let i = 1; i < windows.length; i++) {
      assert.equal(windows[i]!.startLine, windows[i - 1]!.endLine - 1, 'consecutive windows overlap by 2 lines');
    }
    const minified = chunks.filter((c) => c.startLine === 42);
    assert.ok(minified.length > 5);
    assert.equal(minified.map((c) => c.text).join(''), 'a=1;'.repeat(400));
    assert.equal(minified[0]!.startCharacter, 0);
    assert.equal(minified.at(-1)!.endCharacter, 1600);
  });

  it('uses the caller’s token counter and reports the chunking identity', () => {
    const count = (t: string): number => t.split(/\s+/).filter(Boolean).length;
    const doc = words(100);
    const chunks = chunk('a.txt', doc, { maxTokens: 27, countTokens: count });
    assertWellFormed(doc, chunks, 25, count);
    assert.equal(chunks.length, 4);
    assert.notEqual(chunkerKey({ maxTokens: 27, countTokens: count }), chunkerKey({ maxTokens: 27 }));
    assert.notEqual(chunkerKey({ maxTokens: 128 }), chunkerKey({ maxTokens: 512 }));
  });

  it('identical text gives an identical hash; blank documents give no chunks', () => {
    const a = chunk('a.txt', 'same text', { maxTokens: 64 });
    const b = chunk('b.txt', '\n\nsame text\n', { maxTokens: 64 });
    assert.equal(a[0]!.hash, b[0]!.hash);
    assert.equal(b[0]!.startLine, 2);
    assert.deepEqual(chunk('c.md', '\n  \n', { maxTokens: 64 }), []);
  });

  it('gives each passage its context: Markdown heading path, enclosing code declarations, none for plain text', () => {
    const md = ['# Pools', '', 'Intro.', '', '## Options', '', '```js', '# not a heading', '```', '', '### Timeouts', '', words(30, 'wait')].join('\n');
    const mdChunks = chunk('docs/pool.md', md, { maxTokens: 200, targetTokens: 12, minTokens: 0 });
    const timeouts = mdChunks.find((c) => c.text.startsWith('### Timeouts'))!;
    assert.equal(timeouts.context, 'Pools > Options', 'ancestors only: the passage holds its own heading');
    assert.equal(mdChunks[0]!.context, '');
    const code = ['export class Uploader {', '  async retry(file: string): Promise<void> {', ...Array.from({ length: 30 }, (_, i) => `    await send(file, ${i});`), '  }', '}'].join('\n');
    const inner = chunk('src/up.ts', code, { maxTokens: 200, targetTokens: 40 }).filter((c) => c.startLine > 2);
    assert.ok(inner.length > 0);
    assert.equal(inner[0]!.context, 'export class Uploader > async retry(file: string): Promise<void>');
    assert.equal(chunk('a.txt', 'plain words', { maxTokens: 40 })[0]!.context, '');
    // A doc comment cut from its function names the function; the function names the comment's first sentence.
    const documented = ['/**', ' * Creates a duplicate-free version of an array. Only the first one is kept.', ...Array.from({ length: 20 }, (_, i) => ` * @param {Array} a${i} The array number ${i}.`), ' */', 'function uniq(array) {', '  return base(array);', '}'].join('\n');
    const parts = chunk('uniq.js', documented, { maxTokens: 128 });
    assert.ok(parts.length >= 2);
    assert.equal(parts[0]!.context, 'function uniq(array)');
    assert.equal(parts.at(-1)!.context, 'Creates a duplicate-free version of an array.');
  });

  it('stores the context with the passage, shows only the passage, and gives the model both', () => {
    const stored = storedPassage('Pools > Options', 'Set the timeout.');
    assert.equal(shownText(stored), 'Set the timeout.');
    assert.equal(modelInput(stored), 'Pools > Options\nSet the timeout.');
    assert.equal(storedPassage('', 'plain'), 'plain');
    assert.equal(
      modelInput(storedPassage('function uniq(array)', '/**\n * Creates a duplicate-free array.\n *\n * @since 0.1.0\n * @category Array\n * @param {Array} array The array.\n */')),
      'function uniq(array)\nCreates a duplicate-free array.\n\n@param {Array} array The array.',
      'comment markers and bookkeeping tags are left out of what the model reads',
    );
    const terms: string[] = [];
    forEachPassageTerm(storedPassage('Pools', 'pool options'), (t) => terms.push(t));
    assert.deepEqual(terms, ['pool', 'pool', 'pool', 'option'], 'context terms count twice in BM25');
    assert.equal(shownText(storedPassage('', 'odd \u001e text')), 'odd \u001e text', 'a separator inside the text is never mistaken for one');
    assert.equal(contextLine(['Title', 'Section', 'A long subsection name'], 32), 'Section > A long subsection name', 'the innermost parts are kept');
    const a = chunk('a.md', '# A\n\nintro\n\n## B\n\nsame text', { maxTokens: 64, targetTokens: 4, minTokens: 0 });
    const b = chunk('b.md', '# A\n\nother\n\n## C\n\nsame text', { maxTokens: 64, targetTokens: 4, minTokens: 0 });
    assert.notEqual(a.at(-1)!.hash, b.at(-1)!.hash, 'the same text under another heading is another passage');
  });
});
