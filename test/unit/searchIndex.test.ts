import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chunkDocument, type ChunkerOptions } from '../../src/core/search/chunker';
import { MemoryFileSource } from '../../src/core/search/memoryFileSource';
import { runUpdate, SemanticIndex, type OpenIndexOptions } from '../../src/core/search/semanticIndex';
import type { FileSource, IndexProgress, SearchResult } from '../../src/core/search/types';
import { HashingEmbedder } from '../harness/searchFakes';

/** Small passages: every paragraph, section and function of the corpus is a chunk of its own. */
const CHUNKING: Partial<ChunkerOptions> = { targetTokens: 12, minTokens: 0 };

const CORPUS: Record<string, string> = {
  'docs/upload.md': [
    '# Uploads',
    '',
    'Failed uploads are retried three times with exponential backoff before the user sees an error.',
    '',
    '## Licence',
    '',
    'The licence terms allow redistribution in source and binary forms with attribution.',
  ].join('\n'),
  'src/upload.ts': [
    'export async function retryUpload(file: string): Promise<void> {',
    '  for (let attempt = 0; attempt < 3; attempt++) await send(file);',
    '}',
    '',
    'export function cancelUpload(id: number): void {',
    '  queue.delete(id);',
    '}',
  ].join('\n'),
  'notes/a.txt': 'Shared paragraph about caching vectors by content hash.\n\nOnly in a: the garden needs watering.',
  'notes/b.txt': 'Shared paragraph about caching vectors by content hash.\n\nOnly in b: the kettle is boiling.',
};

/** Distinct chunk texts of a set of documents under the test's chunking. */
function distinctChunks(files: Record<string, string>, embedder: HashingEmbedder): Set<string> {
  const hashes = new Set<string>();
  for (const [relPath, text] of Object.entries(files)) {
    for (const c of chunkDocument({ uri: MemoryFileSource.uriOf(relPath), relPath, text }, { maxTokens: embedder.maxTokens, ...CHUNKING })) hashes.add(c.hash);
  }
  return hashes;
}

