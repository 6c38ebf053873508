// Kill and corruption tests of the on-disk index. This file is also the child process that gets killed: run with
// BERT_LENS_KILL_CHILD='{"store":…,"corpus":…}' it indexes the corpus and prints "started" first.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chunkDocument } from '../../src/core/search/chunker';
import { NodeFileSource } from '../../src/core/search/nodeFileSource';
import { SCHEMA_VERSION } from '../../src/core/search/segmentStore';
import { runUpdate, SemanticIndex, type OpenIndexOptions } from '../../src/core/search/semanticIndex';
import { HashingEmbedder, seededRandom } from '../harness/searchFakes';

const CHILD_ENV = 'BERT_LENS_KILL_CHILD';
const FILES = 60;
const options = (store: string, embedder = new HashingEmbedder({ delayMs: 2 })): OpenIndexOptions => ({
  storeDir: store,
  embedder,
  chunker: { targetTokens: 16, minTokens: 0 },
  batchSize: 4,
  commitEveryChunks: 4,
});

function makeCorpus(dir: string): void {
  const rand = seededRandom(42);
  const vocabulary = 'index vector search upload retry licence paragraph segment manifest crash kill rename delete cache'.split(' ');
  for (let f = 0; f < FILES; f++) {
    const paragraphs = Array.from({ length: 3 }, (_, p) => {
      const words = Array.from({ length: 10 }, () => vocabulary[Math.floor(rand() * vocabulary.length)]);
      return `File ${f} paragraph ${p}: ${words.join(' ')} unique${f}x${p}.`;
    });
    fs.mkdirSync(path.join(dir, `d${f % 5}`), { recursive: true });
    fs.writeFileSync(path.join(dir, `d${f % 5}`, `f${f}.txt`), paragraphs.join('\n\n'));
  }
}

async function child(): Promise<void> {
  const { store, corpus } = JSON.parse(process.env[CHILD_ENV]!) as { store: string; corpus: string };
  const index = await SemanticIndex.open(options(store));
  process.stdout.write('started\n');
  await runUpdate(index.update(new NodeFileSource(corpus)), (p) => process.stdout.write(`files ${p.filesDone}\n`));
  await index.close();
  process.stdout.write('finished\n');
}

/**
 * Runs the child; kills it with SIGKILL `kill.ms` after it reports `kill.files` files done (never, when undefined).
 * The kill point follows the child's progress, not the clock, so it lands mid-way however loaded the machine is.
 */
