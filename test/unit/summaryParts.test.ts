import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HubDownloader } from '../../src/core/models/hubDownloader';
import { ModelResolver } from '../../src/core/models/modelResolver';
import { blankDocTags, commentProse, formatAsComment, insertCommentProblem } from '../../src/core/summarize/comments';
import { seq2seqFiles } from '../../src/core/summarize/seq2seqFiles';
import { abstractiveSummary, crossAttentionMeans, extractiveSummary, finalInput } from '../../src/core/summarize/summarizer';
import { ModelWorkerClient, WorkerRequestError } from '../../src/core/worker/modelWorkerClient';
import { isHostToSummaryView, isSummaryViewMessage, type SummarySource } from '../../src/protocol/summaryView';
import type { LocalModel } from '../../src/protocol/worker';
import { linesOf, markdownSectionAt, paragraphAt, paragraphsIn, type LineRange, type LineSource } from '../../src/vscode/summary/paragraphs';
import { SummaryScheduler } from '../../src/vscode/summary/scheduler';
import { SummaryCache, type CachedSummary } from '../../src/vscode/summary/summaryCache';
import { SummaryStore } from '../../src/vscode/summary/summaryStore';
import { HubMirror } from '../harness/hubMirror';
import { fixtureModel, workerScript } from '../harness/paths';
import { maxAbsDiff } from '../harness/reference';
import { HOVER_SOURCE, meanOverHeads, seq2seqReference } from '../harness/summaryFixtures';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function poll(ok: () => boolean, timeoutMs = 2000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !ok(); await sleep(5)) if (Date.now() > end) throw new Error('timed out');
}
const summary = (text: string): CachedSummary => ({ text, mode: 'extractive', model: 'bundled:use-lite' });

describe('summaries: the hover cache', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-cache-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keys by every part, keeps entries across instances through an atomic file, and drops the least recently used', async () => {
    assert.notEqual(SummaryCache.key('a', 'bc'), SummaryCache.key('ab', 'c'));
    assert.equal(SummaryCache.key('x', 'y'), SummaryCache.key('x', 'y'));
    const file = path.join(dir, 'nested', 'cache.json');
    const cache = new SummaryCache(file, { maxEntries: 3, saveDelayMs: 5 });
    await cache.load();
    for (const k of ['a', 'b', 'c']) cache.set(k, summary(k));
    cache.get('a'); // a is now the most recently used
    cache.set('d', summary('d'));
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => cache.has(k)), [true, false, true, true]);
    await cache.flush();
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['cache.json'], 'no temporary file is left');
    const again = new SummaryCache(file, { maxEntries: 3 });
    await again.load();
    assert.equal(again.get('d')?.text, 'd');
    assert.equal(again.size, 3);
    assert.equal(again.loadProblem, undefined);
  });

  it('ignores a damaged or foreign file, says why, and writes a good one over it', async () => {
    const file = path.join(dir, 'cache.json');
    for (const bad of ['{"version":1,"entries":[["k",', '{"version":99,"entries":[]}', '[1,2,3]']) {
      fs.writeFileSync(file, bad);
      const cache = new SummaryCache(file, { saveDelayMs: 5 });
      await cache.load();
      assert.equal(cache.size, 0);
      assert.ok(cache.loadProblem, `a problem is reported for ${bad}`);
      cache.set('k', summary('rebuilt'));
      await cache.flush();
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { version: 1, entries: [['k', summary('rebuilt')]] });
    }
    // Entries with a wrong shape are skipped, good ones kept.
    fs.writeFileSync(file, JSON.stringify({ version: 1, entries: [['bad', { text: 1 }], ['good', summary('g')]] }));
    const cache = new SummaryCache(file);
    await cache.load();
    assert.deepEqual([cache.has('bad'), cache.get('good')?.text], [false, 'g']);
    await cache.dispose(); // the rewrite it scheduled, before the folder goes
  });

  it('a write before the file was read keeps the entries of the file', async () => {
    const file = path.join(dir, 'cache.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, entries: [['a', summary('a')], ['b', summary('b')]] }));
    const cache = new SummaryCache(file, { saveDelayMs: 0 });
    cache.set('early', summary('early'));
    await cache.flush();
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: [string, CachedSummary][] };
    assert.deepEqual(written.entries.map(([k]) => k).sort(), ['a', 'b', 'early']);
  });

  it('skips damaged entries (null, wrong arity, not a pair) without throwing, keeps the good ones and rewrites the file', async () => {
    const file = path.join(dir, 'cache.json');
    const entries = [null, ['a', summary('a')], ['x'], 5, ['b', null], [7, summary('n')], ['c', summary('c')], 'text'];
    fs.writeFileSync(file, JSON.stringify({ version: 1, entries }));
    const cache = new SummaryCache(file, { saveDelayMs: 5 });
    cache.set('early', summary('set before the load finished'));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await cache.load();
      await sleep(20);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
    assert.deepEqual([cache.get('a')?.text, cache.get('c')?.text, cache.get('early')?.text, cache.size], ['a', 'c', 'set before the load finished', 3]);
    assert.match(cache.loadProblem ?? '', /6 of its 8 entries are damaged/);
    await poll(() => cache.writes > 0);
    const rewritten = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: [string, CachedSummary][] };
    assert.deepEqual(rewritten.entries.map(([k]) => k).sort(), ['a', 'c', 'early']);
  });
});