describe('search: SemanticIndex', function () {
  this.timeout(20_000);
  let store: string;
  const open = (embedder: HashingEmbedder, extra: Partial<OpenIndexOptions> = {}): Promise<SemanticIndex> =>
    SemanticIndex.open({ storeDir: store, embedder, chunker: CHUNKING, batchSize: 4, ...extra });
  const update = (index: SemanticIndex, source: FileSource, events?: IndexProgress[]) => runUpdate(index.update(source), (p) => events?.push(p));
  const paths = (results: readonly SearchResult[]): string[] => results.map((r) => r.relPath);

  beforeEach(() => {
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-index-'));
  });
  afterEach(() => fs.rmSync(store, { recursive: true, force: true }));

  it('indexes a corpus, embedding each distinct chunk text once (identical paragraphs in two files included)', async () => {
    const embedder = new HashingEmbedder();
    const index = await open(embedder);
    assert.equal(index.report.status, 'created');
    const events: IndexProgress[] = [];
    const summary = await update(index, new MemoryFileSource(CORPUS), events);
    const expected = distinctChunks(CORPUS, embedder);
    // 2 sections + 2 functions + the shared paragraph + one paragraph only in a + one only in b.
    assert.equal(expected.size, 7);
    assert.equal(summary.chunksEmbedded, expected.size);
    assert.equal(embedder.embedded.length, expected.size);
    assert.equal(new Set(embedder.embedded).size, embedder.embedded.length, 'no text embedded twice');
    assert.ok(embedder.calls >= Math.ceil(expected.size / 4), 'batches of at most 4');
    assert.equal(summary.filesIndexed, 4);
    assert.equal(summary.chunksReused, 1, 'the shared paragraph of notes/b.txt reuses the vector of notes/a.txt');
    assert.deepEqual(events.map((e) => e.phase).filter((p, i, a) => p !== a[i - 1]), ['scanning', 'indexing', 'committing', 'done']);
    assert.deepEqual(events.at(-1)!, { phase: 'done', filesDone: 4, filesTotal: 4, chunksEmbedded: expected.size, skipped: [], ignored: 0 });

    const shared = await index.search('caching vectors by content hash', { mode: 'lexical' });
    assert.deepEqual(paths(shared.slice(0, 2)), ['notes/a.txt', 'notes/b.txt']);
    assert.equal(shared[0]!.text, 'Shared paragraph about caching vectors by content hash.');
    assert.equal(shared[0]!.score, shared[1]!.score);
    assert.deepEqual(index.stats().files, 4);
    await index.close();
  });

  it('search modes return ranges, text and why each result matched', async () => {
    const embedder = new HashingEmbedder();
    const index = await open(embedder);
    await update(index, new MemoryFileSource(CORPUS));
    const [top] = await index.search('retried uploads', { mode: 'lexical', k: 3 });
    assert.ok(top);
    assert.equal(top.relPath, 'docs/upload.md');
    assert.deepEqual([top.startLine, top.startCharacter, top.endLine], [0, 0, 2]);
    assert.equal(top.text, CORPUS['docs/upload.md']!.split('\n').slice(0, 3).join('\n'));
    assert.deepEqual(top.why.matchedTerms, ['retry', 'upload']);
    assert.deepEqual(
      top.why.matches.map((m) => top.text.slice(m.start, m.end)),
      ['Uploads', 'uploads', 'retried'],
      'term positions point at the words in the text',
    );
    assert.equal(top.why.lexicalRank, 1);
    assert.ok(top.why.lexicalScore! > 0 && top.score === top.why.lexicalScore);
    assert.equal(typeof top.why.similarity, 'undefined', 'lexical mode computes no query vector');

    const vector = await index.search('the kettle is boiling', { mode: 'vector', k: 2 });
    assert.equal(vector[0]!.relPath, 'notes/b.txt');
    assert.equal(vector[0]!.why.vectorRank, 1);
    assert.ok(Math.abs(vector[0]!.score - vector[0]!.why.similarity!) < 1e-6);
    assert.ok(vector[0]!.score >= vector[1]!.score);

    const hybrid = await index.search('cancel upload queue', { k: 3 });
    assert.equal(hybrid[0]!.relPath, 'src/upload.ts');
    assert.equal(hybrid[0]!.startLine, 4);
    assert.ok(hybrid[0]!.why.lexicalRank && hybrid[0]!.why.vectorRank);
    assert.ok(hybrid[0]!.score > 0 && hybrid[0]!.score <= 1, 'hybrid scores are normalised to 0–1');
    assert.ok(hybrid.every((h, i) => i === 0 || h.score <= hybrid[i - 1]!.score), 'best first');

    const scoped = await index.search('upload', { mode: 'lexical', filter: (p) => p.startsWith('src/') });
    assert.ok(scoped.length > 0 && scoped.every((r) => r.relPath === 'src/upload.ts'));
    assert.deepEqual(await index.search('zebra', { mode: 'lexical' }), []);
    await index.close();
  });

  it('hybrid ranks text repeated in many files (a licence banner) below a passage found once', async () => {
    const banner = 'Licence compliance notice: this licence requires compliance with the licence.';
    const files: Record<string, string> = { 'docs/compliance.md': 'Licence compliance: every dependency must use a licence we may ship.' };
    for (let i = 0; i < 12; i++) files[`src/m${i}.ts`] = `${banner}\n\nexport const value${i} = ${i};`;
    const index = await open(new HashingEmbedder());
    await update(index, new MemoryFileSource(files));
    const lexical = await index.search('licence compliance', { mode: 'lexical', k: 3 });
    assert.ok(lexical[0]!.relPath.startsWith('src/'), 'on words alone the banner wins');
    const hybrid = await index.search('licence compliance', { k: 3 });
    assert.equal(hybrid[0]!.relPath, 'docs/compliance.md');
    await index.close();
  });

  it('flags results under the model’s similarity floor as weak matches', async () => {
    const index = await open(new HashingEmbedder({ weakMatchBelow: 0.5 }));
    await update(index, new MemoryFileSource(CORPUS));
    const results = await index.search('the kettle is boiling', { mode: 'vector', k: 7 });
    assert.equal(results[0]!.why.weakMatch, undefined, 'the passage that says it is a match');
    const weak = results.filter((r) => r.why.weakMatch);
    assert.ok(weak.length > 0 && weak.every((r) => r.why.similarity! < 0.5));
    assert.ok(results.filter((r) => !r.why.weakMatch).every((r) => r.why.similarity! >= 0.5));
    await index.close();
  });

  it('re-embeds only the changed chunk on edit; unchanged files are not even read', async () => {
    const embedder = new HashingEmbedder();
    const index = await open(embedder);
    const source = new MemoryFileSource(CORPUS);
    await update(index, source);
    const before = distinctChunks(CORPUS, embedder);
    const edited = { ...CORPUS, 'docs/upload.md': CORPUS['docs/upload.md']!.replace('attribution', 'attribution and a notice') };
    source.set('docs/upload.md', edited['docs/upload.md']!);
    const reads = source.reads;
    embedder.embedded.length = 0;
    const summary = await update(index, source);
    const after = distinctChunks(edited, embedder);
    const fresh = [...after].filter((h) => !before.has(h));
    assert.equal(fresh.length, 1);
    assert.equal(summary.chunksEmbedded, 1);
    // The model reads the passage under its context line (the document's heading path, never shown), heading marks dropped.
    assert.deepEqual(embedder.embedded, ['Uploads\nLicence\n\nThe licence terms allow redistribution in source and binary forms with attribution and a notice.']);
    assert.equal(source.reads - reads, 1, 'only the changed file is read');
    assert.equal(summary.filesUnchanged, 3);
    const hits = await index.search('attribution notice', { mode: 'lexical' });
    assert.match(hits[0]!.text, /and a notice/);
    assert.equal(hits[0]!.context, 'Uploads', 'a result says where it sits (the headings above its own), apart from its text');
    assert.match(hits[0]!.text, /^## Licence\n/);

    // Touched without a change (new mtime, same bytes): read, not re-chunked, nothing embedded.
    source.set('notes/a.txt', CORPUS['notes/a.txt']!);
    const touched = await update(index, source);
    assert.equal(touched.chunksEmbedded, 0);
    assert.equal(touched.filesIndexed, 0);
    await index.close();
  });

  it('a rename re-embeds nothing; a delete removes the document from results', async () => {
    const embedder = new HashingEmbedder();
    const index = await open(embedder);
    const source = new MemoryFileSource(CORPUS);
    await update(index, source);
    source.rename('notes/b.txt', 'archive/b-renamed.txt');
    const renamed = await update(index, source);
    assert.equal(renamed.chunksEmbedded, 0);
    assert.equal(renamed.filesRenamed, 1);
    assert.equal(renamed.filesDeleted, 1);
    assert.deepEqual(paths(await index.search('kettle boiling', { mode: 'lexical' })), ['archive/b-renamed.txt']);

    // The explicit rename API (VS Code's onDidRenameFiles) moves records without reading.
    const reads = source.reads;
    assert.equal(await index.renameFiles([{ oldUri: MemoryFileSource.uriOf('notes/a.txt'), newUri: MemoryFileSource.uriOf('moved/a.txt'), newRelPath: 'moved/a.txt' }]), 1);
    source.rename('notes/a.txt', 'moved/a.txt');
    const after = await update(index, source);
    assert.equal(source.reads, reads, 'nothing re-read after an announced rename');
    assert.equal(after.chunksEmbedded + after.filesIndexed, 0);

    source.delete('archive/b-renamed.txt');
    const deleted = await update(index, source);
    assert.equal(deleted.filesDeleted, 1);
    assert.deepEqual(await index.search('kettle boiling', { mode: 'lexical' }), []);
    assert.deepEqual(paths(await index.search('caching vectors content hash', { mode: 'lexical' })), ['moved/a.txt']);
    assert.equal(index.stats().files, 3);

    // Deleted text comes back in a new file: its vector is still cached.
    source.set('restored.txt', CORPUS['notes/b.txt']!);
    const restored = await update(index, source);
    assert.equal(restored.chunksEmbedded, 0);
    await index.close();
  });

  it('persists: a reopened index answers the same, reads nothing and embeds nothing', async () => {
    const embedder = new HashingEmbedder();
    const source = new MemoryFileSource(CORPUS);
    let index = await open(embedder);
    await update(index, source);
    const query = async (i: SemanticIndex) => (await i.search('upload retry licence', { k: 6 })).map((r) => [r.relPath, r.startLine, r.endLine, r.text, r.score]);
    const before = await query(index);
    const stats = index.stats();
    await index.close();

    index = await open(embedder);
    assert.equal(index.report.status, 'loaded');
    assert.equal(index.report.files, 4);
    assert.deepEqual(await query(index), before);
    assert.equal(index.stats().chunks, stats.chunks);
    const reads = source.reads;
    embedder.embedded.length = 0;
    const summary = await update(index, source);
    assert.equal(summary.chunksEmbedded, 0);
    assert.equal(source.reads, reads);
    assert.equal(summary.commits, 0, 'nothing changed: nothing written');
    await index.close();

    // Another model never reads these vectors: its own folder, a fresh index.
    const other = await open(new HashingEmbedder({ modelKey: 'other-model' }));
    assert.equal(other.report.status, 'created');
    assert.notEqual(other.storePath, index.storePath);
    await other.close();
  });

  it('an empty lock file is someone opening the index now: refused while young, taken over once old', async () => {
    const embedder = new HashingEmbedder();
    const dir = SemanticIndex.storePathFor(store, embedder.modelKey);
    fs.mkdirSync(dir, { recursive: true });
    const lock = path.join(dir, 'lock');
    fs.writeFileSync(lock, '');
    await assert.rejects(open(embedder), { name: 'IndexLockedError', message: /being opened by another process/ });
    assert.ok(fs.existsSync(lock), 'the young lock is left alone');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    const index = await open(embedder);
    assert.equal(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, process.pid, 'taken over');
    await index.close();
  });

  it('a second open of the same index is refused while the first holds it', async () => {
    const embedder = new HashingEmbedder();
    const index = await open(embedder);
    await assert.rejects(open(embedder), { name: 'IndexLockedError' });
    await index.close();
    const again = await open(embedder);
    await again.close();
  });

  it('unsaved editor contents (overlays) are searched in place of the stored text and never persisted', async () => {
    const embedder = new HashingEmbedder();
    const source = new MemoryFileSource(CORPUS);
    const index = await open(embedder);
    await update(index, source);
    const uri = MemoryFileSource.uriOf('notes/a.txt');
    const unsaved = 'Shared paragraph about caching vectors by content hash.\n\nOnly in a: the tomatoes are ripening.';
    index.setOverlay({ uri, relPath: 'notes/a.txt', text: unsaved });
    embedder.embedded.length = 0;
    assert.equal(await index.applyOverlays(), 1);
    assert.deepEqual(embedder.embedded, ['Only in a: the tomatoes are ripening.'], 'only the new passage is embedded');
    const hits = await index.search('tomatoes ripening', { mode: 'lexical' });
    assert.equal(hits[0]!.relPath, 'notes/a.txt');
    assert.equal(hits[0]!.fromOverlay, true);
    assert.deepEqual(await index.search('garden watering', { mode: 'lexical' }), [], 'the saved text is hidden by the overlay');

    // Saving the same text: nothing to embed.
    source.set('notes/a.txt', unsaved);
    const saved = await update(index, source);
    assert.equal(saved.chunksEmbedded, 0);
    index.clearOverlay(uri);
    const after = await index.search('tomatoes ripening', { mode: 'lexical' });
    assert.equal(after[0]!.fromOverlay, false);
    await index.close();

    const reopened = await open(embedder);
    assert.equal((await reopened.search('tomatoes ripening', { mode: 'lexical' }))[0]!.relPath, 'notes/a.txt');
    reopened.setOverlay({ uri: MemoryFileSource.uriOf('scratch.md'), relPath: 'scratch.md', text: '# Scratch\n\nunsaved zanzibar notes' });
    await reopened.applyOverlays();
    assert.equal((await reopened.search('zanzibar', { mode: 'lexical' }))[0]!.relPath, 'scratch.md');
    await reopened.close();
    const third = await open(embedder);
    assert.deepEqual(await third.search('zanzibar', { mode: 'lexical' }), [], 'overlays are not persisted');
    await third.close();
  });

  it('search answers from what is indexed: unsaved contents are embedded by applyOverlays, never by a search', async () => {
    const embedder = new HashingEmbedder();
    const index = await open(embedder);
    await update(index, new MemoryFileSource(CORPUS));
    const uri = MemoryFileSource.uriOf('scratch.md');
    assert.equal(index.setOverlay({ uri, relPath: 'scratch.md', text: '# Scratch\n\nunsaved pelican notes' }), undefined);
    const calls = embedder.calls;
    assert.deepEqual(await index.search('pelican', { mode: 'lexical' }), [], 'not searchable until applied');
    assert.equal(embedder.calls, calls, 'the search embedded nothing');
    assert.equal(index.pendingOverlayCount, 1);
    assert.equal(index.stats().overlaysPending, 1);
    assert.equal(await index.applyOverlays(), 1);
    assert.equal(index.pendingOverlayCount, 0);
    assert.equal((await index.search('pelican', { mode: 'lexical' }))[0]!.relPath, 'scratch.md');
    await index.close();
  });

  it('refuses unsaved contents over the size limit or that are not text, and drops the earlier overlay', async () => {
    const embedder = new HashingEmbedder();
    const index = await open(embedder, { maxFileBytes: 1000 });
    await update(index, new MemoryFileSource(CORPUS));
    const uri = MemoryFileSource.uriOf('notes/a.txt');
    index.setOverlay({ uri, relPath: 'notes/a.txt', text: 'the tomatoes are ripening' });
    await index.applyOverlays();
    assert.equal((await index.search('tomatoes', { mode: 'lexical' }))[0]!.fromOverlay, true);

    const calls = embedder.calls;
    const huge = index.setOverlay({ uri, relPath: 'notes/a.txt', text: 'tomatoes '.repeat(1_000_000) });
    assert.equal(huge?.reason, 'tooLarge');
    // Multi-byte characters count in bytes: 400 characters of 3 bytes each are over 1000 bytes.
    assert.equal(index.setOverlay({ uri, relPath: 'notes/a.txt', text: '€'.repeat(400) })?.reason, 'tooLarge');
    assert.equal(index.setOverlay({ uri, relPath: 'notes/a.txt', text: 'tomatoes\0\0binary' })?.reason, 'binary');
    assert.equal(index.setOverlay({ uri, relPath: 'notes/a.txt', text: `tomatoes ${'\uFFFD'.repeat(50)}` })?.reason, 'binary');
    assert.equal(index.pendingOverlayCount, 0, 'nothing queued');
    assert.equal(await index.applyOverlays(), 0);
    assert.equal(embedder.calls, calls, 'nothing embedded');
    assert.deepEqual(await index.search('tomatoes', { mode: 'lexical' }), [], 'the earlier overlay is gone');
    assert.equal((await index.search('garden watering', { mode: 'lexical' }))[0]!.fromOverlay, false, 'the stored text is back');
    await index.close();
  });

  it('an interrupted applyOverlays keeps its work: nothing is chunked or embedded twice', async () => {
    const embedder = new HashingEmbedder();
    let counted = 0;
    const countTokens = (t: string): number => {
      counted++;
      return Math.ceil(t.length / 4);
    };
    const index = await open(embedder, { chunker: { ...CHUNKING, countTokens } });
    const text = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} about the marmot survey number ${i}.`).join('\n\n');
    index.setOverlay({ uri: MemoryFileSource.uriOf('survey.md'), relPath: 'survey.md', text });
    const controller = new AbortController();
    const embed = embedder.embed.bind(embedder);
    embedder.embed = async (texts, signal) => {
      const vectors = await embed(texts, signal);
      controller.abort(); // after the first batch
      return vectors;
    };
    await assert.rejects(index.applyOverlays(controller.signal), { name: 'AbortError' });
    const embeddedFirst = embedder.embedded.length;
    assert.ok(embeddedFirst > 0, `${embeddedFirst} passages embedded before the abort`);
    assert.equal(index.pendingOverlayCount, 1, 'still pending');
    embedder.embed = embed;
    counted = 0;
    assert.equal(await index.applyOverlays(), 1);
    assert.equal(counted, 0, 'the text was not chunked again');
    assert.equal(new Set(embedder.embedded).size, embedder.embedded.length, 'no passage embedded twice');
    assert.equal(embedder.embedded.length, index.stats().liveTexts, 'every passage embedded once');
    assert.ok(embeddedFirst < embedder.embedded.length, 'the abort came before the end');
    assert.equal((await index.search('marmot 39', { mode: 'lexical' }))[0]!.relPath, 'survey.md');
    await index.close();
  });

  it('skips and reports binary, oversized, unreadable and hanging files; a binary is not re-read next time', async () => {
    const embedder = new HashingEmbedder();
    const source = new MemoryFileSource({ ...CORPUS, 'img.png': new Uint8Array([0x89, 0x50, 0, 1]), 'huge.txt': 'x'.repeat(5000), 'broken.txt': 'x', 'hang.txt': 'y' });
    source.failing.add(MemoryFileSource.uriOf('broken.txt'));
    let reads = 0;
    const hanging: FileSource = {
      list: (s) => source.list(s),
      read: (uri) => {
        reads++;
        return uri.endsWith('hang.txt') ? new Promise(() => undefined) : source.read(uri);
      },
    };
    const index = await open(embedder, { maxFileBytes: 4096, readTimeoutMs: 200 });
    const summary = await update(index, hanging);
    const reasons = Object.fromEntries(summary.skipped.map((s) => [s.relPath, s.reason]));
    assert.deepEqual(reasons, { 'broken.txt': 'unreadable', 'hang.txt': 'unreadable', 'huge.txt': 'tooLarge', 'img.png': 'binary' });
    assert.match(summary.skipped.find((s) => s.relPath === 'hang.txt')!.detail!, /longer than 200 ms/);
    assert.equal(index.stats().files, 4);
    const before = reads;
    const again = await update(index, hanging);
    assert.equal(reads - before, 2, 'only the two unreadable files are tried again');
    assert.deepEqual(again.skipped.map((s) => s.relPath).sort(), ['broken.txt', 'hang.txt', 'huge.txt', 'img.png']);
    await index.close();
  });

  it('a cancelled update keeps what it committed; the next one resumes without re-embedding', async () => {
    const embedder = new HashingEmbedder({ delayMs: 5 });
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`f${String(i).padStart(2, '0')}.txt`] = `File number ${i} talks about topic${i} and nothing else.`;
    const source = new MemoryFileSource(files);
    const index = await open(embedder, { commitEveryChunks: 8 });
    const abort = new AbortController();
    let seen = 0;
    await assert.rejects(
      runUpdate(index.update(source, { signal: abort.signal }), (p) => {
        seen = p.chunksEmbedded;
        if (p.chunksEmbedded >= 12) abort.abort();
      }),
      { name: 'AbortError' },
    );
    assert.ok(seen >= 12 && seen < 40);
    await index.close();
    const reopened = await open(embedder);
    const kept = reopened.report.files;
    assert.ok(kept >= 8 && kept < 40, `${kept} files kept`);
    const summary = await update(reopened, source);
    assert.equal(summary.chunksEmbedded, 40 - kept);
    assert.equal(new Set(embedder.embedded).size, 40);
    assert.equal(reopened.stats().files, 40);
    await reopened.close();
  });

  it('changing the chunk size re-chunks every file but re-embeds only texts it has not seen', async () => {
    const embedder = new HashingEmbedder();
    const source = new MemoryFileSource(CORPUS);
    let index = await open(embedder);
    await update(index, source);
    await index.close();
    index = await SemanticIndex.open({ storeDir: store, embedder, chunker: { targetTokens: 200 }, batchSize: 4 });
    const summary = await update(index, source);
    assert.equal(summary.filesIndexed, 4);
    const expected = new Set<string>();
    for (const [relPath, text] of Object.entries(CORPUS)) {
      for (const c of chunkDocument({ uri: '', relPath, text }, { maxTokens: 128, targetTokens: 200 })) expected.add(c.hash);
    }
    const old = distinctChunks(CORPUS, embedder);
    assert.equal(summary.chunksEmbedded, [...expected].filter((h) => !old.has(h)).length);
    await index.close();
    index = await SemanticIndex.open({ storeDir: store, embedder, chunker: { targetTokens: 200 }, batchSize: 4 });
    assert.equal((await update(index, source)).filesIndexed, 0, 'the new chunking is recorded');
    await index.close();
  });

  it('compacts when most stored records are dead, and stays correct', async () => {
    const embedder = new HashingEmbedder();
    const source = new MemoryFileSource();
    const index = await open(embedder);
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 40; i++) source.set(`f${i}.txt`, `round ${round} file ${i} word${round}x${i}`);
      await update(index, source);
    }
    const stats = index.stats();
    assert.ok(stats.segments < 8, `compacted to ${stats.segments} segments`);
    const segmentFiles = fs.readdirSync(index.storePath).filter((f) => f.startsWith('seg-'));
    assert.equal(segmentFiles.length, stats.segments, 'old segments are deleted');
    const hit = await index.search('word7x13', { mode: 'lexical' });
    assert.equal(hit[0]!.text, 'round 7 file 13 word7x13');
    assert.deepEqual(await index.search('word6x13', { mode: 'lexical' }), []);
    await index.close();
    const reopened = await open(embedder);
    assert.equal(reopened.report.status, 'loaded');
    assert.equal((await reopened.search('word7x13', { mode: 'lexical' }))[0]!.text, 'round 7 file 13 word7x13');
    await reopened.close();
  });
});