function runChild(store: string, corpus: string, kill: { files: number; ms: number } | undefined): Promise<{ finished: boolean }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename], { env: { ...process.env, [CHILD_ENV]: JSON.stringify({ store, corpus }) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = kill !== undefined;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const done = Math.max(0, ...[...out.matchAll(/^files (\d+)$/gm)].map((m) => Number(m[1])));
      if (armed && out.includes('started') && done >= kill!.files) {
        armed = false;
        setTimeout(() => p.kill('SIGKILL'), kill!.ms);
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child failed (${code}): ${err}`));
      else resolve({ finished: out.includes('finished') });
    });
  });
}

/** Every stored document must be exactly what the chunker makes of the file on disk. */
async function assertConsistent(index: SemanticIndex, corpus: string): Promise<number> {
  const docs = index.documents();
  for (const d of docs) {
    const text = fs.readFileSync(path.join(corpus, d.relPath), 'utf8');
    const expected = chunkDocument({ uri: d.uri, relPath: d.relPath, text }, { maxTokens: 128, targetTokens: 16, minTokens: 0 });
    assert.deepEqual(
      d.chunks,
      expected.map(({ startLine, startCharacter, endLine, endCharacter }) => ({ startLine, startCharacter, endLine, endCharacter })),
      d.relPath,
    );
  }
  for (const q of ['unique7x1', 'retry upload', 'manifest crash']) {
    for (const r of await index.search(q, { k: 5 })) {
      const lines = fs.readFileSync(path.join(corpus, r.relPath), 'utf8').split('\n');
      assert.equal(r.text, lines.slice(r.startLine, r.endLine + 1).join('\n'), `${r.relPath}:${r.startLine}`);
    }
  }
  return docs.length;
}

function corrupt(file: string, how: 'truncate' | 'flip'): void {
  const data = fs.readFileSync(file);
  if (how === 'truncate') fs.writeFileSync(file, data.subarray(0, data.length - 10));
  else {
    data[Math.floor(data.length / 2)]! ^= 0xff;
    fs.writeFileSync(file, data);
  }
}

if (process.env[CHILD_ENV]) {
  child().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
} else {
  describe('search: crash safety of the index', function () {
    this.timeout(120_000);
    let root: string;
    let corpus: string;
    let store: string;
    before(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-crash-'));
      corpus = path.join(root, 'corpus');
      makeCorpus(corpus);
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));
    beforeEach(() => {
      store = fs.mkdtempSync(path.join(root, 'store-'));
    });

    it('SIGKILL at random moments while indexing: every restart finds a usable index, and indexing resumes', async () => {
      const rand = seededRandom(Number(process.env.BERT_LENS_KILL_SEED ?? 1234));
      const partial: number[] = [];
      for (let attempt = 0; attempt < 8; attempt++) {
        const { finished } = await runChild(store, corpus, { files: Math.floor(rand() * FILES), ms: Math.floor(rand() * 20) });
        const index = await SemanticIndex.open(options(store));
        try {
          assert.notEqual(index.report.status, 'rebuilt', `attempt ${attempt}: ${index.report.reason}`);
          const files = await assertConsistent(index, corpus);
          if (!finished) partial.push(files);
          assert.equal(fs.readdirSync(index.storePath).filter((f) => f.endsWith('.tmp')).length, 0, 'temporary files are cleaned up');
        } finally {
          await index.close();
        }
      }
      assert.ok(partial.some((n) => n > 0 && n < FILES), `some kills land mid-way (files indexed at each kill: ${partial.join(', ')})`);
      const done = await runChild(store, corpus, undefined);
      assert.equal(done.finished, true);
      const index = await SemanticIndex.open(options(store));
      assert.equal(index.report.status, 'loaded');
      assert.equal(await assertConsistent(index, corpus), FILES);
      assert.equal((await index.search('unique42x2', { mode: 'lexical', k: 1 }))[0]!.relPath, 'd2/f42.txt');
      await index.close();
    });

    async function indexed(embedder = new HashingEmbedder()): Promise<{ path: string; total: number }> {
      const index = await SemanticIndex.open(options(store, embedder));
      const summary = await runUpdate(index.update(new NodeFileSource(corpus)));
      await index.close();
      return { path: index.storePath, total: summary.chunksEmbedded };
    }

    async function reopenAndRepair(expectReason: RegExp, embedder = new HashingEmbedder()): Promise<{ salvaged: number; embedded: number }> {
      const index = await SemanticIndex.open(options(store, embedder));
      try {
        assert.equal(index.report.status, 'rebuilt');
        assert.match(index.report.reason ?? '', expectReason);
        assert.equal(index.report.files, 0, 'nothing of a damaged index is trusted');
        const summary = await runUpdate(index.update(new NodeFileSource(corpus)));
        assert.equal(await assertConsistent(index, corpus), FILES);
        return { salvaged: index.report.salvagedVectors, embedded: summary.chunksEmbedded };
      } finally {
        await index.close();
      }
    }

    const segments = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /^seg-\d+\.bin$/.test(f)).sort();

    it('a truncated segment is detected; the index is rebuilt, re-using vectors of the segments that verify', async () => {
      const { path: dir, total } = await indexed();
      const segs = segments(dir);
      assert.ok(segs.length > 2);
      corrupt(path.join(dir, segs.at(-1)!), 'truncate');
      const { salvaged, embedded } = await reopenAndRepair(/truncated|bytes/);
      assert.ok(salvaged > 0 && embedded > 0 && embedded < total, `salvaged ${salvaged}, re-embedded ${embedded} of ${total}`);
      assert.equal(salvaged + embedded, total);
    });

    it('a flipped byte fails the checksum and is rebuilt', async () => {
      const { path: dir } = await indexed();
      corrupt(path.join(dir, segments(dir)[0]!), 'flip');
      await reopenAndRepair(/checksum|bad header|record/);
    });

    it('a damaged or tampered manifest is rebuilt; vectors of intact segments are all re-used', async () => {
      const { path: dir } = await indexed();
      const manifest = path.join(dir, 'manifest.json');
      const good = fs.readFileSync(manifest, 'utf8');
      fs.writeFileSync(manifest, good.slice(0, good.length / 2));
      assert.equal((await reopenAndRepair(/not valid JSON/)).embedded, 0);

      const body = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(manifest, JSON.stringify({ ...body, generation: 1 }));
      assert.equal((await reopenAndRepair(/checksum/)).embedded, 0);

      const rest = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, unknown>;
      delete rest.checksum;
      const future = { ...rest, schema: 99 };
      fs.writeFileSync(manifest, JSON.stringify({ ...future, checksum: createHash('sha256').update(JSON.stringify(future)).digest('hex') }));
      await reopenAndRepair(/schema 99/);
    });

    it('an index of the previous format (schema 1: passages without context) is rebuilt, never misread', async () => {
      const { path: dir, total } = await indexed();
      assert.equal(SCHEMA_VERSION, 2);
      // What the previous release left on disk: schema 1 in the manifest (with a valid checksum) and in every segment.
      const manifest = path.join(dir, 'manifest.json');
      const { checksum: _, ...body } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, unknown>;
      const old = { ...body, schema: 1, chunkerKey: String(body.chunkerKey).replace(/^v\d+/, 'v1') };
      fs.writeFileSync(manifest, JSON.stringify({ ...old, checksum: createHash('sha256').update(JSON.stringify(old)).digest('hex') }));
      for (const seg of segments(dir)) {
        const data = fs.readFileSync(path.join(dir, seg));
        data.writeUInt32LE(1, 8);
        fs.writeFileSync(path.join(dir, seg), data);
      }
      const { salvaged, embedded } = await reopenAndRepair(/schema 1, this version reads 2/);
      assert.equal(salvaged, 0, 'no vector of the old format is reused');
      assert.equal(embedded, total, 'every passage is embedded again');
    });

    it('vectors of the wrong width are never used: the index is rebuilt from scratch', async () => {
      await indexed(new HashingEmbedder({ dims: 64, modelKey: 'same-key' }));
      const { salvaged, embedded } = await reopenAndRepair(/64-d/, new HashingEmbedder({ dims: 32, modelKey: 'same-key' }));
      assert.equal(salvaged, 0);
      assert.ok(embedded >= FILES * 3);
    });

    it('leftovers of an interrupted commit (temporary and unlisted segment files) are cleaned up', async () => {
      const { path: dir } = await indexed();
      fs.writeFileSync(path.join(dir, 'seg-99999999.bin.tmp'), 'partial');
      fs.copyFileSync(path.join(dir, segments(dir)[0]!), path.join(dir, 'seg-99999998.bin'));
      const index = await SemanticIndex.open(options(store));
      assert.equal(index.report.status, 'loaded');
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.includes('9999999')),
        [],
      );
      await index.close();
    });
  });
}