describe('summaries: scheduling and the store', () => {
  it('a user request stops the running background job; background jobs wait for user requests and run one at a time', async () => {
    const scheduler = new SummaryScheduler({ pauseMs: 0 });
    const order: string[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const job = (name: string, ms: number) => async (signal: AbortSignal): Promise<string> => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      order.push(`start ${name}`);
      try {
        for (let t = 0; t < ms; t += 5) {
          await sleep(5);
          if (signal.aborted) throw new Error('aborted');
        }
        order.push(`end ${name}`);
        return name;
      } finally {
        concurrent--;
      }
    };
    const first = scheduler.background(job('b1', 200));
    const second = scheduler.background(job('b2', 10));
    await sleep(20);
    const user = scheduler.user(async () => {
      order.push('user');
      await sleep(30);
      return 'u';
    });
    assert.equal(await user, 'u');
    assert.equal(await first, undefined, 'the background job was preempted');
    assert.equal(await second, 'b2', 'the next one ran after the user request');
    assert.deepEqual(order, ['start b1', 'user', 'start b2', 'end b2']);
    assert.equal(maxConcurrent, 1);
    assert.deepEqual(scheduler.counts, { backgroundStarted: 2, backgroundDone: 1, backgroundStopped: 1 });

    const queued = scheduler.background(job('b3', 50));
    const later = scheduler.background(job('b4', 50));
    scheduler.cancelBackground();
    assert.deepEqual([await queued, await later], [undefined, undefined]);
  });

  it('answers from the cache, waits for a computation only as long as the budget, and never computes a key twice at once', async () => {
    const scheduler = new SummaryScheduler({ pauseMs: 0 });
    const store = new SummaryStore(new SummaryCache(undefined), scheduler);
    let computed = 0;
    const slow = async (): Promise<CachedSummary> => {
      computed++;
      await sleep(80);
      return summary('slow');
    };
    assert.deepEqual(await store.lookup('k', slow, 10), { kind: 'pending' });
    assert.deepEqual(await store.lookup('k', slow, 10), { kind: 'pending' });
    await sleep(100);
    const hit = await store.lookup('k', slow, 10);
    assert.equal(hit.kind === 'ready' && hit.cached && hit.summary.text, 'slow');
    assert.equal(computed, 1);
    assert.deepEqual({ ...store.stats }, { hits: 1, misses: 2, computed: 1, backgroundComputed: 0, preempted: 0, failed: 0, cached: 1 });

    const fast = await store.lookup('quick', async () => summary('fast'), 100);
    assert.equal(fast.kind === 'ready' && !fast.cached && fast.summary.text, 'fast');
    const failed = await store.lookup('bad', () => Promise.reject(new Error('no model')), 100);
    assert.deepEqual(failed, { kind: 'failed', message: 'no model' });

    // Background warming fills the cache; a user lookup of a key being warmed takes over (and computes it once).
    await store.warm('w', async () => summary('warm'));
    assert.equal(store.peek('w')?.text, 'warm');
    let warmRuns = 0;
    void store.warm('x', async (signal) => {
      warmRuns++;
      await sleep(60);
      if (signal?.aborted) throw new Error('aborted');
      return summary('x-background');
    });
    await sleep(5);
    const taken = await store.lookup('x', async () => summary('x-user'), 200);
    assert.equal(taken.kind === 'ready' && taken.summary.text, 'x-user');
    await sleep(80);
    assert.equal(store.peek('x')?.text, 'x-user');
    assert.equal(warmRuns, 1);
    assert.equal(store.stats.preempted, 1);
    assert.equal(store.stats.backgroundComputed, 1);
  });
});

