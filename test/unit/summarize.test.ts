import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectSentences, summarizeExtractive, type EmbedFunction } from '../../src/core/summarize/extractive';
import { splitForModel, summarizeLong, type LongSummaryProgress, type PartRequest } from '../../src/core/summarize/longInput';
import { splitSentences } from '../../src/core/summarize/sentences';
import { HubDownloader } from '../../src/core/models/hubDownloader';
import { ModelResolver } from '../../src/core/models/modelResolver';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { fixtureModel, workerScript } from '../harness/paths';
import { threeTopicDocument as topicDocument } from '../harness/summaryFixtures';

// ---- fakes ---------------------------------------------------------------------------------------------------

const STOP = new Set('the a an of to in and is are was were it its on for with as at by from that this be has have had they their'.split(' '));

/** Deterministic bag-of-words embedder: content words hashed into 128 dims, L2-normalised. */
const fakeEmbed: EmbedFunction = async (texts) => {
  const dims = 128;
  const out = new Float32Array(texts.length * dims);
  texts.forEach((t, i) => {
    for (const w of t.toLowerCase().match(/\p{L}+/gu) ?? []) {
      if (STOP.has(w) || w.length < 3) continue;
      const stem = w.replace(/(ing|ed|es|s)$/u, '');
      let h = 2166136261;
      for (const c of stem) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
      out[i * dims + (h % dims)]! += 1;
    }
    let norm = 0;
    for (let d = 0; d < dims; d++) norm += out[i * dims + d]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dims; d++) out[i * dims + d]! /= norm;
  });
  return out;
};

/** Token counts: one per word or punctuation mark, plus one for the end-of-sequence token. */
const countWords = (texts: readonly string[]): number[] => texts.map((t) => (t.match(/\p{L}+|\p{N}+|[^\s\p{L}\p{N}]/gu) ?? []).length + 1);

/** Three topics, four sentences each, interleaved by paragraph. */
const TOPICS = {
  cooking: [
    'Boil the pasta in plenty of salted water until it is tender.',
    'A good tomato sauce needs garlic, olive oil and fresh basil.',
    'Grate the parmesan cheese over the pasta just before serving.',
    'Simmer the tomato sauce slowly so the garlic and basil flavour the pasta.',
  ],
  astronomy: [
    'Jupiter is the largest planet orbiting the Sun.',
    'Astronomers use telescopes to observe distant planets and galaxies.',
    'The planet Saturn is famous for its bright rings of ice.',
    'Telescopes in orbit observe galaxies and planets without clouds in the way.',
  ],
  football: [
    'The striker scored twice in the football final.',
    'Our goalkeeper saved a penalty in the last minute of the match.',
    'The football team trained hard before the championship match.',
    'The coach praised the striker and the goalkeeper after the final match.',
  ],
};

const threeTopicDocument = (): ReturnType<typeof topicDocument> => topicDocument(TOPICS);

// ---- sentences -----------------------------------------------------------------------------------------------

