import * as assert from 'node:assert/strict';
import { searchConventions } from '../../src/core/search/modelConventions';
import { WorkerEmbedder, workerModelKey } from '../../src/core/search/workerEmbedder';
import type { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { fixtureModel } from '../harness/paths';

/** A model worker that records the texts it is asked to embed and answers with zero vectors. */
function recordingClient(seen: string[][]): ModelWorkerClient {
  const request = async (message: { type: string; texts?: readonly string[] }): Promise<unknown> => {
    if (message.type === 'modelInfo') return { hiddenSize: 4, maxTokens: 32 };
    seen.push([...message.texts!]);
    return { vectors: new Float32Array(message.texts!.length * 4), dims: 4, count: message.texts!.length };
  };
  return { request } as unknown as ModelWorkerClient;
}

describe('search: per-model query and passage conventions', () => {
  it('knows E5, BGE (English) and nomic prefixes; other models get none', () => {
    assert.deepEqual([searchConventions('Xenova/e5-small-v2').queryPrefix, searchConventions('Xenova/e5-small-v2').passagePrefix], ['query: ', 'passage: ']);
    assert.equal(searchConventions('intfloat/multilingual-e5-small').name, 'e5');
    assert.equal(searchConventions('Xenova/bge-small-en-v1.5').queryPrefix, 'Represent this sentence for searching relevant passages: ');
    assert.equal(searchConventions('Xenova/bge-small-en-v1.5').passagePrefix, '');
    assert.deepEqual([searchConventions('nomic-ai/nomic-embed-text-v1.5').queryPrefix, searchConventions('nomic-ai/nomic-embed-text-v1.5').passagePrefix], ['search_query: ', 'search_document: ']);
    for (const ref of ['Xenova/all-MiniLM-L6-v2', 'Xenova/gte-small', 'bundled:use-lite', fixtureModel('tiny-bert-wide')]) {
      const c = searchConventions(ref);
      assert.deepEqual([c.queryPrefix, c.passagePrefix], ['', ''], ref);
    }
    assert.equal(searchConventions('/models/my-e5-base/').name, 'e5', 'a local folder named after its model');
  });

  it('the worker embedder prefixes queries and passages as the model expects, and keys the vector space by it', async () => {
    for (const [ref, query, passage] of [
      ['Xenova/e5-small-v2', 'query: where is retry', 'passage: retry()'],
      ['Xenova/bge-small-en-v1.5', 'Represent this sentence for searching relevant passages: where is retry', 'retry()'],
      [fixtureModel('tiny-bert-wide'), 'where is retry', 'retry()'],
    ] as const) {
      const seen: string[][] = [];
      const model: LocalModel = { ref, dir: ref.startsWith('/') ? ref : '', dtype: 'fp32' };
      const embedder = await WorkerEmbedder.create(recordingClient(seen), model);
      await embedder.embedQuery('where is retry');
      await embedder.embed(['retry()']);
      assert.deepEqual(seen, [[query], [passage]], ref);
    }
    const e5: LocalModel = { ref: 'Xenova/e5-small-v2', dir: '', dtype: 'fp32' };
    assert.match(workerModelKey(e5, { hiddenSize: 384 }), /\|e5$/);
    assert.doesNotMatch(workerModelKey({ ...e5, ref: 'Xenova/all-MiniLM-L6-v2' }, { hiddenSize: 384 }), /\|plain/, 'keys of models without prefixes are unchanged');
  });

  it('gives each model a similarity floor for weak matches', () => {
    assert.equal(searchConventions('bundled:use-lite').weakBelow, 0.35);
    assert.ok(searchConventions('Xenova/bge-small-en-v1.5').weakBelow > searchConventions('Xenova/all-MiniLM-L6-v2').weakBelow, 'BGE puts unrelated texts higher');
  });
});
