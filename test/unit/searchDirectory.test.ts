import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chunkDocument } from '../../src/core/search/chunker';
import { fitChunks } from '../../src/core/search/tokenFit';
import { defaultStoreDir, indexDirectory, searchDirectory, type SearchJson } from '../../src/core/search/directory';
import { modelInput, storedPassage } from '../../src/core/search/passageText';
import type { Chunk, IndexProgress } from '../../src/core/search/types';
import { WorkerEmbedder } from '../../src/core/search/workerEmbedder';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import { fixtureModel, repoRoot, workerScript } from '../harness/paths';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('search: indexDirectory / searchDirectory with the tiny BERT through the model worker', function () {
  this.timeout(60_000);
  const client = new ModelWorkerClient({ workerScript });
  let root: string;
  let dir: string;
  let store: string;
  let embedder: WorkerEmbedder;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-dir-'));
    dir = path.join(root, 'workspace');
    store = path.join(root, 'store');
    fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'demo-workspace'), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'blob.bin'), Buffer.from([1, 2, 0, 3]));
    embedder = await WorkerEmbedder.create(client, { ref: 'tiny-bert-wide', dir: fixtureModel('tiny-bert-wide'), dtype: 'fp32' });
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The passages the index makes of `rel`: the chunker's, split where the model's tokenizer finds them too long. */
  async function fittedChunks(rel: string): Promise<Chunk[]> {
    const text = fs.readFileSync(path.join(dir, rel), 'utf8');
    const chunks = chunkDocument({ uri: '', relPath: rel, text }, { maxTokens: 40 });
    return (await fitChunks(text, chunks, 40, (t) => embedder.inputTokenCounts(t))).chunks;
  }

  it('the worker embedder reports the model and keys its vector space', () => {
    assert.equal(embedder.dims, 48);
    assert.equal(embedder.maxTokens, 40);
    const sha256 = createHash('sha256').update(fs.readFileSync(path.join(fixtureModel('tiny-bert-wide'), 'onnx', 'model.onnx'))).digest('hex');
    assert.equal(embedder.modelKey, `tiny-bert-wide|fp32|48d|sha256:${sha256.slice(0, 32)}`);
  });

  it('a fine-tune of the same size is another vector space: the key follows the weights, not the file size (issue 14 item 14)', async () => {
    const tuned = path.join(root, 'tuned');
    fs.cpSync(fixtureModel('tiny-bert-wide'), tuned, { recursive: true });
    const onnx = path.join(tuned, 'onnx', 'model.onnx');
    const bytes = fs.readFileSync(onnx);
    const stat = fs.statSync(onnx);
    // Change one bit in the middle of the file (weights take most of it), keeping the size and the modification time.
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    fs.writeFileSync(onnx, bytes);
    fs.utimesSync(onnx, stat.atime, stat.mtime);
    const other = await WorkerEmbedder.create(client, { ref: 'tiny-bert-wide', dir: tuned, dtype: 'fp32' });
    assert.equal(fs.statSync(onnx).size, stat.size);
    assert.notEqual(other.modelKey, embedder.modelKey);
  });

  it('indexes the folder, embedding every distinct chunk once, and reports the binary file', async () => {
    const events: IndexProgress[] = [];
    const { summary, report, stats } = await indexDirectory(dir, embedder, { store, onProgress: (p) => events.push(p) });
    assert.equal(report.status, 'created');
    const distinct = new Set<string>();
    for (const rel of ['README.md', 'docs/licence-notes.md', 'src/upload.ts']) {
      for (const c of await fittedChunks(rel)) distinct.add(c.hash);
    }
    assert.equal(summary.filesIndexed, 3);
    assert.equal(summary.chunksEmbedded, distinct.size);
    assert.ok(distinct.size > 6, 'a 40-token model cuts these files into many chunks');
    assert.deepEqual(summary.skipped.map((s) => [s.relPath, s.reason]), [['blob.bin', 'binary']]);
    assert.equal(stats.files, 3);
    assert.equal(events.at(-1)!.phase, 'done');
  });

  it('prints the CLI JSON shape: paths relative to the folder, 1-based inclusive lines, the passage text', async () => {
    const events: IndexProgress[] = [];
    const out = await collect(searchDirectory(dir, embedder, ['warranty damages', '  ', 'retry failed uploads'], { store, mode: 'hybrid', k: 3, onProgress: (p) => events.push(p) }));
    assert.equal(events.at(-1)!.chunksEmbedded, 0, 'nothing changed: nothing embedded');
    assert.deepEqual(out.map((o) => o.query), ['warranty damages', 'retry failed uploads']);
    for (const o of out) {
      assert.deepEqual(Object.keys(o), ['query', 'results']);
      assert.equal(o.results.length, 3);
      for (const r of o.results) {
        assert.deepEqual(Object.keys(r), ['path', 'startLine', 'endLine', 'score', 'text', ...(r.context !== undefined ? ['context'] : [])]);
        const lines = fs.readFileSync(path.join(dir, r.path), 'utf8').split('\n');
        assert.ok(r.startLine >= 1 && r.endLine >= r.startLine && r.endLine <= lines.length);
        // Whole lines, or a window of one over-long line (the JSON has no columns).
        const span = lines.slice(r.startLine - 1, r.endLine).join('\n');
        assert.ok(r.text === span || (r.startLine === r.endLine && span.includes(r.text)), JSON.stringify(r));
      }
    }
    const top = out[0]!.results[0]!;
    assert.equal(top.path, 'docs/licence-notes.md');
    assert.match(top.text, /warranty/);
    assert.ok(top.startLine <= 4 && top.endLine >= 4, 'the warranty sentence is line 4');
  });

  it('vector scores are the cosine similarity of the model’s vectors of query and passage', async () => {
    const [res] = (await collect(searchDirectory(dir, embedder, ['who may copy the software'], { store, mode: 'vector', k: 4, update: false }))) as [SearchJson];
    assert.equal(res.results.length, 4);
    // What the model read for each result: the passage under its context line.
    const inputs = await Promise.all(
      res.results.map(async (r) => {
        const c = (await fittedChunks(r.path)).find((x) => x.startLine === r.startLine - 1 && x.text === r.text)!;
        return modelInput(storedPassage(c.context, c.text));
      }),
    );
    const vectors = await embedder.embed([res.query, ...inputs]);
    const dot = (i: number): number => {
      let s = 0;
      for (let d = 0; d < 48; d++) s += vectors[d]! * vectors[(i + 1) * 48 + d]!;
      return s;
    };
    res.results.forEach((r, i) => assert.ok(Math.abs(r.score - dot(i)) < 1e-4, `${r.score} vs ${dot(i)}`));
    assert.ok(res.results.every((r, i) => i === 0 || r.score <= res.results[i - 1]!.score));
  });

  it('default store folder: per directory, under the cache', () => {
    const a = defaultStoreDir('/cache', '/work/a');
    assert.match(a, /^\/cache\/indexes\/a-[0-9a-f]{8}$/);
    assert.notEqual(a, defaultStoreDir('/cache', '/other/a'));
  });
});
