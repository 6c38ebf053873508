import * as assert from 'node:assert/strict';
import { attentionTokenLimit, BertModel } from '../../src/worker/bertBackend';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dtype, LocalModel } from '../../src/protocol/worker';
import { HubDownloader } from '../../src/core/models/hubDownloader';
import { ModelResolver } from '../../src/core/models/modelResolver';
import { ModelWorkerClient, WorkerRequestError } from '../../src/core/worker/modelWorkerClient';
import { HubMirror } from '../harness/hubMirror';
import { fixtureModel, workerScript } from '../harness/paths';
import { loadReference, maxAbsDiff, rowSumError } from '../harness/reference';

const local = (name: string, dtype: Dtype = 'fp32'): LocalModel => ({ ref: name, dir: fixtureModel(name), dtype });

function expectCode(code: WorkerRequestError['code'], message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof WorkerRequestError, `expected WorkerRequestError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };
}

describe('model worker: BERT attention and embeddings against PyTorch', function () {
  this.timeout(60_000);
  const client = new ModelWorkerClient({ workerScript });
  after(() => client.dispose());

  for (const name of ['tiny-bert', 'tiny-bert-wide']) {
    const reference = loadReference(name);
    const { num_hidden_layers: layers, num_attention_heads: heads, max_position_embeddings: maxTokens } = reference.config;

    for (const item of reference.items.filter((i) => !i.truncated)) {
      it(`${name}: attention of ${JSON.stringify(item.text.slice(0, 30))} matches PyTorch within 1e-4 (fp32)`, async () => {
        const maps = await client.request({ type: 'attention', model: local(name), text: item.text });
        assert.deepEqual(maps.tokens.map((t) => t.text), item.tokens);
        assert.equal(maps.layers, layers);
        assert.equal(maps.heads, heads);
        assert.equal(maps.truncated, false);
        const expected = item.attentions!.flat(3);
        const diff = maxAbsDiff(maps.weights, expected);
        assert.ok(diff < 1e-4, `max abs difference ${diff}`);
        assert.ok(rowSumError(maps) < 1e-5);
        for (const t of maps.tokens) {
          if (t.special) assert.equal(t.start, t.end);
          else if (t.text !== '[UNK]') {
            const source = item.text.slice(t.start, t.end).toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
            assert.equal(source, t.text.replace(/^##/, ''), `token ${t.text} maps to "${item.text.slice(t.start, t.end)}"`);
          } else assert.ok(t.end > t.start, '[UNK] covers the word it replaced');
        }
      });
    }

    it(`${name}: a long input is cut to ${maxTokens} tokens keeping [CLS] … [SEP], and says so`, async () => {
      const item = reference.items.find((i) => i.truncated)!;
      const maps = await client.request({ type: 'attention', model: local(name), text: item.text });
      assert.equal(maps.truncated, true);
      assert.equal(maps.tokens.length, maxTokens);
      assert.equal(maps.maxTokens, maxTokens);
      assert.equal(maps.inputTokens, item.untruncated_length);
      assert.deepEqual(maps.tokens.map((t) => t.text), item.tokens);
      assert.equal(maps.tokens.at(-1)!.text, '[SEP]');
      assert.ok(rowSumError(maps) < 1e-5);
    });

    it(`${name}: mean-pooled embeddings match PyTorch within 1e-4, in input order`, async () => {
      const texts = reference.items.map((i) => i.text);
      const result = await client.request({ type: 'embed', model: local(name), texts: [...texts].reverse() });
      assert.equal(result.dims, reference.config.hidden_size);
      assert.equal(result.count, texts.length);
      reference.items.forEach((item, i) => {
        const row = texts.length - 1 - i;
        const got = result.vectors.subarray(row * result.dims, (row + 1) * result.dims);
        assert.ok(maxAbsDiff(got, item.embedding) < 1e-4, item.text);
      });
    });

    it(`${name}: the q8 file runs and stays close to fp32`, async () => {
      const item = reference.items[0]!;
      const maps = await client.request({ type: 'attention', model: local(name, 'q8'), text: item.text });
      assert.ok(rowSumError(maps) < 1e-4);
      const diff = maxAbsDiff(maps.weights, item.attentions!.flat(3));
      assert.ok(diff > 0 && diff < 0.1, `q8 differs from fp32 by ${diff}`);
    });
  }

  it('reports model facts', async () => {
    const info = await client.request({ type: 'modelInfo', model: local('tiny-bert-wide') });
    assert.deepEqual(
      { layers: info.layers, heads: info.heads, hidden: info.hiddenSize, max: info.maxTokens, arch: info.architecture },
      { layers: 3, heads: 6, hidden: 48, max: 40, arch: 'BertModel' },
    );
  });

  it('says a fused-attention model exposes no attention, and still embeds with it', async () => {
    await assert.rejects(client.request({ type: 'attention', model: local('fused-attention'), text: 'the cat' }), expectCode('attentionUnavailable', /does not expose attention/));
    const e = await client.request({ type: 'embed', model: local('fused-attention'), texts: ['the cat'] });
    assert.equal(e.dims, 32);
  });

  it('explains a missing or broken model folder', async () => {
    await assert.rejects(client.request({ type: 'modelInfo', model: { ref: 'nowhere', dir: '/nonexistent/model', dtype: 'fp32' } }), expectCode('modelNotFound', /config\.json is missing/));
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-broken-'));
    fs.cpSync(fixtureModel('tiny-bert'), broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'onnx', 'model.onnx'), 'this is not an onnx file');
    await assert.rejects(client.request({ type: 'modelInfo', model: { ref: 'broken', dir: broken, dtype: 'fp32' } }), expectCode('badModel', /not a valid ONNX model/));
    fs.rmSync(path.join(broken, 'onnx', 'model_quantized.onnx'));
    await assert.rejects(client.request({ type: 'modelInfo', model: { ref: 'broken', dir: broken, dtype: 'q8' } }), expectCode('modelNotFound', /no q8 ONNX file/));
    fs.rmSync(broken, { recursive: true });
  });

  it('remembers a model that failed to load until its files change, then loads it (issue 14 item 13)', async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-broken-'));
    try {
      fs.cpSync(fixtureModel('tiny-bert'), broken, { recursive: true });
      const onnx = path.join(broken, 'onnx', 'model.onnx');
      const good = fs.readFileSync(onnx);
      // Broken with the size of the good file, so the good bytes can come back unnoticed by size and time.
      fs.writeFileSync(onnx, Buffer.alloc(good.length, 0xff));
      const brokenTime = new Date(Date.UTC(2026, 0, 1));
      fs.utimesSync(onnx, brokenTime, brokenTime);
      const model = { ref: 'broken-then-fixed', dir: broken, dtype: 'fp32' } as const;
      await assert.rejects(client.request({ type: 'modelInfo', model }), expectCode('badModel'));
      // The good bytes, same size and time: the remembered failure answers (parsing again would load the model).
      fs.writeFileSync(onnx, good);
      fs.utimesSync(onnx, brokenTime, brokenTime);
      await assert.rejects(client.request({ type: 'modelInfo', model }), expectCode('badModel'));
      // A change the folder shows (a new modification time): the next request loads it.
      const later = new Date(brokenTime.getTime() + 5000);
      fs.utimesSync(onnx, later, later);
      const info = await client.request({ type: 'modelInfo', model });
      assert.equal(info.layers, 2);
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });

  it('refuses a config.json with impossible sizes before allocating anything (issue 14 item 12)', async () => {
    const hostile = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-config-'));
    try {
      fs.cpSync(fixtureModel('tiny-bert'), hostile, { recursive: true });
      const config = JSON.parse(fs.readFileSync(path.join(hostile, 'config.json'), 'utf8')) as Record<string, unknown>;
      for (const [key, value, shown] of [['num_attention_heads', 1e9, 'heads'], ['max_position_embeddings', 2 ** 40, 'maxPositions'], ['num_hidden_layers', 2.5, 'layers']] as const) {
        fs.writeFileSync(path.join(hostile, 'config.json'), JSON.stringify({ ...config, [key]: value }));
        await assert.rejects(
          client.request({ type: 'modelInfo', model: { ref: `hostile-${key}`, dir: hostile, dtype: 'fp32' } }),
          expectCode('badModel', new RegExp(`gives ${shown} = ${value}; a model BERT Lens can run has a whole number from`)),
        );
      }
    } finally {
      fs.rmSync(hostile, { recursive: true, force: true });
    }
  });

  it('embeds on a session without attention outputs; the attention session comes when asked and goes when released (issue 16 item 2)', async () => {
    const model = await BertModel.load(local('tiny-bert-wide'));
    try {
      const noop = async (): Promise<void> => undefined;
      const before = await model.embed(['the cat sat on the mat', 'a kitten rested'], noop);
      assert.equal(model.attentionSessionLoaded, false, 'embedding never creates the attention session');
      const maps = await model.attentionMaps('the cat sat on the mat');
      assert.equal(model.attentionSessionLoaded, true);
      assert.equal(maps.weights.length, 3 * 6 * maps.tokens.length ** 2);
      assert.equal(await model.releaseAttentionSession(), true);
      assert.equal(model.attentionSessionLoaded, false);
      // Same maps from a fresh attention session, same vectors from the embedding session.
      const again = await model.attentionMaps('the cat sat on the mat');
      assert.deepEqual([...again.weights], [...maps.weights]);
      const after = await model.embed(['the cat sat on the mat', 'a kitten rested'], noop);
      assert.deepEqual([...after.vectors], [...before.vectors]);
    } finally {
      await model.dispose();
    }
  });

  it('caps an attention window by memory, not only by the model limit (issue 14 item 12)', async () => {
    // 3 layers × 6 heads: 57,600 bytes hold the maps of 20 tokens (2 copies × 4 bytes × 18 × 20²).
    assert.equal(attentionTokenLimit(3, 6, 57_600), 20);
    assert.equal(attentionTokenLimit(12, 12, 512 * 2 ** 20), 682, 'a BERT-base keeps its 512 tokens');
    const capped = new ModelWorkerClient({ workerScript, env: { BERT_LENS_ATTENTION_BYTES_CAP: '57600' } });
    try {
      const text = Array.from({ length: 60 }, (_, i) => `word${i % 7}`).join(' ');
      const maps = await capped.request({ type: 'attention', model: local('tiny-bert-wide'), text });
      assert.equal(maps.tokens.length, 20);
      assert.equal(maps.maxTokens, 20);
      assert.equal(maps.truncated, true);
      assert.equal(maps.weights.length, 3 * 6 * 20 * 20);
      const full = await client.request({ type: 'attention', model: local('tiny-bert-wide'), text });
      assert.equal(full.tokens.length, 40, 'without the cap, the model limit');
    } finally {
      await capped.dispose();
    }
  });

  it('runs a model downloaded from a Hub mirror like the same local folder', async () => {
    const mirror = await HubMirror.start({ 'test/tiny-bert': fixtureModel('tiny-bert') });
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-lens-cache-'));
    try {
      const resolver = new ModelResolver(new HubDownloader({ cacheDir: cache, host: mirror.url, allowDownloads: true }));
      const model = await resolver.resolve('test/tiny-bert', 'fp32');
      assert.equal(model.ref, 'test/tiny-bert');
      const [a, b] = await Promise.all([
        client.request({ type: 'embed', model, texts: ['a downloaded model'] }),
        client.request({ type: 'embed', model: local('tiny-bert'), texts: ['a downloaded model'] }),
      ]);
      assert.ok(maxAbsDiff(a.vectors, b.vectors) < 1e-7);
    } finally {
      await mirror.stop();
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('model worker: lifecycle', function () {
  this.timeout(60_000);

  it('fails the request in flight when the worker crashes, and starts a new worker for the next one', async () => {
    const faulty = new ModelWorkerClient({ workerScript, env: { BERT_LENS_WORKER_FAULT: 'crash' } });
    try {
      const texts = Array.from({ length: 400 }, (_, i) => `sentence number ${i} about the cat`);
      await assert.rejects(faulty.request({ type: 'embed', model: local('tiny-bert'), texts }), expectCode('crashed', /stopped unexpectedly/));
      assert.equal(faulty.starts, 1);
      // The next request starts a new worker (which, with the fault still injected, crashes the same way).
      await assert.rejects(faulty.request({ type: 'embed', model: local('tiny-bert'), texts }), expectCode('crashed'));
      assert.equal(faulty.starts, 2);
    } finally {
      await faulty.dispose();
    }
  });

  it('stops a busy worker without tearing down the process, and starts a fresh one next time', async () => {
    const client = new ModelWorkerClient({ workerScript });
    try {
      await client.request({ type: 'modelInfo', model: local('tiny-bert') });
      const firstThread = client.threadId;
      const texts = Array.from({ length: 4000 }, (_, i) => `sentence number ${i} about the cat`);
      const inFlight = client.request({ type: 'embed', model: local('tiny-bert'), texts });
      await new Promise((r) => setTimeout(r, 100));
      // Terminating a thread inside an onnxruntime run would abort this whole test process; restart() must not.
      await client.restart();
      await assert.rejects(inFlight, expectCode('cancelled'));
      const maps = await client.request({ type: 'attention', model: local('tiny-bert'), text: 'the cat' });
      assert.equal(maps.tokens.length, 4);
      assert.equal(client.starts, 2);
      assert.notEqual(client.threadId, firstThread);
    } finally {
      await client.dispose();
    }
  });

  it('cancels a long embedding request within a batch, and keeps serving', async () => {
    const client = new ModelWorkerClient({ workerScript });
    try {
      await client.request({ type: 'modelInfo', model: local('tiny-bert') });
      const controller = new AbortController();
      const texts = Array.from({ length: 20_000 }, (_, i) => `sentence number ${i} about the cat`);
      let cancelledAt = 0;
      // Cancel as soon as the work is visibly under way (the first progress report), whatever the machine's load.
      const pending = client.request(
        { type: 'embed', model: local('tiny-bert'), texts },
        {
          signal: controller.signal,
          onProgress: () => {
            if (cancelledAt === 0) {
              cancelledAt = Date.now();
              controller.abort();
            }
          },
        },
      );
      await assert.rejects(pending, expectCode('cancelled'));
      assert.ok(cancelledAt > 0, 'progress was reported');
      assert.ok(Date.now() - cancelledAt < 1000, `answered ${Date.now() - cancelledAt} ms after the cancel`);
      const e = await client.request({ type: 'embed', model: local('tiny-bert'), texts: ['still here'] });
      assert.equal(e.count, 1);
    } finally {
      await client.dispose();
    }
  });
});