describe('summarize: sentence splitting', () => {
  const check = (text: string, expected: string[]): void => {
    const s = splitSentences(text);
    assert.deepEqual(s.map((x) => x.text), expected);
    for (const x of s) assert.equal(text.slice(x.start, x.end), x.text);
  };

  it('splits prose at . ! ? with ranges into the source', () => {
    check('It rained. Did it stop? Yes!  Then the sun came out.', ['It rained.', 'Did it stop?', 'Yes!', 'Then the sun came out.']);
    check('He said "Stop." Then he left.', ['He said "Stop."', 'Then he left.']);
  });

  it('keeps abbreviations, initials, decimals, versions and dotted code names inside sentences', () => {
    check('Dr. Smith met Mr. J. R. Jones at 3.30 p.m. on Friday. They talked.', ['Dr. Smith met Mr. J. R. Jones at 3.30 p.m. on Friday.', 'They talked.']);
    check('Pi is about 3.14159, e.g. in circles. Version 1.2.3 ships today.', ['Pi is about 3.14159, e.g. in circles.', 'Version 1.2.3 ships today.']);
    check('Call os.path.join() or fs.readFile. It returns a Promise.', ['Call os.path.join() or fs.readFile.', 'It returns a Promise.']);
    check('See Fig. 3 and No. 5 for details. The U.S. Army agreed.', ['See Fig. 3 and No. 5 for details.', 'The U.S. Army agreed.']);
    check('We bought apples, pears, etc. The rest waited.', ['We bought apples, pears, etc.', 'The rest waited.']);
    check('Wait... what happened? Nothing.', ['Wait... what happened?', 'Nothing.']);
  });

  it('treats Markdown headings, list items and code blocks as units of their own', () => {
    const text = '# Install guide\n\nRun the installer. Then reboot.\n\n- First item. It has two sentences.\n- Second item\n  continues here.\n1. Numbered step.\n\n```js\nconst x = 1. toString();\n```\n\n## Usage ##\nType a command.';
    const s = splitSentences(text);
    assert.deepEqual(
      s.map((x) => [x.kind, x.text]),
      [
        ['heading', 'Install guide'],
        ['sentence', 'Run the installer.'],
        ['sentence', 'Then reboot.'],
        ['listItem', 'First item.'],
        ['listItem', 'It has two sentences.'],
        ['listItem', 'Second item\n  continues here.'],
        ['listItem', 'Numbered step.'],
        ['code', '```js\nconst x = 1. toString();\n```'],
        ['heading', 'Usage'],
        ['sentence', 'Type a command.'],
      ],
    );
    for (const x of s) assert.equal(text.slice(x.start, x.end), x.text);
    assert.deepEqual(s.map((x) => x.section), [1, 1, 1, 1, 1, 1, 1, 1, 2, 2]);
    assert.equal(new Set(s.map((x) => x.block)).size, 8);
  });

  it('marks code-like lines as code and cuts over-long run-ons', () => {
    const s = splitSentences('if (a < b) { return x[i] = y; }');
    assert.equal(s[0]!.kind, 'code');
    const long = Array.from({ length: 50 }, (_, i) => `clause ${i} goes on`).join(', ');
    const parts = splitSentences(long, { maxSentenceChars: 100 });
    assert.ok(parts.length > 5);
    for (const p of parts) assert.ok(p.text.length <= 100, p.text);
  });
});

// ---- long inputs ---------------------------------------------------------------------------------------------