describe('summaries: comments and paragraphs', () => {
  it('writes a summary as a comment in the language, wrapped and indented', () => {
    assert.equal(formatAsComment('Retries uploads.', 'python', '    '), '    # Retries uploads.\n');
    assert.equal(formatAsComment('Retries uploads.', 'typescript'), '// Retries uploads.\n');
    assert.equal(formatAsComment('A section about */ things.', 'css'), '/* A section about * / things. */\n');
    assert.equal(formatAsComment('Short.', 'markdown'), '<!-- Short. -->\n');
    assert.equal(formatAsComment('plain words', 'plaintext'), 'plain words\n');
    const long = formatAsComment('word '.repeat(60), 'rust', '  ', 40);
    for (const line of long.trimEnd().split('\n')) {
      assert.ok(line.startsWith('  // ') && line.length <= 40, line);
    }
    assert.equal(long.replace(/\n {2}\/\/ /g, ' ').replace(/^ {2}\/\/ /, '').trim(), 'word '.repeat(60).trim());
  });

  it('keeps comment prose at its offsets and blanks code, strings and markers', () => {
    const prose = commentProse(HOVER_SOURCE, 'typescript')!;
    assert.equal(prose.length, HOVER_SOURCE.length);
    assert.equal(prose.split('\n').length, HOVER_SOURCE.split('\n').length);
    const at = HOVER_SOURCE.indexOf('Sends a file');
    assert.equal(prose.slice(at, at + 12), 'Sends a file');
    assert.doesNotMatch(prose, /export|function|\/\*\*|\*\/|=>/);
    const py = 'def f(x):\n    """Doubles x.\n\n    Returns a number."""\n    s = "# not a comment"\n    return 2 * x  # twice\n';
    const p = commentProse(py, 'python')!;
    assert.deepEqual(p.split(/\s+/).filter(Boolean), ['Doubles', 'x.', 'Returns', 'a', 'number.', 'twice']);
    assert.equal(commentProse('x', 'no-such-language'), undefined);
  });

  it('reads doc-comment tags as prose: no @param, no {Type}, {@link X} as X, offsets kept (issue 13 item 9)', () => {
    const code = ['/**', ' * Uploads a file, see {@link Storage}.', ' * @param {string} file the file to send', ' * @returns {Promise<void>} when it is stored', ' */', 'function up(file) {}'].join('\n');
    const prose = commentProse(code, 'typescript')!;
    assert.equal(prose.length, code.length);
    assert.doesNotMatch(prose, /@param|@returns|\{string\}|\{Promise|\{@link/);
    assert.match(prose, /Uploads a file, see +Storage/);
    assert.match(prose, /file the file to send/);
    assert.match(prose, /when it is stored/);
    assert.equal(blankDocTags('mail me at a@b.c'), 'mail me at a@b.c', 'an address is not a tag');
  });

  it('finds paragraphs, Markdown sections and their sizes', () => {
    const md = '# Title\n\nIntro line one\nline two\n\n## A\n\nText of A.\n\n### A.1\n\nDeeper.\n\n## B\n\nText of B.\n';
    const lines = linesOf(md);
    const all = md.split('\n');
    const textOf = (r: LineRange): string => all.slice(r.first, r.last + 1).join('\n');
    const lineOf = (needle: string): number => all.findIndex((l) => l.includes(needle));
    const p = paragraphAt(lines, lineOf('line two'), true)!;
    assert.equal(textOf(p), 'Intro line one\nline two');
    assert.deepEqual([p.last - p.first + 1, p.chars], [2, 'Intro line one\nline two'.length]);
    assert.equal(paragraphAt(lines, 1, true), undefined, 'a blank line is no paragraph');
    assert.equal(paragraphAt(lines, lineOf('line two'), true, 10), undefined, 'nor is a paragraph over the limit');
    const a = markdownSectionAt(lines, lineOf('## A'))!;
    assert.equal(textOf(a), '## A\n\nText of A.\n\n### A.1\n\nDeeper.');
    assert.deepEqual([a.title, a.level, a.chars], ['A', 2, textOf(a).length]);
    assert.equal(markdownSectionAt(lines, lineOf('Text of A')), undefined);
    assert.equal(markdownSectionAt(lines, lineOf('## A'), 20), undefined, 'a section over the limit is none');
    assert.deepEqual(paragraphsIn(lines, 0, lines.lineCount - 1, true).map(textOf), ['Intro line one\nline two', 'Text of A.', 'Deeper.', 'Text of B.']);
    assert.deepEqual(linesOf('a\r\nb').line(0), 'a');
  });

  it('reads only the lines around the offset, up to the limit, in a 20 MB log with no blank lines', () => {
    const lineCount = 250_000;
    const row = (i: number): string => `2024-05-01T12:00:00Z INFO worker-${i % 16} served request ${i} in ${i % 97} ms from cache`;
    let reads = 0;
    const log: LineSource = { lineCount, line: (i) => (reads++, row(i)) };
    const heading: LineSource = { lineCount, line: (i) => (reads++, i === 0 ? '# Server log' : row(i)) };
    const limit = 64_000;
    const most = Math.ceil(limit / 60) + 2; // lines are over 60 characters long
    const started = performance.now();
    assert.equal(paragraphAt(log, lineCount / 2, false, limit), undefined);
    assert.ok(reads <= most, `${reads} lines read for a paragraph`);
    reads = 0;
    assert.deepEqual(paragraphsIn(log, 1000, 1050, false, limit), []);
    assert.ok(reads <= most, `${reads} lines read for the paragraphs in view`);
    reads = 0;
    assert.equal(markdownSectionAt(heading, 0, limit), undefined);
    assert.ok(reads <= most, `${reads} lines read for a section`);
    console.log(`      BERTLENS_METRIC paragraphScansWithLimit=${(performance.now() - started).toFixed(1)}ms`);
    // The same paragraph without a limit is read whole (the commands may summarise it).
    reads = 0;
    assert.deepEqual(paragraphAt(log, 10, false), { first: 0, last: lineCount - 1, chars: Array.from({ length: lineCount }, (_, i) => row(i).length + 1).reduce((x, y) => x + y) - 1 });
    assert.equal(reads, lineCount);
    // Long lines are not tested as headings (patterns that could backtrack on them are skipped).
    assert.equal(paragraphAt(linesOf(`#${' #'.repeat(50_000)}x`), 0, true)?.chars, 100_002);
  });
});

describe('summaries: panel protocol', () => {
  const source: SummarySource = { label: 'a.md', length: 10, languageId: 'markdown', kind: 'document' };
  it('accepts well-formed panel messages only; requests name a summary id, never a document', () => {
    assert.ok(isSummaryViewMessage({ type: 'ready' }));
    assert.ok(isSummaryViewMessage({ type: 'reveal', id: 7, start: 1, end: 4 }));
    assert.ok(isSummaryViewMessage({ type: 'rerun', id: 7, mode: 'extractive' }));
    assert.ok(isSummaryViewMessage({ type: 'insertComment', id: 7 }));
    assert.ok(!isSummaryViewMessage({ type: 'reveal', id: 7, start: 4, end: 1 }));
    assert.ok(!isSummaryViewMessage({ type: 'ready', extra: 1 }));
    assert.ok(!isSummaryViewMessage({ type: 'rerun', id: 7, mode: 'other' }));
    assert.ok(!isSummaryViewMessage({ type: 'copy', text: 'x'.repeat(2_000_000) }));
    // What the panel used to send: a document of its choosing.
    assert.ok(!isSummaryViewMessage({ type: 'reveal', uri: 'file:///etc/passwd', start: 0, end: 4 }));
    assert.ok(!isSummaryViewMessage({ type: 'reveal', id: 7, uri: 'file:///etc/passwd', start: 0, end: 4 }));
    assert.ok(!isSummaryViewMessage({ type: 'insertComment', id: 7, uri: 'file:///a.ts', line: 0, languageId: 'typescript', text: 'x' }));
    assert.ok(!isSummaryViewMessage({ type: 'rerun', mode: 'extractive', source: { ...source, uri: 'file:///a.md', offset: 0, line: 0 } }));
    assert.ok(isHostToSummaryView({ type: 'start', id: 1, source }));
    assert.ok(isHostToSummaryView({ type: 'start', id: 1, source: { ...source, noComment: 'why' } }));
    assert.ok(!isHostToSummaryView({ type: 'start', id: 1, source: { ...source, kind: 'other' } }));
    assert.ok(isHostToSummaryView({ type: 'stream', id: 1, text: 'ab', step: 2 }));
    const data = { sourceText: 'ab', linked: true, sourceTokens: [{ text: 'a', start: 0, end: 1, special: false }], targetTokens: [{ text: 'x', start: 0, end: 1, special: false }], targetText: 'x', layers: 2, heads: 4, truncated: false };
    assert.ok(isHostToSummaryView({ type: 'crossAttention', id: 1, data: { ...data, means: new Float32Array(2) } }));
    assert.ok(!isHostToSummaryView({ type: 'crossAttention', id: 1, data: { ...data, means: new Float32Array(3) } }), 'sizes are checked');
  });

  it('offers "Insert as Comment" for languages with comments and for prose only', () => {
    for (const language of ['typescript', 'python', 'css', 'html', 'markdown', 'plaintext']) assert.equal(insertCommentProblem(language), undefined, language);
    for (const language of ['json', 'csv', 'no-such-language']) assert.match(insertCommentProblem(language) ?? '', new RegExp(`No comment syntax is known for ${language}`), language);
  });
});

describe('summaries: seq2seq downloads (local Hub mirror)', function () {
  this.timeout(20_000);
  let mirror: HubMirror;
  let cache: string;
  beforeEach(async () => {
    mirror = await HubMirror.start({ 'test/tiny-t5': fixtureModel('tiny-t5') });
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-s2s-'));
  });
  afterEach(async () => {
    await mirror.stop();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('fetches a seq2seq file list through the resolver, then the cross-attention decoder on its own', async () => {
    const resolver = new ModelResolver(new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true }));
    const files = seq2seqFiles('q8');
    assert.equal(resolver.needsDownload('test/tiny-t5', 'q8', undefined, files), true);
    const model = await resolver.resolve('test/tiny-t5', 'q8', { files });
    for (const f of files.required) assert.deepEqual(fs.readFileSync(path.join(model.dir, f)), fs.readFileSync(path.join(fixtureModel('tiny-t5'), f)), f);
    assert.ok(!fs.existsSync(path.join(model.dir, 'onnx/decoder_model.onnx')), 'the cross-attention decoder is not fetched with the model');
    assert.equal(resolver.needsDownload('test/tiny-t5', 'q8', undefined, files), false);
    // The encoder-style default list still works and still means model.onnx.
    assert.equal(resolver.needsDownload('test/tiny-t5', 'q8'), true);
    // tiny-t5 has no quantised decoder_model: it is marked absent and the fp32 one is fetched.
    await resolver.resolve('test/tiny-t5', 'q8', { files: { required: files.required, optional: ['onnx/decoder_model_quantized.onnx'] } });
    await resolver.resolve('test/tiny-t5', 'q8', { files: { required: files.required, optional: ['onnx/decoder_model.onnx'] } });
    assert.ok(fs.existsSync(path.join(model.dir, 'onnx/decoder_model_quantized.onnx.absent')));
    assert.ok(fs.existsSync(path.join(model.dir, 'onnx/decoder_model.onnx')));
  });

  it('says what a seq2seq folder needs when there is none', async () => {
    const resolver = new ModelResolver(new HubDownloader({ cacheDir: cache, allowDownloads: false }));
    await assert.rejects(resolver.resolve('/nonexistent/t5', 'q8', { files: seq2seqFiles('q8') }), /needs config\.json, tokenizer\.json, onnx\/encoder_model_quantized\.onnx and onnx\/decoder_model_merged_quantized\.onnx/);
    await assert.rejects(resolver.resolve('/nonexistent/bert', 'fp32'), /needs config\.json, tokenizer\.json and onnx\/model\.onnx/);
  });
});

describe('summaries through the model worker', function () {
  this.timeout(60_000);
  const client = new ModelWorkerClient({ workerScript });
  after(() => client.dispose());
  const t5: LocalModel = { ref: 'tiny-t5', dir: fixtureModel('tiny-t5'), dtype: 'fp32' };

  for (const name of ['tiny-t5', 'tiny-bart'] as const) {
    it(`${name}: cross-attention means over heads: shapes, row sums and values equal PyTorch's`, async () => {
      const model: LocalModel = { ref: name, dir: fixtureModel(name), dtype: 'fp32' };
      for (const item of seq2seqReference(name).items) {
        const view = await crossAttentionMeans(client, model, item.text, item.greedy.sequence, { linked: true });
        const layers = item.cross_attentions.length;
        const targets = item.greedy.sequence.length - 1;
        assert.deepEqual([view.layers, view.targetTokens.length, view.sourceTokens.length], [layers, targets, item.input_ids.length]);
        assert.equal(view.means.length, layers * targets * item.input_ids.length);
        for (let l = 0; l < layers; l++) {
          const expected = meanOverHeads(item, l).flat();
          const actual = view.means.subarray(l * expected.length, (l + 1) * expected.length);
          assert.ok(maxAbsDiff(actual, expected) < 1e-4, `layer ${l}: ${maxAbsDiff(actual, expected)}`);
          for (let t = 0; t < targets; t++) {
            const row = actual.subarray(t * item.input_ids.length, (t + 1) * item.input_ids.length);
            assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
          }
        }
        for (const token of view.sourceTokens) assert.ok(token.start <= token.end && token.end <= item.text.length);
      }
    });
  }

  it('streams an abstractive summary, and a cancel answers at once and leaves the worker serving', async () => {
    const item = seq2seqReference('tiny-t5').items[0]!;
    const updates: string[] = [];
    const r = await abstractiveSummary(client, t5, item.text, { options: { maxNewTokens: 12 }, onStream: (u) => updates.push(u.text) });
    assert.deepEqual(r.final.ids, item.greedy.sequence);
    assert.equal(updates.at(-1), r.final.text);
    assert.ok(updates.length >= 2);
    assert.deepEqual(finalInput(item.text, r), { text: item.text, linked: true });

    const controller = new AbortController();
    let cancelledAt = 0;
    const long = abstractiveSummary(client, t5, item.text, {
      options: { maxNewTokens: 400, minNewTokens: 399 },
      signal: controller.signal,
      onStream: (u) => {
        if (u.step === 5 && cancelledAt === 0) {
          cancelledAt = performance.now();
          controller.abort();
        }
      },
    });
    await assert.rejects(long, (e: unknown) => e instanceof WorkerRequestError && e.code === 'cancelled');
    assert.ok(performance.now() - cancelledAt < 100);
    assert.deepEqual((await abstractiveSummary(client, t5, item.text, { options: { maxNewTokens: 12 } })).final.ids, item.greedy.sequence);
  });

  it('extractive summaries of code fall back to its key lines when it has no comments', async () => {
    const code = 'function area(width, height) {\n  const result = width * height;\n  return result;\n}\n\nfunction perimeter(width, height) {\n  return 2 * (width + height);\n}\n';
    const embed = async (texts: readonly string[]): Promise<Float32Array> => (await client.request({ type: 'embed', model: { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' }, texts })).vectors;
    const r = await extractiveSummary(code, 'javascript', embed, { count: 2 });
    assert.equal(r.source, 'code');
    assert.equal(r.sentences.length, 2);
    for (const s of r.sentences) assert.equal(code.slice(s.start, s.end), s.text);
    const prose = await extractiveSummary(HOVER_SOURCE, 'typescript', embed, { count: 1 });
    assert.equal(prose.source, 'comments');
  });
});
