// The search-quality eval on a slice of each corpus (out/bench/searchQuality.js runs it in full): with the bundled
// encoder and the real index, hybrid must rank the right files at least as well as words alone and meaning alone.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runUpdate, SemanticIndex } from '../../src/core/search/semanticIndex';
import { WorkerEmbedder } from '../../src/core/search/workerEmbedder';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import { workerScript } from '../harness/paths';
import { CorpusFiles, EVAL_SETS, evaluateIndex, loadEvalSet, mean } from '../harness/searchEval';

/** Questions of the slice: the first of the tuned half; files: every file relevant to them. */
const QUESTIONS = 12;

describe('search quality on a slice of the eval corpora (bundled encoder)', function () {
  this.timeout(180_000);
  const client = new ModelWorkerClient({ workerScript });
  let store: string;

  before(() => {
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-quality-'));
  });
  after(async () => {
    await client.dispose();
    fs.rmSync(store, { recursive: true, force: true });
  });

  for (const name of EVAL_SETS) {
    it(`${name}: hybrid MRR@10 over files is at least lexical's and vector's`, async () => {
      const set = loadEvalSet(name);
      const queries = set.queries.filter((q) => !q.heldOut).slice(0, QUESTIONS);
      const files = new Set(queries.flatMap((q) => q.relevant.map((r) => r.path)));
      const embedder = await WorkerEmbedder.create(client, { ref: 'bundled:use-lite', dir: '', dtype: 'fp32' });
      const index = await SemanticIndex.open({ storeDir: path.join(store, name), embedder });
      try {
        await runUpdate(index.update(new CorpusFiles(set, files)));
        assert.equal(index.stats().files, files.size);
        const mrr = async (mode: 'lexical' | 'vector' | 'hybrid'): Promise<number> => mean(await evaluateIndex(index, queries, mode)).mrr;
        const [lexical, vector, hybrid] = [await mrr('lexical'), await mrr('vector'), await mrr('hybrid')];
        console.log(`      ${name}: ${files.size} files, ${queries.length} questions: MRR@10 lexical ${lexical.toFixed(3)}, vector ${vector.toFixed(3)}, hybrid ${hybrid.toFixed(3)}`);
        assert.ok(hybrid >= lexical, `hybrid ${hybrid.toFixed(3)} < lexical ${lexical.toFixed(3)}`);
        assert.ok(hybrid >= vector, `hybrid ${hybrid.toFixed(3)} < vector ${vector.toFixed(3)}`);
      } finally {
        await index.close();
      }
    });
  }
});
