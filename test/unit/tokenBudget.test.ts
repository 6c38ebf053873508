import * as assert from 'node:assert/strict';
import { WorkerEmbedder } from '../../src/core/search/workerEmbedder';
import { ModelWorkerClient } from '../../src/core/worker/modelWorkerClient';
import type { LocalModel } from '../../src/protocol/worker';
import { BertModel } from '../../src/worker/bertBackend';
import type { EncoderModel } from '../../src/worker/encoderModel';
import { CodedError } from '../../src/worker/errors';
import { budgetBatches, DEFAULT_TOKEN_BUDGET, embedInBudget, paddedTokens, type TokenBudget } from '../../src/worker/tokenBudget';
import { UseEncoder } from '../../src/worker/use/useEncoder';
import { fixtureModel, workerScript } from '../harness/paths';
import { minRowCosine } from '../harness/reference';
import { seededRandom } from '../harness/searchFakes';

const WORDS = 'the a cat dog sat on mat of house tree river walked quickly because morning letter friend wrote Café naïve résumé'.split(' ');

/** Texts of very different lengths (1 to `maxWords` words), in no particular order. */
function mixedTexts(count: number, maxWords: number, seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const words = 1 + Math.floor(random() ** 2 * maxWords);
    return [`text${i}`, ...Array.from({ length: words }, () => WORDS[Math.floor(random() * WORDS.length)]!)].join(' ');
  });
}

const noCheckpoint = async (): Promise<void> => undefined;

/** Each text embedded alone, in a request of its own: no batching, no padding. */
async function oneAtATime(model: EncoderModel, texts: readonly string[]): Promise<Float32Array> {
  const dims = model.info.hiddenSize;
  const vectors = new Float32Array(texts.length * dims);
  for (const [i, text] of texts.entries()) vectors.set((await model.embed([text], noCheckpoint)).vectors, i * dims);
  return vectors;
}

describe('token-budget batching', function () {
  this.timeout(60_000);

  it('puts every index in exactly one run, sorted by length, within the budget and the row cap', () => {
    const random = seededRandom(7);
    const lengths = Array.from({ length: 500 }, () => 1 + Math.floor(random() * 512));
    const options = { budget: 2048, maxRows: 8 };
    const batches = budgetBatches(lengths, options);
    assert.deepEqual(batches.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
    let previous = 0;
    for (const batch of batches) {
      const widths = batch.map((i) => lengths[i]!);
      assert.ok(batch.length <= options.maxRows);
      assert.ok(batch.length === 1 || batch.length * Math.max(...widths) <= options.budget, `${batch.length} × ${Math.max(...widths)}`);
      assert.ok(widths[0]! >= previous, 'sorted by length');
      previous = widths.at(-1)!;
    }
    // A text longer than the budget still runs, alone.
    assert.deepEqual(budgetBatches([3000, 10, 2500], options), [[1], [2], [0]]);
    assert.deepEqual(budgetBatches([], options), []);
  });

  it("pads the indexer's calls of 32 mixed texts by under 5%, where batches of 16 pad by tens of percent", () => {
    const random = seededRandom(11);
    const lengths = Array.from({ length: 1024 }, () => 20 + Math.floor(random() * 490));
    const real = lengths.reduce((n, l) => n + l, 0);
    const perCall = (options: TokenBudget): number => {
      let padded = 0;
      for (let i = 0; i < lengths.length; i += 32) padded += paddedTokens(lengths.slice(i, i + 32), options);
      return padded / real - 1;
    };
    const budgeted = perCall(DEFAULT_TOKEN_BUDGET);
    const counted = perCall({ budget: Infinity, maxRows: 16, window: Infinity });
    assert.ok(budgeted < 0.05, `budgeted padding ${(budgeted * 100).toFixed(1)}%`);
    assert.ok(counted > 0.1, `count-based padding ${(counted * 100).toFixed(1)}%`);
  });

  it('stops within one run when the checkpoint throws, and tokenises ahead only one window', async () => {
    const texts = mixedTexts(200, 30, 3);
    let runs = 0;
    let encoded = 0;
    let cancelled = false;
    const options: TokenBudget = { budget: 64, maxRows: 4, window: 50 };
    const pending = embedInBudget(
      texts,
      2,
      (text) => {
        encoded++;
        return text.split(' ').map(() => 1);
      },
      async (rows) => {
        runs++;
        if (runs === 3) cancelled = true;
        return new Float32Array(rows.length * 2).fill(1);
      },
      async () => {
        if (cancelled) throw new CodedError('cancelled', 'Cancelled');
      },
      options,
    );
    await assert.rejects(pending, (e: unknown) => e instanceof CodedError && e.code === 'cancelled');
    assert.equal(runs, 3, 'no run starts after the cancel');
    assert.ok(encoded <= 2 * options.window, `${encoded} texts tokenised`);
  });

  describe('against one text at a time (order kept, nothing dropped or truncated)', () => {
    const saved = process.env.BERT_LENS_EMBED_BATCHES;
    // Small runs and windows, so a few dozen texts cross many batches and windows.
    before(() => (process.env.BERT_LENS_EMBED_BATCHES = '160:13:6'));
    after(() => (saved === undefined ? delete process.env.BERT_LENS_EMBED_BATCHES : (process.env.BERT_LENS_EMBED_BATCHES = saved)));

    for (const [name, dtype] of [
      ['tiny-bert', 'fp32'],
      ['tiny-bert-wide', 'fp32'],
      ['tiny-bert', 'q8'],
    ] as const) {
      it(`${name} ${dtype}`, async () => {
        const model = await BertModel.load({ ref: name, dir: fixtureModel(name), dtype });
        try {
          // Up to the model's limit (64 or 40 tokens), specials included.
          const texts = mixedTexts(60, model.info.maxTokens - 3, 5);
          const batched = await model.embed(texts, noCheckpoint);
          assert.equal(batched.count, texts.length);
          const single = await oneAtATime(model, texts);
          // q8 quantises activations per run (the scale depends on the whole batch): close, not identical.
          const floor = dtype === 'q8' ? 0.99 : 0.9999;
          const cosine = minRowCosine(batched.vectors, single, model.info.hiddenSize);
          assert.ok(cosine >= floor, `min cosine ${cosine}`);
        } finally {
          await model.dispose();
        }
      });
    }

    it('bundled:use-lite', async () => {
      const model = await UseEncoder.load(undefined, { batching: { budget: 300, maxRows: 5, window: 17 } });
      try {
        const texts = mixedTexts(60, 140, 9);
        const batched = await model.embed(texts, noCheckpoint);
        assert.equal(batched.count, texts.length);
        const cosine = minRowCosine(batched.vectors, await oneAtATime(model, texts), model.info.hiddenSize);
        assert.ok(cosine >= 0.9999, `min cosine ${cosine}`);
      } finally {
        await model.dispose();
      }
    });
  });

  it('through the worker as the indexer calls it: same vectors as one request per text, in order', async () => {
    const client = new ModelWorkerClient({ workerScript });
    try {
      const model: LocalModel = { ref: 'tiny-bert', dir: fixtureModel('tiny-bert'), dtype: 'fp32' };
      const embedder = await WorkerEmbedder.create(client, model);
      const texts = mixedTexts(300, 60, 13);
      const batched = await embedder.embed(texts);
      const single = new Float32Array(batched.length);
      for (const [i, text] of texts.entries()) single.set(await embedder.embed([text]), i * embedder.dims);
      const cosine = minRowCosine(batched, single, embedder.dims);
      assert.ok(cosine >= 0.9999, `min cosine ${cosine}`);
    } finally {
      await client.dispose();
    }
  });
});