describe('summarize: long inputs', () => {
  const sections = Array.from({ length: 6 }, (_, k) =>
    [`## Section ${k + 1}`, ...Array.from({ length: 4 }, (_, p) => Array.from({ length: 5 }, (_, s) => `Section ${k + 1} paragraph ${p + 1} sentence ${s + 1} says something.`).join(' '))].join('\n\n'),
  );
  const doc = sections.join('\n\n');

  it('cuts on structure into parts that fit, in order, covering every sentence', async () => {
    const parts = await splitForModel(doc, 200, countWords);
    assert.ok(parts.length > 1);
    let last = -1;
    for (const p of parts) {
      assert.equal(doc.slice(p.start, p.end), p.text);
      assert.ok(p.start > last);
      last = p.end;
      assert.ok(countWords([p.text])[0]! <= 200, `part of ${countWords([p.text])[0]} tokens`);
    }
    for (const s of splitSentences(doc)) assert.ok(parts.some((p) => s.start >= p.start && s.end <= p.end), `sentence ${s.text} lost`);
    // A section (~180 tokens) fits in 200 but two do not: every part is one whole section, from its heading.
    assert.equal(parts.length, 6);
    for (const p of parts) assert.match(p.text, /^Section \d+\n\nSection \d+ paragraph 1 sentence 1 [^]*paragraph 4 sentence 5 says something\.$/);
  });

  it('cuts a section that does not fit at paragraphs, and a paragraph at sentences, and a sentence at words', async () => {
    const parts = await splitForModel(doc, 60, countWords);
    for (const p of parts) assert.ok(countWords([p.text])[0]! <= 60);
    const paragraphStarts = parts.filter((p) => /^Section \d+ paragraph \d+ sentence 1 /.test(p.text) || /^Section \d+$/.test(p.text.split('\n')[0]!)).length;
    assert.ok(paragraphStarts >= parts.length * 0.8, `${paragraphStarts} of ${parts.length} parts start at a paragraph`);
    const words = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const cut = await splitForModel(words, 50, countWords);
    assert.ok(cut.length >= 6);
    for (const p of cut) assert.ok(countWords([p.text])[0]! <= 50);
    assert.equal(cut.map((p) => p.text).join(' '), words);
  });

  it('summarises the parts, then the joined summaries, recursively, with progress', async () => {
    const calls: PartRequest[] = [];
    const progress: LongSummaryProgress[] = [];
    // Keeps the first 12 words: 24 parts' summaries need a second round at 100 tokens.
    const summarizePart = async (text: string, _signal: AbortSignal | undefined, request: PartRequest): Promise<string> => {
      calls.push(request);
      assert.ok(countWords([text])[0]! <= 100 || request.final, 'every non-final part fits');
      return (text.match(/\S+/g) ?? []).slice(0, 12).join(' ');
    };
    const r = await summarizeLong(doc, { maxInputTokens: 100, countTokens: countWords, summarizePart, onProgress: (p) => progress.push(p) });
    assert.ok(r.rounds.length >= 2, `${r.rounds.length} rounds`);
    assert.equal(r.truncated, false);
    assert.equal(calls.filter((c) => c.final).length, 1);
    assert.equal(calls.at(-1)!.final, true);
    assert.equal(r.text, r.rounds.at(-1)!.summaries.join('\n\n').match(/\S+/g)!.slice(0, 12).join(' '));
    assert.equal(r.rounds[0]!.summaries.length, r.rounds[0]!.parts.length);
    assert.equal(r.rounds[1]!.parts.map((p) => p.text).join('\n\n').length > 0, true);
    // Progress: per round, done goes 0..total in order; part summaries are reported.
    for (const round of new Set(progress.map((p) => p.round))) {
      const dones = progress.filter((p) => p.round === round).map((p) => p.done);
      assert.deepEqual(dones, [...dones].sort((a, b) => a - b));
    }
    assert.equal(progress.filter((p) => p.partSummary !== undefined).length, r.rounds.reduce((n, x) => n + x.parts.length, 0));
    assert.equal(progress.at(-1)!.message, 'Done');
  });

  it('calls the model once when the text fits, and not at all for an empty text', async () => {
    let calls = 0;
    const summarizePart = async (): Promise<string> => (calls++, ' short ');
    const r = await summarizeLong('One sentence only.', { maxInputTokens: 100, countTokens: countWords, summarizePart });
    assert.deepEqual([r.text, r.rounds.length, calls], ['short', 0, 1]);
    const empty = await summarizeLong('  \n ', { maxInputTokens: 100, countTokens: countWords, summarizePart });
    assert.deepEqual([empty.text, calls], ['', 1]);
  });

  it('stops when cancelled between parts, and when summaries do not shrink it ends with a truncated final call', async () => {
    const controller = new AbortController();
    let calls = 0;
    const slow = async (text: string): Promise<string> => {
      calls++;
      if (calls === 2) controller.abort();
      return text.slice(0, 20);
    };
    await assert.rejects(summarizeLong(doc, { maxInputTokens: 100, countTokens: countWords, summarizePart: slow, signal: controller.signal }), (e: unknown) => (e as Error).name === 'AbortError');
    assert.equal(calls, 2);
    const echo = async (text: string): Promise<string> => text;
    const r = await summarizeLong(doc, { maxInputTokens: 100, countTokens: countWords, summarizePart: echo });
    assert.equal(r.truncated, true);
    assert.equal(r.rounds.length, 1);
  });
});

// ---- extractive ----------------------------------------------------------------------------------------------

describe('summarize: extractive selection (deterministic embedder)', () => {
  it('a three-sentence summary of a three-topic document covers all three topics, in document order', async () => {
    const { text, topicOf } = threeTopicDocument();
    const r = await summarizeExtractive(text, fakeEmbed, { count: 3 });
    assert.equal(r.sentences.length, 3);
    assert.deepEqual(new Set(r.sentences.map((s) => topicOf(s.start))), new Set(['cooking', 'astronomy', 'football']));
    for (const s of r.sentences) assert.equal(text.slice(s.start, s.end), s.text);
    assert.deepEqual(r.sentences.map((s) => s.start), [...r.sentences.map((s) => s.start)].sort((a, b) => a - b));
    assert.deepEqual(new Set(r.sentences.map((s) => s.rank)), new Set([1, 2, 3]));
    assert.equal(r.totalSentences, 12);
    assert.equal(r.text, r.sentences.map((s) => s.text).join('\n'));
  });

  it('without the redundancy penalty it picks central sentences of the same topic (the penalty is what covers topics)', async () => {
    const { text, topicOf } = threeTopicDocument();
    const plain = await summarizeExtractive(text, fakeEmbed, { count: 3, redundancy: 0 });
    assert.ok(new Set(plain.sentences.map((s) => topicOf(s.start))).size < 3, plain.sentences.map((s) => s.text).join(' | '));
    const centroid = await summarizeExtractive(text, fakeEmbed, { count: 3, centrality: 'centroid' });
    assert.equal(new Set(centroid.sentences.map((s) => topicOf(s.start))).size, 3);
  });

  it('picks the most central sentence first and scores fall with each pick', () => {
    // Rows: 0..2 one cluster (0 at its centre), 3 and 4 another, 5 an outlier.
    const rows = [
      [1, 0, 0, 0, 0],
      [0.9, 0.43589, 0, 0, 0],
      [0.9, -0.43589, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0.95, 0.31225, 0],
      [0, 0, 0, 0, 1],
    ];
    const vectors = Float32Array.from(rows.flat());
    const picks = selectSentences(vectors, 5, { count: 3, redundancy: 0.5, centrality: 'pagerank' });
    assert.equal(picks[0]!.index, 0);
    assert.equal(picks[0]!.centrality, 1);
    assert.ok([3, 4].includes(picks[1]!.index), `second pick ${picks[1]!.index}`);
    assert.ok(picks[0]!.score > picks[1]!.score && picks[1]!.score >= picks[2]!.score);
  });

  it('honours maxChars, skips headings, code and short fragments, and handles tiny inputs', async () => {
    const { text } = threeTopicDocument();
    const r = await summarizeExtractive(text, fakeEmbed, { count: 5, maxChars: 120 });
    assert.ok(r.sentences.reduce((n, s) => n + s.text.length, 0) <= 120);
    const md = '# Pasta night\n\nOk.\n\nBoil the pasta in plenty of salted water until tender.\n\n```\nconst x = 1;\n```\n\nGrate cheese over the pasta before serving it warm.';
    const m = await summarizeExtractive(md, fakeEmbed, { count: 2 });
    assert.deepEqual(m.sentences.map((s) => s.kind), ['sentence', 'sentence']);
    assert.ok(m.sentences.every((s) => s.text.length > 20));
    assert.equal((await summarizeExtractive('', fakeEmbed)).sentences.length, 0);
    const one = await summarizeExtractive('Just one sentence here.', fakeEmbed, { count: 3 });
    assert.deepEqual(one.sentences.map((s) => s.text), ['Just one sentence here.']);
  });

  it('checks what the embedder returns and stops when cancelled', async () => {
    await assert.rejects(summarizeExtractive('One here. Two there.', async () => new Float32Array(5)), /returned 5 numbers for 2 sentences/);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(summarizeExtractive('One here. Two there.', fakeEmbed, { signal: controller.signal }), (e: unknown) => (e as Error).name === 'AbortError');
  });
});

describe('summarize: extractive through the model worker', function () {
  this.timeout(60_000);
  const client = new ModelWorkerClient({ workerScript });
  after(() => client.dispose());
  const embedWith = (model: LocalModel): EmbedFunction => async (texts, signal) =>
    (await client.request({ type: 'embed', model, texts }, signal ? { signal } : {})).vectors;

  it('runs end to end with the tiny BERT fixture (plumbing: ranges, order, count)', async () => {
    const { text } = threeTopicDocument();
    const model: LocalModel = { ref: 'tiny-bert', dir: fixtureModel('tiny-bert'), dtype: 'fp32' };
    const r = await summarizeExtractive(text, embedWith(model), { count: 3 });
    assert.equal(r.sentences.length, 3);
    assert.equal(r.candidates, 12);
    for (const s of r.sentences) {
      assert.equal(text.slice(s.start, s.end), s.text);
      assert.ok(s.centrality >= 0 && s.centrality <= 1);
    }
    assert.deepEqual(r.sentences.map((s) => s.start), [...r.sentences.map((s) => s.start)].sort((a, b) => a - b));
  });

  it('bundled encoder (bundled:use-lite): a three-sentence summary of a three-topic document covers all three', async () => {
    // Resolved offline like the editor and the CLI do; a regression in either fails here, never skips.
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-summary-'));
    let model: LocalModel;
    try {
      model = await new ModelResolver(new HubDownloader({ cacheDir: cache, host: 'http://127.0.0.1:9', allowDownloads: false })).resolve('bundled:use-lite', 'fp32');
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
    const probe = await client.request({ type: 'embed', model, texts: ['probe'] });
    assert.equal(probe.count, 1);
    const embed = embedWith(model);
    const { text, topicOf } = threeTopicDocument();
    const r = await summarizeExtractive(text, embed, { count: 3 });
    assert.deepEqual(new Set(r.sentences.map((s) => topicOf(s.start))), new Set(['cooking', 'astronomy', 'football']), r.sentences.map((s) => s.text).join(' | '));
  });
});
